#!/usr/bin/env bash
# stop.sh DIR [NAME...]: with NAMEs (kubelet, kube-proxy, containerd,
# kube-controller-manager, kube-scheduler, kube-apiserver, etcd), stops only
# those, as ../cluster/stop.sh does (STOP_SIGNAL=KILL for a crash). Without,
# stops the whole node that start.sh DIR started and puts the machine back as
# it was: every pod's processes, containerd's shims, the mounts under DIR,
# the pods' cgroups, network namespaces, the bridge, the iptables chains of
# kube-proxy, kubelet and the CNI plugin, and the sysctls start.sh recorded.
# DIR keeps the cluster's data for a later start.sh DIR. Safe to run twice,
# and after a run that was killed.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [NAME...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../cluster
[ -d "$1" ] || exit 0
dir=$(cd "$1" && pwd)
shift
if [ $# -gt 0 ]; then exec "$cluster/stop.sh" "$dir" "$@"; fi

sock=$dir/containerd/containerd.sock
ours() { grep -qF "$dir" "/proc/$1/cmdline" 2>/dev/null; }

# kube-proxy and kubelet first, so nothing restarts what follows.
"$cluster/stop.sh" "$dir" kube-proxy kubelet
proxy=$("$cluster/build.sh" kube-proxy 2>/dev/null) && "$proxy" --cleanup >/dev/null 2>&1

# Every pod's containers, and their sandboxes, through containerd: a task
# deleted this way takes its shim with it.
if [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1; then
  ctr() { command ctr --address "$sock" --namespace k8s.io "$@"; }
  for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1; done
  for task in $(ctr tasks ls -q 2>/dev/null); do
    for _ in $(seq 50); do ctr tasks rm -f "$task" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  for c in $(ctr containers ls -q 2>/dev/null); do ctr containers rm "$c" >/dev/null 2>&1; done
fi
# What containerd could not reach (it was killed): the pods' cgroups hold
# every process a pod ran; then the shims, found by their socket's path.
# (kubelet's cgroupfs driver makes kubepods in each hierarchy, unified too).
kubepods=(/sys/fs/cgroup/*/kubepods)
for root in "${kubepods[@]}"; do
  [ -d "$root" ] && find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
done
for pid in $(pgrep -f containerd-shim); do ours "$pid" && kill -KILL "$pid"; done
"$cluster/stop.sh" "$dir" containerd kube-controller-manager kube-scheduler

# Mounts under DIR (overlay root filesystems, network namespaces, volumes,
# kubelet's shared root), deepest first.
findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r |
  while read -r target; do umount -l "$target" 2>/dev/null; done
# The pods' cgroups.
for root in "${kubepods[@]}"; do
  [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
done
# Container logs kubelet links into /var/log/containers point into DIR.
for link in /var/log/containers/*; do
  [ -L "$link" ] && case $(readlink "$link") in "$dir"/*) rm -f "$link" ;; esac
done

# The pod network: the bridge (its veths went with the namespaces), then
# every chain kube-proxy, kubelet and the bridge plugin made, in each table
# of each iptables backend.
ip link delete revoca-cni0 2>/dev/null
# Legacy tables only where they exist: listing one would make it.
for ipt in iptables ip6tables iptables-legacy ip6tables-legacy; do
  command -v "$ipt" >/dev/null || continue
  for table in filter nat mangle; do
    case $ipt in
      iptables-legacy) grep -qx "$table" /proc/net/ip_tables_names 2>/dev/null || continue ;;
      ip6tables-legacy) grep -qx "$table" /proc/net/ip6_tables_names 2>/dev/null || continue ;;
    esac
    rules=$("$ipt" -w -t "$table" -S 2>/dev/null) || continue
    # Rules that jump to such chains, from any chain, then the chains.
    grep -E '^-A .* -j (KUBE-|CNI-)' <<<"$rules" | sed 's/^-A /-D /' |
      while read -r rule; do eval "\"$ipt\" -w -t $table $rule" 2>/dev/null; done
    chains=$(awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ { print $2 }' <<<"$rules")
    for chain in $chains; do "$ipt" -w -t "$table" -F "$chain" 2>/dev/null; done
    for chain in $chains; do "$ipt" -w -t "$table" -X "$chain" 2>/dev/null; done
  done
done

# What start.sh recorded: the sysctls as they were, the nftables tables and
# directories there were (those made since go if nothing is left in them).
if [ -f "$dir/host-state" ]; then
  while read -r kind what; do
    [ "$kind" = sysctl ] && sysctl -qw "$what" 2>/dev/null
    # containerd's directory, absent before, holds only what ours left there
    # (the sockets of shims that were killed); kubelet's log directories are
    # removed only if empty.
    case $kind:$what in
      absent:/run/containerd) rm -rf "$what" ;;
      absent:*) rmdir "$what" 2>/dev/null ;;
    esac
  done <"$dir/host-state"
  nft list tables 2>/dev/null | while read -r _ family name; do
    grep -qx "nft-table $family $name" "$dir/host-state" && continue
    # Only tables, chains and their policies: no rule, set or map.
    nft list table "$family" "$name" 2>/dev/null | grep -qvE '^\s*(table |chain |type |}|$)' ||
      nft delete table "$family" "$name" 2>/dev/null
  done
  # start.sh cleaning up after a killed run keeps the record for the next stop.
  [ -n "${KEEP_HOST_STATE:-}" ] || rm -f "$dir/host-state"
fi
[ "$(cat /run/revoca-e2e-node 2>/dev/null)" != "$dir" ] || rm -f /run/revoca-e2e-node
"$cluster/stop.sh" "$dir"
exit 0
