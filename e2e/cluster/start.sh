#!/bin/sh
# start.sh DIR: a one-node test control plane (etcd + kube-apiserver, nothing
# else) on loopback, with everything in DIR; prints DIR/kubeconfig.
#
# Idempotent: the first run creates the PKI, picks the ports and writes
# DIR/kubeconfig; later runs reuse them and only start what is not running
# (so "stop.sh DIR kube-apiserver; start.sh DIR" restarts the apiserver with
# the same port, certificates and data). Waits until /readyz is ok.
#
# No kube-controller-manager runs, so nothing that its controllers do happens:
# no default ServiceAccount nor tokens in namespaces, namespace deletion stays
# Terminating, no garbage collection of ownerReferences, no CSR signing.
#
# Binaries: $KUBE_APISERVER and $ETCD, else what build.sh builds (cached);
# kubectl: $KUBECTL, else kubectl on PATH, else build.sh's kubectl 1.34.
#
# NODE_IP=ADDRESS (read at the first run, then kept in DIR/ports): the control
# plane of a cluster with a node (../node/start.sh). The apiserver listens on
# every address and advertises ADDRESS, which pods reach, as the "kubernetes"
# Service's endpoint; its certificate names ADDRESS; nodes are authorized by
# the Node authorizer; and the PKI also has the node components' identities
# (kubelet, controller-manager, scheduler, kube-proxy) and their kubeconfigs.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ -n "${KUBE_APISERVER:-}" ] || KUBE_APISERVER=$("$here/build.sh" kube-apiserver)
[ -n "${ETCD:-}" ] || ETCD=$("$here/build.sh" etcd)
[ -n "${KUBECTL:-}" ] || KUBECTL=$(command -v kubectl || "$here/build.sh" kubectl)

# --- one-time setup --------------------------------------------------------
if [ ! -f "$dir/kubeconfig" ]; then
  pki=$dir/pki
  mkdir -p "$pki"
  # leaf NAME SUBJECT EXTENSIONS: a P-256 key and a certificate from our CA.
  leaf() {
    printf '%b\n' "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n$3" >"$pki/$1.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$pki/$1.key" -subj "$2" 2>/dev/null |
      openssl x509 -req -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -days 3650 \
        -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
  }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj /CN=revoca-e2e-ca -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  # 10.0.0.1 is the in-cluster "kubernetes" Service IP (first of the range below).
  leaf apiserver /CN=kube-apiserver "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local${NODE_IP:+,IP:$NODE_IP}"
  # system:masters bypasses RBAC entirely: this is the cluster admin.
  leaf admin "/O=system:masters/CN=revoca-e2e-admin" "extendedKeyUsage=clientAuth"
  if [ -n "${NODE_IP:-}" ]; then
    # The identities the built-in RBAC roles and the Node authorizer expect.
    leaf kubelet "/O=system:nodes/CN=system:node:revoca-node" "extendedKeyUsage=clientAuth"
    leaf kube-controller-manager /CN=system:kube-controller-manager "extendedKeyUsage=clientAuth"
    leaf kube-scheduler /CN=system:kube-scheduler "extendedKeyUsage=clientAuth"
    leaf kube-proxy /CN=system:kube-proxy "extendedKeyUsage=clientAuth"
    # The apiserver's client certificate towards kubelets (logs, exec).
    leaf apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  fi
  # RSA, so the service-account tokens are RS256 like on most clusters.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"

  # Free loopback ports, held open together so that they are distinct; with
  # a node, also kubelet's API and kube-proxy's metrics.
  python3 - ETCD_CLIENT_PORT ETCD_PEER_PORT APISERVER_PORT ${NODE_IP:+KUBELET_PORT PROXY_METRICS_PORT} \
    >"$dir/ports" <<'EOF'
import socket
import sys
names = sys.argv[1:]
socks = [socket.socket() for _ in names]
for s in socks:
    s.bind(("127.0.0.1", 0))
for name, s in zip(names, socks):
    print(f"{name}={s.getsockname()[1]}")
EOF
  [ -z "${NODE_IP:-}" ] || echo "NODE_IP=$NODE_IP" >>"$dir/ports"
  . "$dir/ports"
  cat >"$dir/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: revoca-e2e
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $pki/ca.crt
users:
- name: revoca-e2e-admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: revoca-e2e
  context: {cluster: revoca-e2e, user: revoca-e2e-admin}
current-context: revoca-e2e
EOF
  if [ -n "${NODE_IP:-}" ]; then
    for user in kubelet kube-controller-manager kube-scheduler kube-proxy; do
      sed -e "s#revoca-e2e-admin#$user#g" -e "s#$pki/admin\.#$pki/$user.#g" \
        -e "s#server: https://127.0.0.1:#server: https://$NODE_IP:#" \
        "$dir/kubeconfig.tmp" >"$dir/$user.kubeconfig"
    done
  fi
  mv "$dir/kubeconfig.tmp" "$dir/kubeconfig"  # last: its presence marks setup done
fi
NODE_IP=
. "$dir/ports"
pki=$dir/pki

# --- processes ---------------------------------------------------------------
. "$here/procs.sh"

if ! running etcd; then
  # --unsafe-no-fsync: test data, speed over durability.
  launch etcd "$ETCD" --name=e2e --data-dir="$dir/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync
fi

if ! running kube-apiserver; then
  # Started without waiting for etcd: it retries (hence a few grpc "connection
  # refused" warnings in its log). Without a node, --endpoint-reconciler-type=
  # none: the "kubernetes" Service's Endpoints may not be a loopback address,
  # and no pod would use it anyway. --cert-dir only keeps it off
  # /var/run/kubernetes.
  if [ -n "$NODE_IP" ]; then
    # The "kubernetes" Service's endpoint is NODE_IP, kept by the lease
    # reconciler; kubelet's logs and exec go through its client certificate.
    set -- --bind-address=0.0.0.0 --advertise-address="$NODE_IP" \
      --endpoint-reconciler-type=lease --authorization-mode=Node,RBAC \
      --enable-admission-plugins=NodeRestriction \
      --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
      --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
      --kubelet-preferred-address-types=InternalIP,Hostname
  else
    set -- --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
      --endpoint-reconciler-type=none --authorization-mode=RBAC
  fi
  launch kube-apiserver "$KUBE_APISERVER" "$@" \
    --secure-port="$APISERVER_PORT" --cert-dir="$dir/apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --service-account-issuer="https://127.0.0.1:$APISERVER_PORT" \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24
fi

# /readyz covers etcd too, so this also waits for a restarted etcd.
deadline=$(($(date +%s) + ${START_TIMEOUT:-60}))
until "$KUBECTL" --kubeconfig="$dir/kubeconfig" get --raw=/readyz >/dev/null 2>&1; do
  for name in etcd kube-apiserver; do
    if ! running $name; then
      echo "$name exited; last lines of $dir/$name.log:" >&2
      tail -n 20 "$dir/$name.log" >&2
      exit 1
    fi
  done
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "not ready after ${START_TIMEOUT:-60}s; see $dir/*.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "$dir/kubeconfig"
