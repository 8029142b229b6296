#!/usr/bin/env bash
# build-broker-image.sh: builds the OTP MQTT broker's image
# (broker/Containerfile, e2e/brokers/otp/mqtt_broker.escript) with buildah on
# the base images base-images.sh makes, as localhost/revoca-e2e/mqtt-broker:<tag>,
# the tag a hash of the inputs: an image already there is not built again.
# Prints the image's name. To hand it to a node's containerd:
#   podman save --format oci-archive -o broker.tar IMAGE; ctr -n k8s.io images import broker.tar
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CONTAINERS_CONF=$here/containers.conf
script=$repo/e2e/brokers/otp/mqtt_broker.escript
tag=$(cat "$here/broker/Containerfile" "$script" | sha256sum | cut -c1-16)
image=localhost/revoca-e2e/mqtt-broker:$tag
if buildah inspect --type image "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
"$here/base-images.sh"

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/broker/Containerfile" "$script" "$context/"
buildah bud --quiet --network host --pull=false --layers -f "$context/Containerfile" -t "$image" "$context" >/dev/null
echo "$image"
