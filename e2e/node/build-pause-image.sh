#!/usr/bin/env bash
# build-pause-image.sh: the pod sandbox ("pause") image, built here from
# upstream's pause.c in the pinned k8s.io/kubernetes module, statically linked,
# in an image FROM scratch as upstream's is. No registry is reachable, so
# containerd's sandbox_image names this one. Prints the image's name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=$here/containers.conf
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
# 3.10 is the pause version upstream's build/pause/Makefile gives 1.34.
image=localhost/revoca-e2e/pause:3.10
if buildah inspect --type image "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
k8s=$(cd "$here/../cluster/kubernetes" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -Os -Wall -Werror -static -DVERSION=v3.10-revoca-e2e -o "$work/pause" "$k8s/build/pause/linux/pause.c"
strip "$work/pause"
c=$(buildah from scratch)
buildah copy --quiet "$c" "$work/pause" /pause >/dev/null
buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
buildah commit --quiet --rm "$c" "$image" >/dev/null
echo "$image"
