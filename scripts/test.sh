#!/usr/bin/env bash
# Runs every test: unit tests (plain and under ASan+UBSan), integration
# tests on a real kube-apiserver + etcd, and the end-to-end suites against
# real peers. Installs and builds what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

if [ "${REVOCA_SKIP_ASAN:-0}" != 1 ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DREVOCA_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -j "$jobs")
  # The standalone end-to-end suite on the sanitizer build as well: a
  # finding aborts the process, and a leak (reported at exit) fails the test
  # through e2e/conftest.py's log check. The crash loop kills 20 times here
  # (100 in the plain run below).
  REVOCA_BUILD="$PWD/build-asan" REVOCA_CRASH_LOOPS=20 ASAN_OPTIONS=detect_leaks=1 \
    LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    python3 -m pytest -p no:cacheprovider -q e2e/standalone
fi

# Every libFuzzer target for a bounded time (30 s each; scripts/fuzz.sh --long for more).
[ "${REVOCA_SKIP_FUZZ:-0}" = 1 ] || ./scripts/fuzz.sh

# The real control plane (kube-apiserver + etcd built from their Go modules,
# cached in ~/.cache/revoca: a cold build takes ~17 minutes, a warm one none).
e2e/cluster/build.sh >/dev/null
# kubectl of the same version (the machine's may be outside the +/-1 skew).
KUBECTL=$(e2e/cluster/build.sh kubectl)
export KUBECTL
# helm, from its Go module too, for the chart's tests (e2e/kubernetes/test_helm.py).
HELM=$(e2e/cluster/build.sh helm)
export HELM
# The node of e2e/node (kubelet, controller-manager, scheduler, kube-proxy from the
# same Kubernetes module, so a cold build adds only their own packages; CoreDNS).
e2e/cluster/build.sh kubelet kube-controller-manager kube-scheduler kube-proxy coredns >/dev/null
# The API client, informers and Kubernetes backend against it.
tests/kubeclient/run_integration.sh build/bin/kubeclient_tests --gtest_filter='*Integration*'
tests/kubeclient/run_integration.sh build/bin/kubernetes_tests

REVOCA_BUILD="$PWD/build" python3 -m pytest -p no:cacheprovider -q e2e "$@"
