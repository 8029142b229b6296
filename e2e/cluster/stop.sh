#!/bin/sh
# stop.sh DIR [NAME...]: stops the processes that start.sh DIR started
# (NAME: kube-apiserver, etcd; default both, apiserver first) with
# $STOP_SIGNAL (default TERM), then KILL after 15 s. Leaves DIR (data, PKI,
# ports) for a later start.sh DIR.
# etcd takes ~7 s to stop on TERM while the apiserver is connected (it waits on
# its client streams); STOP_SIGNAL=KILL is instant, a crash, and loses nothing:
# even with --unsafe-no-fsync its writes are in the page cache.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DIR [kube-apiserver|etcd]..." >&2; exit 2; }
[ -f "$1/pids" ] || exit 0
dir=$(cd "$1" && pwd)
shift
[ $# -gt 0 ] || set -- kube-apiserver etcd

# Only a pid whose command line names DIR is ours (pids get reused); a
# zombie's command line is empty, so it counts as stopped.
ours() { grep -qF "$dir" "/proc/$1/cmdline" 2>/dev/null; }

for name; do
  pid=$(awk -v n="$name" '$1 == n { print $2 }' "$dir/pids")
  if [ -n "$pid" ] && ours "$pid"; then
    kill -s "${STOP_SIGNAL:-TERM}" "$pid"
    i=0
    while ours "$pid"; do
      i=$((i + 1))
      [ $i -ne 150 ] || kill -KILL "$pid"
      sleep 0.1
    done
  fi
  { grep -v "^$name " "$dir/pids" || true; } >"$dir/pids.tmp"
  mv "$dir/pids.tmp" "$dir/pids"
done
