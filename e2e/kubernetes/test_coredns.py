"""Cluster DNS before there is a node: the CoreDNS that e2e/cluster/build.sh
builds (only the plugins of a kubeadm Corefile) and e2e/node/coredns.yaml.
Out of the cluster here: the binary runs on the host with the manifest's
Corefile, as the manifest's ServiceAccount (a token and only its RBAC),
against the test control plane, and answers for Services the way it will
in pods; the image starts as the Deployment runs it (uid 65532, read-only,
every capability dropped but NET_BIND_SERVICE) and listens on port 53.
The node's own suites resolve these names from pods."""
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

import pytest

from kube_fixtures import CLUSTER_DIR, cluster, namespace, service_account_kubeconfig  # noqa: F401
from conftest import ROOT, free_port, wait_for

NODE = ROOT / "e2e" / "node"
DNS_IP = "10.0.0.10"  # inside e2e/cluster/start.sh's --service-cluster-ip-range 10.0.0.0/24
KUBEADM_PLUGINS = {"cache", "errors", "forward", "health", "kubernetes", "loadbalance", "log", "loop",
                   "prometheus", "ready", "reload"}
NOERROR, NXDOMAIN = 0, 3


@pytest.fixture(scope="module")
def coredns():
    return subprocess.run([str(CLUSTER_DIR / "build.sh"), "coredns"], check=True, stdout=subprocess.PIPE,
                          text=True, timeout=1800).stdout.strip()


def manifest(image="localhost/revoca-e2e/coredns:test"):
    return ((NODE / "coredns.yaml").read_text()
            .replace("${COREDNS_IMAGE}", image).replace("${CLUSTER_DNS_IP}", DNS_IP))


def query(port, name, qtype=1, host="127.0.0.1", timeout=3.0):
    """One UDP query; returns (rcode, [(type, rdata)] of the answer section)."""
    qid = random.randrange(1 << 16)
    packet = struct.pack(">6H", qid, 0x0100, 1, 0, 0, 0)  # RD
    packet += b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split("."))
    packet += b"\0" + struct.pack(">2H", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, port))
        data = s.recv(65535)
    rid, flags, qdcount, ancount, _, _ = struct.unpack(">6H", data[:12])
    assert rid == qid and flags & 0x8000, data

    def skip_name(offset):
        while data[offset]:
            if data[offset] & 0xC0 == 0xC0:
                return offset + 2
            offset += data[offset] + 1
        return offset + 1

    offset = 12
    for _ in range(qdcount):
        offset = skip_name(offset) + 4
    answers = []
    for _ in range(ancount):
        offset = skip_name(offset)
        rtype, _, _, length = struct.unpack(">HHIH", data[offset:offset + 10])
        answers.append((rtype, data[offset + 10:offset + 10 + length]))
        offset += 10 + length
    return flags & 0xF, answers


def addresses(port, name):
    rcode, answers = query(port, name)
    return rcode, sorted(socket.inet_ntoa(rdata) for rtype, rdata in answers if rtype == 1)


def test_the_binary_has_only_the_plugins_of_a_kubeadm_corefile(coredns):
    version = subprocess.run([coredns, "-version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("CoreDNS-1."), version
    listed = subprocess.run([coredns, "-plugins"], capture_output=True, text=True, check=True).stdout.split()
    # -plugins also lists what the chosen packages register (debug, dnstap,
    # metadata, transfer), which no Corefile can name: not directives here.
    assert KUBEADM_PLUGINS <= set(listed) <= KUBEADM_PLUGINS | {"debug", "dnstap", "metadata", "transfer"}, listed


def test_coredns_answers_for_services_as_the_manifests_service_account(coredns, cluster, namespace, tmp_path):
    cluster.kubectl("apply", "-f", "-", input=manifest())
    user = "system:serviceaccount:kube-system:coredns"
    wait_for(lambda: all(cluster.kubectl("auth", "can-i", verb, resource, f"--as={user}", "-A",
                                         check=False).returncode == 0
                         for verb in ("list", "watch")
                         for resource in ("services", "endpointslices.discovery.k8s.io", "namespaces", "pods")),
             timeout=20, what=f"the manifest's RBAC to apply to {user}")
    kubeconfig = service_account_kubeconfig(cluster, "kube-system", "coredns", tmp_path / "coredns.kubeconfig")

    # The manifest's Corefile on free loopback ports, with the token.
    corefile = json.loads(cluster.kubectl("-n", "kube-system", "get", "configmap", "coredns", "-o",
                                          "json").stdout)["data"]["Corefile"]
    dns, health, ready, metrics = (free_port() for _ in range(4))
    for old, new in ((".:53 {", f".:{dns} {{"), ("health {", f"health 127.0.0.1:{health} {{"),
                     ("ready\n", f"ready 127.0.0.1:{ready}\n"), ("prometheus :9153", f"prometheus 127.0.0.1:{metrics}"),
                     ("pods insecure\n", f"pods insecure\n       kubeconfig {kubeconfig} sa\n")):
        assert old in corefile, (old, corefile)
        corefile = corefile.replace(old, new, 1)
    (tmp_path / "Corefile").write_text(corefile)

    namespace.apply_yaml("""
apiVersion: v1
kind: Service
metadata: {name: revoca}
spec:
  ports: [{name: http, port: 4664}]
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  ports: [{name: http, port: 4664}]
---
# No controller makes EndpointSlices here: written by hand, as it would.
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: headless-1
  labels: {kubernetes.io/service-name: headless}
addressType: IPv4
endpoints:
- addresses: [10.244.0.7]
  conditions: {ready: true}
ports: [{name: http, port: 4664, protocol: TCP}]
""")
    cluster_ip = namespace.get("service", "revoca")["spec"]["clusterIP"]

    log = open(tmp_path / "coredns.log", "wb")
    process = subprocess.Popen([coredns, "-conf", str(tmp_path / "Corefile")], stdout=log, stderr=subprocess.STDOUT)
    try:
        def is_ready():
            assert process.poll() is None, (tmp_path / "coredns.log").read_text()
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{ready}/ready", timeout=2).status == 200
            except OSError:
                return False
        started = time.monotonic()
        wait_for(is_ready, timeout=30, interval=0.2, what="CoreDNS /ready (the kubernetes plugin synced)")
        print(f"[coredns] ready in {time.monotonic() - started:.1f} s")

        ns = namespace.name
        assert addresses(dns, f"revoca.{ns}.svc.cluster.local") == (NOERROR, [cluster_ip])
        assert addresses(dns, f"headless.{ns}.svc.cluster.local") == (NOERROR, ["10.244.0.7"])
        assert addresses(dns, "kube-dns.kube-system.svc.cluster.local") == (NOERROR, [DNS_IP])
        assert addresses(dns, "kubernetes.default.svc.cluster.local") == (NOERROR, ["10.0.0.1"])
        assert addresses(dns, f"absent.{ns}.svc.cluster.local")[0] == NXDOMAIN
        # pods insecure: a name made of the address.
        assert addresses(dns, f"10-1-2-3.{ns}.pod.cluster.local") == (NOERROR, ["10.1.2.3"])
        # A Service created now is answered without a restart (the watch).
        namespace.apply_yaml("apiVersion: v1\nkind: Service\nmetadata: {name: later}\n"
                             "spec: {ports: [{port: 80}]}\n")
        later_ip = namespace.get("service", "later")["spec"]["clusterIP"]
        wait_for(lambda: addresses(dns, f"later.{ns}.svc.cluster.local") == (NOERROR, [later_ip]),
                 timeout=10, what="the new Service in DNS")
        assert urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=2).status == 200
        assert b"coredns_dns_requests_total" in urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics",
                                                                        timeout=2).read()
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = (tmp_path / "coredns.log").read_text()
    assert f"revoca.{ns}.svc.cluster.local" in text, text  # `log`
    assert "forbidden" not in text.lower(), text


def podman(*args, **kwargs):
    env = dict(os.environ, CONTAINERS_CONF=str(NODE / "containers.conf"))
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, **kwargs)


def test_the_image_listens_on_53_as_65532_with_only_net_bind_service(tmp_path):
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("buildah", "podman", "nsenter")):
        pytest.skip("needs root, buildah, podman and nsenter")
    built = subprocess.run([str(NODE / "build-coredns-image.sh")], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout + built.stderr
    image = built.stdout.strip()
    # The Deployment's container, in its own network namespace with nothing
    # to ask: any answer shows it is listening on 53.
    config = tmp_path / "config"
    config.mkdir(mode=0o755)  # the container's uid 65532 reads it
    (config / "Corefile").write_text(".:53 {\n    errors\n    log\n}\n")
    name = f"coredns-image-{free_port()}"
    run = podman("run", "-d", "--name", name, "--network", "none", "--read-only", "--user", "65532:65532",
                 "--cap-drop=ALL", "--cap-add=NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
                 "-v", f"{config}:/etc/coredns:ro", image, "-conf", "/etc/coredns/Corefile", timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    try:
        pid = podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        # uid 65532 with NET_BIND_SERVICE (1 << 10) alone, effective through
        # the binary's file capability.
        status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines())
        assert status["Uid"].split()[:2] == ["65532", "65532"], status["Uid"]
        assert [int(status[key], 16) for key in ("CapEff", "CapPrm", "CapBnd", "CapAmb")] == [1 << 10] * 3 + [0], status
        probe = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(1)\n"
                 "s.sendto(bytes.fromhex('abcd01000001000000000000076578616d706c650000010001'),('127.0.0.1',53))\n"
                 "sys.stdout.write(s.recv(512)[:4].hex())")

        def answered():
            result = subprocess.run(["nsenter", "-t", pid, "-n", "python3", "-c", probe], capture_output=True,
                                    text=True, timeout=10)
            return result.returncode == 0 and result.stdout.startswith("abcd8")  # our id, QR set
        try:
            wait_for(answered, timeout=20, interval=0.5, what="an answer from the container's port 53")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{podman('logs', name).stdout}{podman('logs', name).stderr}") from None
        status = podman("exec", name, "/coredns", "-version")
        assert "CoreDNS-" in status.stdout, status.stdout + status.stderr
    finally:
        logs = podman("logs", name)
        podman("rm", "-f", name, timeout=60)
    assert '"A IN example. udp' in logs.stdout + logs.stderr, logs.stdout + logs.stderr  # `log`
