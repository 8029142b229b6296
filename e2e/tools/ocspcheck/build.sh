#!/bin/sh
# build.sh: builds ocspcheck (main.go, with golang.org/x/crypto at the
# version go.mod and go.sum pin) into a cache outside the repository, once
# per content of those three files, and prints the binary's path.
#   REVOCA_CACHE  cache root (default ~/.cache/revoca); the binary goes to its bin/
# Needs only Go and the Go module proxy (the first time).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${REVOCA_CACHE:-$HOME/.cache/revoca}/bin
mkdir -p "$bin"
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
digest=$(cd "$here" && cat go.mod go.sum main.go | sha256sum | cut -c1-16)
out=$bin/ocspcheck-$digest
if [ ! -x "$out" ]; then
  echo "building $out ..." >&2
  # A temporary name first: an interrupted build never leaves a half-written
  # binary under the cached name.
  (cd "$here" && go build -trimpath -buildvcs=false -o "$out.tmp.$$" .)
  mv "$out.tmp.$$" "$out"
fi
echo "$out"
