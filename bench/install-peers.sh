#!/bin/sh
# The peers the benchmarks measure revoca against, from Debian's packages:
# wrk (the load), cfssl (`cfssl ocspserve`), nginx, openssl. Idempotent.
set -eu
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
missing=""
for package in wrk golang-cfssl nginx openssl; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi
