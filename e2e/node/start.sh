#!/usr/bin/env bash
# start.sh DIR: a one-node Kubernetes cluster on this machine, everything in
# DIR: etcd and kube-apiserver (../cluster/start.sh, advertising the node's
# address), kube-controller-manager, kube-scheduler, containerd (Debian's,
# with its own root, state and socket in DIR), kubelet, kube-proxy and
# CoreDNS, pods on Debian's bridge CNI plugin. Prints DIR/kubeconfig.
#
# Idempotent like ../cluster/start.sh: later runs start what is not running.
# What it changes on the machine (sysctls, the bridge, iptables chains,
# mounts, cgroups) is recorded in DIR and put back by stop.sh DIR; a run that
# was killed is cleaned up first (stop.sh DIR).
#
# Images: IMAGES (space-separated names in buildah's store, default none) are
# imported into containerd, besides the pause and CoreDNS images built here.
# No registry is reachable: a pod's image must be one of these.
#
# This machine kind lacks CAP_SYS_RESOURCE and runs a hybrid cgroup hierarchy
# (e2e/node/README.md has the details): hence
# containerd's restrict_oom_score_adj, the cgroupfs driver, runc, and
# kubelet's oomScoreAdj 0.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../cluster
mkdir -p "$1"
dir=$(cd "$1" && pwd)
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
bin() { "$cluster/build.sh" "$1"; }
export KUBECTL=${KUBECTL:-$(bin kubectl)}
kubectl() { "$KUBECTL" --kubeconfig="$dir/kubeconfig" "$@"; }

node=revoca-node
pod_cidr=10.244.0.0/24
dns_ip=10.0.0.10
bridge=revoca-cni0

# The address pods reach the host (and so the apiserver) at: the source
# address of the route out (no packet is sent), unless NODE_IP says.
NODE_IP=${NODE_IP:-$(ip -4 route get 192.0.2.255 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}

. "$cluster/procs.sh"
# A killed run leaves processes, mounts and chains behind: clear them first.
if [ -f "$dir/host-state" ] && ! running containerd; then KEEP_HOST_STATE=1 "$here/stop.sh" "$dir"; fi

# One node per machine: two would share the bridge, the iptables chains and
# kubelet's cgroups. /run/revoca-e2e-node names the DIR of the one running.
owner=$(cat /run/revoca-e2e-node 2>/dev/null || true)
if [ -n "$owner" ] && [ "$owner" != "$dir" ] && [ -f "$owner/host-state" ]; then
  echo "a node from $owner is running on this machine: run $here/stop.sh $owner first" >&2
  exit 1
fi
echo "$dir" >/run/revoca-e2e-node

# --- the host: what kubelet, kube-proxy and the bridge need -----------------
# Recorded once, before anything changes it; stop.sh writes these back.
sysctls=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
  vm.overcommit_memory kernel.panic kernel.panic_on_oops)
modprobe br_netfilter 2>/dev/null || true
if [ ! -f "$dir/host-state" ]; then
  {
    for s in "${sysctls[@]}"; do
      v=$(sysctl -n "$s" 2>/dev/null) && echo "sysctl $s=$v"
    done
    # The nftables tables there are (iptables-nft makes its tables on first use).
    nft list tables 2>/dev/null | sed 's/^table /nft-table /'
    # Directories containerd and kubelet make outside DIR whatever they are told.
    for d in /run/containerd /var/log/containers /var/log/pods; do [ -e "$d" ] || echo "absent $d"; done
  } >"$dir/host-state.tmp"
  mv "$dir/host-state.tmp" "$dir/host-state"
fi
# Pods' traffic is routed and, on the bridge, seen by iptables (Services).
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

# --- control plane ------------------------------------------------------------
NODE_IP=$NODE_IP "$cluster/start.sh" "$dir" >/dev/null
. "$dir/ports"
pki=$dir/pki

# --- containerd and the pod network -------------------------------------------
mkdir -p "$dir/containerd" "$dir/cni/net.d" "$dir/cni/ipam"
sock=$dir/containerd/containerd.sock
pause=$("$here/build-pause-image.sh")
cat >"$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
  # kubelet asks for -998 for the sandbox; only CAP_SYS_RESOURCE may go below
  # containerd's own score, so clamp rather than fail every pod.
  restrict_oom_score_adj = true
  disable_apparmor = true
  # Network namespaces under DIR, not /run/netns, so stop.sh finds its own.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
EOF
# One bridge, one /24 for the node's pods, masqueraded when they leave it.
cat >"$dir/cni/net.d/10-revoca-e2e.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "revoca-e2e",
  "plugins": [{
    "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": true, "hairpinMode": true,
    "ipam": {"type": "host-local", "dataDir": "$dir/cni/ipam",
             "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}
  }]
}
EOF
running containerd || launch containerd containerd --config "$dir/containerd/config.toml"
ctr() { command ctr --address "$sock" --namespace k8s.io "$@"; }
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done

# Images from buildah's store, once per image ID.
coredns=$("$here/build-coredns-image.sh")
export CONTAINERS_CONF=$here/containers.conf
for image in "$pause" "$coredns" ${IMAGES:-}; do
  id=$(buildah inspect --type image --format '{{.FromImageID}}' "$image")
  [ "$(cat "$dir/containerd/imported-${image//[\/:]/_}" 2>/dev/null)" = "$id" ] && continue
  archive=$dir/containerd/image.tar
  # A docker archive names the image in full (an OCI one only by its tag).
  podman save --quiet --format docker-archive -o "$archive" "$image"
  ctr images import "$archive" >/dev/null
  rm -f "$archive"
  echo "$id" >"$dir/containerd/imported-${image//[\/:]/_}"
done

# --- controllers --------------------------------------------------------------
running kube-controller-manager || launch kube-controller-manager "$(bin kube-controller-manager)" \
  --kubeconfig="$dir/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$dir/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$dir/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=0 --cert-dir="$dir/kube-controller-manager" \
  --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --service-cluster-ip-range=10.0.0.0/24
running kube-scheduler || launch kube-scheduler "$(bin kube-scheduler)" \
  --kubeconfig="$dir/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$dir/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$dir/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false

# --- the node (its ports picked with the control plane's, in DIR/ports) ----------
mkdir -p "$dir/kubelet"
cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
containerRuntimeEndpoint: "unix://$sock"
# containerd 1.6 has no RuntimeConfig call to say which driver it uses.
cgroupDriver: cgroupfs
# 1.34 still runs on this cgroup v1 (hybrid) host; 1.35 refuses by default.
failCgroupV1: false
failSwapOn: false
# Lowering its own score needs CAP_SYS_RESOURCE, which root lacks here.
oomScoreAdj: 0
clusterDNS: ["$dns_ip"]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: "$dir/pod-logs"
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
port: $KUBELET_PORT
# A shared test machine: never evict for its disk, never collect the
# imported images (no registry could bring them back).
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# kubelet sets vm.overcommit_memory and kernel.panic*; stop.sh puts them back.
protectKernelDefaults: false
# How often kubelet syncs each pod (every 1 to 1.5 times this, jittered), and
# with it the files of a changed Secret volume: 1m by default. 10s so that
# the scenario's certificate rotations reach the broker pod in seconds. The
# Secret itself kubelet keeps watching (configMapAndSecretChangeDetectionStrategy
# Watch, the default), so each sync finds it up to date.
syncFrequency: 10s
EOF
running kubelet || launch kubelet "$(bin kubelet)" --config="$dir/kubelet.yaml" \
  --kubeconfig="$dir/kubelet.kubeconfig" --root-dir="$dir/kubelet" --cert-dir="$dir/kubelet/pki" \
  --hostname-override="$node" --node-ip="$NODE_IP"

cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$dir/kube-proxy.kubeconfig"}
hostnameOverride: $node
mode: iptables
clusterCIDR: $pod_cidr
# Leave the host's conntrack table and timeouts as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
# NodePorts on 127.0.0.1 would set route_localnet on every interface.
iptables: {localhostNodePorts: false}
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
healthzBindAddress: ""
EOF
running kube-proxy || launch kube-proxy "$(bin kube-proxy)" --config="$dir/kube-proxy.yaml"

# --- ready: the node, then cluster DNS ---------------------------------------
wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 seconds=$2 deadline=$(($(date +%s) + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    for name in containerd kube-controller-manager kube-scheduler kubelet kube-proxy; do
      running $name || { echo "$name exited; last lines of $dir/$name.log:" >&2; tail -n 20 "$dir/$name.log" >&2; exit 1; }
    done
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$what not ready after ${seconds}s; see $dir/*.log" >&2; exit 1; }
    sleep 0.5
  done
}
wait_for "node $node" 120 kubectl wait --for=condition=Ready "node/$node" --timeout=1s
sed -e "s#\${COREDNS_IMAGE}#$coredns#g" -e "s#\${CLUSTER_DNS_IP}#$dns_ip#g" "$here/coredns.yaml" |
  kubectl apply -f - >/dev/null
wait_for "CoreDNS" 120 kubectl -n kube-system rollout status deployment/coredns --timeout=1s
echo "$dir/kubeconfig"
