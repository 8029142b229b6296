#!/bin/sh
# build.sh [kube-apiserver|etcd|kubectl|helm|kubelet|kube-controller-manager|
#           kube-scheduler|kube-proxy|coredns]...  (default: kube-apiserver etcd)
# Builds these from their upstream Go modules, at the versions pinned in
# kubernetes/go.mod, etcd/go.mod (see update-modules.sh), helm/go.mod
# (helm.sh/helm/v3 as a `tool`; change it with `go get -tool
# helm.sh/helm/v3/cmd/helm@VERSION` in helm/) and coredns/go.mod (change it
# with `go get github.com/coredns/coredns@VERSION && go mod tidy` in
# coredns/), into a cache outside the repository, once per version, and
# prints their paths.
#   REVOCA_CACHE  cache root (default ~/.cache/revoca); binaries go to its bin/
# Needs only Go and the Go module proxy; a cold build takes 15-20 minutes on
# 2 cores (kube-apiserver is most of it), a cached one no time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${REVOCA_CACHE:-$HOME/.cache/revoca}/bin
mkdir -p "$bin"
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
[ $# -gt 0 ] || set -- kube-apiserver etcd

required() { awk -v m="$1" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$2"; }
k8s=$(required k8s.io/kubernetes "$here/kubernetes/go.mod")
etcd=$(required go.etcd.io/etcd/server/v3 "$here/etcd/go.mod")
helm=$(required helm.sh/helm/v3 "$here/helm/go.mod")
coredns=$(required github.com/coredns/coredns "$here/coredns/go.mod")

# What upstream's hack/lib/version.sh stamps in, so /version and kubectl's
# skew check see v1.34.x rather than v0.0.0-master.
k8s_ldflags() {
  commit=$(cd "$here/kubernetes" && go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"Hash": "\(.*\)".*/\1/p')
  date=$(cd "$here/kubernetes" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
  minor=${k8s#v1.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf ' -X %s' "$pkg.gitVersion=$k8s" "$pkg.gitMajor=1" "$pkg.gitMinor=$minor" \
      "$pkg.gitCommit=$commit" "$pkg.gitTreeState=clean" "$pkg.buildDate=$date"
  done
}

# What helm's Makefile stamps in: its version (else `helm version` says
# v3.22 with no patch level) and the Kubernetes version its lint and
# template assume (client-go v0.N -> 1.N, as the Makefile computes it). No
# git commit: the proxy's helm.sh/helm/v3 .info has no Origin to take it from.
helm_ldflags() {
  minor=$(cd "$here/helm" && go list -m -f '{{.Version}}' k8s.io/client-go); minor=${minor#v0.}; minor=${minor%%.*}
  printf ' -X helm.sh/helm/v3/internal/version.%s' "version=$helm" "gitTreeState=clean"
  for pkg in lint/rules chartutil; do
    printf ' -X helm.sh/helm/v3/pkg/%s' "$pkg.k8sVersionMajor=1" "$pkg.k8sVersionMinor=$minor"
  done
}

# build MODULE_DIR PACKAGE OUTPUT [LDFLAGS]: builds to a temporary name first
# so an interrupted build never leaves a half-written binary under the cached
# name; -buildvcs=false keeps revoca's own git state out of the binary.
build() {
  echo "building $3 ..." >&2
  (cd "$1" && go build -trimpath -buildvcs=false -ldflags "-s -w ${4:-}" -o "$3.tmp.$$" "$2")
  mv "$3.tmp.$$" "$3"
}

for name; do
  case $name in
    kube-apiserver|kubectl|kubelet|kube-controller-manager|kube-scheduler|kube-proxy) out=$bin/$name-$k8s ;;
    etcd) out=$bin/etcd-$etcd ;;
    helm) out=$bin/helm-$helm ;;
    coredns) out=$bin/coredns-$coredns ;;
    *) echo "unknown binary: $name" >&2; exit 2 ;;
  esac
  if [ ! -x "$out" ]; then
    case $name in
      etcd) build "$here/etcd" . "$out" ;;
      # CGO off, as helm's Makefile builds it (a static binary).
      helm) (CGO_ENABLED=0; export CGO_ENABLED; build "$here/helm" helm.sh/helm/v3/cmd/helm "$out" "$(helm_ldflags)") ;;
      # Static, as upstream's Makefile builds it (CGO_ENABLED=0), to run FROM
      # scratch (../node/build-coredns-image.sh). No -X coremain.GitCommit:
      # the proxy's .info for github.com/coredns/coredns has no Origin either.
      coredns) (CGO_ENABLED=0; export CGO_ENABLED; build "$here/coredns" . "$out") ;;
      *) build "$here/kubernetes" "./$name" "$out" "$(k8s_ldflags)" ;;
    esac
  fi
  echo "$out"
done
