#!/usr/bin/env bash
# build-coredns-image.sh: the cluster DNS image, localhost/revoca-e2e/coredns:
# VERSION, FROM scratch with the static CoreDNS that ../cluster/build.sh
# builds (../cluster/coredns: only the plugins coredns.yaml's Corefile uses).
# As upstream's image: /coredns as the entrypoint, user 65532 (nonroot), and
# the binary carrying the file capability cap_net_bind_service=+ep, so that
# the pod, whose container drops ALL capabilities but NET_BIND_SERVICE, can
# listen on port 53 as a non-root user. Once per version (an existing image
# is kept). Prints the image's name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=$here/containers.conf
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
binary=$("$here/../cluster/build.sh" coredns)
image=localhost/revoca-e2e/coredns:${binary##*/coredns-}
if buildah inspect --type image "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/coredns"
setcap cap_net_bind_service=+ep "$work/coredns"
c=$(buildah from scratch)
buildah copy --quiet "$c" "$work/coredns" /coredns >/dev/null
buildah config --entrypoint '["/coredns"]' --cmd '' --user 65532:65532 --workingdir / \
  --port 53/udp --port 53/tcp --port 9153/tcp "$c"
buildah commit --quiet --rm "$c" "$image" >/dev/null
echo "$image"
