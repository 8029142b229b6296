#!/bin/sh
# Regenerates kubernetes/go.mod+go.sum and etcd/go.mod+go.sum for the given
# upstream versions. Run it by hand when moving to new versions; build.sh only
# reads the results (the versions it builds are the ones required there).
#
# Two modules, not one: kube-apiserver (and kubectl) and etcd pin different
# grpc/otel/... versions, and one module graph would build at least one of
# them against dependencies its upstream never tested.
set -eu
K8S_VERSION=${1:-v1.34.12}
ETCD_VERSION=${2:-v3.6.16}
cd "$(dirname "$0")"

# Path of a module's go.mod in the module cache.
gomod() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'; }
# Its go directive: in a main module it also sets the GODEBUG defaults, so we
# keep upstream's rather than the local toolchain's.
goversion() { awk '$1 == "go" { print $2 }' "$1"; }

upstream=$(gomod "k8s.io/kubernetes@$K8S_VERSION")
staging_version=v0.${K8S_VERSION#v1.}

(
  cd kubernetes
  rm -f go.mod go.sum
  go mod init revoca.io/e2e/cluster/kubernetes
  go mod edit -go="$(goversion "$upstream")"
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  # k8s.io/kubernetes requires its staging repos (k8s.io/api, ...) at v0.0.0 and
  # replaces them with ./staging/src/...; those replaces do not apply to a module
  # that depends on it, so we repeat them, pointing at the published v0.X.Y.
  for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print ($1 == "replace" ? $2 : $1) }' "$upstream"); do
    go mod edit -replace="$m=$m@$staging_version"
  done
  # Upstream's godebug settings only apply to its own main module; copy them
  # so the binary behaves as upstream's build does.
  for kv in $(awk '/^godebug \(/ { b = 1; next } b && /^\)/ { b = 0 } b { print $1 } /^godebug [^(]/ { print $2 }' "$upstream"); do
    go mod edit -godebug="$kv"
  done
  go mod tidy
)

(
  cd etcd
  rm -f go.mod go.sum
  go mod init revoca.io/e2e/cluster/etcd
  go mod edit -go="$(goversion "$(gomod "go.etcd.io/etcd/server/v3@$ETCD_VERSION")")"
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go mod tidy
)
