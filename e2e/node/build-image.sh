#!/usr/bin/env bash
# build-image.sh [--full] [TAG]: builds revoca's image from the repository's
# Dockerfile with buildah, under the chart's default name
# (ghcr.io/revoca/revoca:<appVersion>, or TAG), on the base images
# base-images.sh makes.
#   default  the Dockerfile's runtime stage, with the binaries of $REVOCA_BUILD
#            (default build/, built on this machine by the same Debian 12
#            toolchain) copied in instead of compiled again: seconds, not the
#            ten minutes a second compile takes on 2 cores. The stage is cut
#            out of the Dockerfile itself, so the image is what it describes.
#   --full   the Dockerfile as it is, both stages (what a release runs).
# Prints the image's name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CONTAINERS_CONF=$here/containers.conf
full=0
if [ "${1:-}" = --full ]; then full=1; shift; fi
version=$(awk -F'"' '/^appVersion:/ { print $2 }' "$repo/helm/revoca/Chart.yaml")
image=${1:-ghcr.io/revoca/revoca:$version}
"$here/base-images.sh"

if [ "$full" = 1 ]; then
  buildah bud --quiet --network host --pull=false --layers -f "$repo/Dockerfile" -t "$image" "$repo" >/dev/null
  echo "$image"
  exit 0
fi

build=${REVOCA_BUILD:-$repo/build}
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/bin"
for binary in revoca revocactl; do
  strip -o "$context/bin/$binary" "$build/bin/$binary"
done
# The last stage (from its FROM to the end), its COPY --from=build reading
# the context instead: buildah 1.28 has no --build-context.
awk '/^FROM /{ stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }' "$repo/Dockerfile" |
  sed -E 's#^COPY --from=build /build/bin/revoca /build/bin/revocactl #COPY bin/revoca bin/revocactl #' \
    >"$context/Containerfile"
grep -q '^COPY bin/revoca bin/revocactl ' "$context/Containerfile" ||
  { echo "build-image.sh: the Dockerfile's last stage no longer copies /build/bin/revoca and revocactl" >&2; exit 1; }
buildah bud --quiet --network host --pull=false --layers -f "$context/Containerfile" -t "$image" "$context" >/dev/null
echo "$image"
