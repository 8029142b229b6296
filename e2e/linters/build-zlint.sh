#!/bin/sh
# build-zlint.sh: builds zlint from its Go module, at the version pinned in
# zlint/go.mod (change it with `go get -tool
# github.com/zmap/zlint/v3/cmd/zlint@VERSION` in zlint/), into a cache
# outside the repository, once per version, and prints its path.
#   REVOCA_CACHE  cache root (default ~/.cache/revoca); the binary goes to its bin/
# Needs only Go and the Go module proxy; a cold build takes 1-3 minutes on 2
# cores, a cached one no time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${REVOCA_CACHE:-$HOME/.cache/revoca}/bin
mkdir -p "$bin"
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin

version=$(awk '$1 == "github.com/zmap/zlint/v3" { print $2 }' "$here/zlint/go.mod")
out=$bin/zlint-$version
if [ ! -x "$out" ]; then
  echo "building $out ..." >&2
  # A temporary name first, so an interrupted build never leaves a
  # half-written binary under the cached name; the version stamped in as
  # zlint's Makefile does (else -version says dev-unknown).
  (cd "$here/zlint" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$version" -o "$out.tmp.$$" github.com/zmap/zlint/v3/cmd/zlint)
  mv "$out.tmp.$$" "$out"
fi
echo "$out"
