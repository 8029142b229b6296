#!/usr/bin/env bash
# Installs what revoca needs to build and test on Debian 12, from Debian's
# packages (and pytest, hypothesis, pkilint, cryptography and PyYAML from PyPI
# when the machine lacks them). Idempotent.
set -euo pipefail
# The last line is the real node of e2e/node: containerd and its CRI plugin, the
# bridge CNI plugin, conntrack for kube-proxy, nft and iptables for stop.sh's cleanup.
packages=(
  build-essential cmake ninja-build pkg-config
  libssl-dev openssl libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libboost-dev libcpprest-dev libgtest-dev libgmock-dev
  nginx mosquitto mosquitto-clients
  strace clang libclang-rt-14-dev
  erlang-base erlang-crypto erlang-public-key erlang-ssl erlang-inets erlang-dev
  debootstrap buildah podman runc
  containerd containernetworking-plugins conntrack nftables iproute2 iptables
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install --quiet pytest
# Property-based cases of the hostile-input suite (e2e/standalone/test_hostile_input.py).
python3 -c "import hypothesis" >/dev/null 2>&1 || python3 -m pip install --quiet hypothesis
# The PKIX linter of e2e/standalone/test_linters.py, at the version its findings were judged
# with; it brings cryptography, with which the test asks for OCSP answers. zlint, the other
# linter, is built from its Go module by e2e/linters/build-zlint.sh.
python3 -c "import importlib.metadata as m; assert m.version('pkilint') == '0.13.3'" >/dev/null 2>&1 ||
  python3 -m pip install --quiet pkilint==0.13.3
# One of the OCSP verifiers of e2e/brokers/test_ocsp_verifiers.py (Go's is built by
# e2e/tools/ocspcheck/build.sh, from its pinned module, when the suite runs).
python3 -c "import cryptography.x509.ocsp" >/dev/null 2>&1 || python3 -m pip install --quiet cryptography
# scripts/gen-api-reference.py, which e2e/docs/test_docs.py runs to keep docs/api-reference.md current.
python3 -c "import yaml" >/dev/null 2>&1 || python3 -m pip install --quiet pyyaml
