#!/usr/bin/env bash
# base-images.sh: makes docker.io/library/debian:12 and debian:12-slim in the
# local container store from Debian's packages (debootstrap, minbase), as the
# Dockerfile's FROM lines name them: no registry is reachable, and none is
# needed. Does nothing when both are already there. Needs root, debootstrap
# and buildah (scripts/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=$here/containers.conf
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have() { buildah inspect --type image "$1" >/dev/null 2>&1; }
if have docker.io/library/debian:12 && have docker.io/library/debian:12-slim; then exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# The sources an image's apt-get update reads, as Debian's own images have them.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

commit() {  # TAR NAME
  local container
  container=$(buildah from scratch)
  buildah add "$container" "$1" / >/dev/null
  buildah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$container"
  buildah commit --quiet --rm "$container" "$2" >/dev/null
}
tar --numeric-owner -C "$root" -cf "$work/debian12.tar" .
commit "$work/debian12.tar" docker.io/library/debian:12

# -slim as Debian's is: no documentation, manual pages or locales, and dpkg
# told not to install them again.
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$root"/usr/share/{man,info,locale}/*
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
tar --numeric-owner -C "$root" -cf "$work/debian12-slim.tar" .
commit "$work/debian12-slim.tar" docker.io/library/debian:12-slim
