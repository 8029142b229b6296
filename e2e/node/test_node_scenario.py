"""revoca on a real node, as a platform team runs it: the chart installed
with its defaults from the image built here, declarations applied with
kubectl, and an Erlang/OTP MQTT broker pod (EMQX's TLS stack, configured by
the environment revoca renders) checking every client against the CRL it
fetches through cluster DNS from the in-cluster Service. Clients connect
from outside the pods, as devices do.

The steps run in order on one node and one release (each needs the one
before), like the numbered steps of docs/kubernetes.md."""
import base64
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error

import pytest

from conftest import REVOCACTL, ROOT, http, wait_for
from node import Node, build

CHART = ROOT / "helm" / "revoca"
RELEASE_NS = "revoca-system"
NS = "mqtt"
BROKER_IP = "10.0.0.80"  # fixed, so that the broker's certificate can name it
RESPONDER = f"http://revoca.{RELEASE_NS}.svc:4664"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("containerd", "runc", "buildah", "podman",
                                                              "mosquitto_pub")),
    reason="a real node needs root, containerd, runc, buildah, podman and mosquitto-clients "
           "(scripts/install-deps.sh installs them)")


class World:
    """What the steps hand on to each other."""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World()
    w.dir = tmp_path_factory.mktemp("node-scenario")
    revoca_image = build("build-image.sh")
    w.broker_image = build("build-broker-image.sh")
    w.node = Node(w.dir / "node", images=[revoca_image, w.broker_image]).start()
    yield w
    if os.environ.get("REVOCA_E2E_KEEP_NODE") != "1":  # 1: left running, to look at after a failure
        w.node.stop()


def kubectl(world, *args, **kw):
    return world.node.kubectl(*args, **kw)


def pods(world, namespace, selector):
    listed = json.loads(kubectl(world, "-n", namespace, "get", "pods", "-l", selector, "-o", "json").stdout)
    return listed["items"]


def ready(pod):
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def lease_holder(world):
    return world.node.jsonpath("-n", RELEASE_NS, "lease", "revoca-leader", path="{.spec.holderIdentity}")


def revocactl(world, *args, check=True):
    result = subprocess.run([str(REVOCACTL), "--kubeconfig", str(world.node.kubeconfig), "--namespace", NS, *args],
                            capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"revocactl {' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout) if result.stdout.strip() else None


def ledger(world):
    """(serial, subject) of every certificate the CAs of NS issued."""
    listed = json.loads(kubectl(world, "-n", NS, "get", "secrets", "-l", "revoca.io/state=ledger", "-o",
                                "json").stdout)
    lines = []
    for secret in listed["items"]:
        for line in base64.b64decode(secret.get("data", {}).get("entries", "")).decode().splitlines():
            serial, _version, _not_after, subject = line.split(" ", 3)
            lines.append((serial.upper(), subject))
    return lines


def assert_nothing_issued_twice(world):
    lines = ledger(world)
    serials = [s for s, _ in lines]
    assert len(serials) == len(set(serials)), f"a serial in the ledger twice: {lines}"
    subjects = [subject for _, subject in lines]
    twice = {s for s in subjects if subjects.count(s) > 1}
    assert not twice, f"issued twice for {twice}: {lines}"
    return lines


def responder_url(world, path):
    return f"http://{world.node.service_ip(RELEASE_NS, 'revoca')}:4664{path}"


def answer(url):
    """The HTTP answer at url, or None while nothing listens behind it."""
    try:
        return http("GET", url)
    except (urllib.error.URLError, OSError):
        return None


def ocsp_status(world, cert):
    """The responder's answer through the Service, as `openssl ocsp` reads it."""
    url = responder_url(world, f"/ocsp/{world.tenant_uuid}/mqtt-ca")
    result = subprocess.run(["openssl", "ocsp", "-issuer", str(world.dir / "ca.pem"), "-cert", str(cert),
                             "-url", url, "-header", f"Host=revoca.{RELEASE_NS}.svc",
                             "-CAfile", str(world.dir / "ca.pem"), "-no_nonce"],
                            capture_output=True, text=True, timeout=30)
    for word in ("good", "revoked", "unknown"):
        if f": {word}" in result.stdout:
            return word
    return f"no answer: {result.stdout} {result.stderr}"


def mosquitto(world, tool, client, *args):
    """The command line of mosquitto_pub or mosquitto_sub against the broker's
    Service, as CLIENT (its certificate and key in world.dir), or with no
    certificate if None."""
    identity = [] if client is None else ["--cert", str(world.dir / f"{client}.pem"),
                                          "--key", str(world.dir / f"{client}.key")]
    return [tool, "-h", BROKER_IP, "-p", "8883", "--cafile", str(world.dir / "ca.pem"),
            "-i", f"{client or 'anonymous'}-{tool}", *identity, *args]


def publish(world, client, topic, message):
    return subprocess.run(mosquitto(world, "mosquitto_pub", client, "-t", topic, "-m", message),
                          capture_output=True, text=True, timeout=20)


class Subscriber:
    """mosquitto_sub held open on TOPIC, as a device keeps its connection."""

    def __init__(self, world, client, topic):
        self.lines = []
        self.process = subprocess.Popen(mosquitto(world, "mosquitto_sub", client, "-t", topic, "-k", "10"),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def receives(self, world, publisher, topic, message, timeout=20):
        """Publishes until the subscriber has the message (it may still be
        subscribing when the first one goes out)."""
        def arrived():
            assert self.process.poll() is None, f"mosquitto_sub exited: {self.lines}"
            if message in self.lines:
                return True
            publish(world, publisher, topic, message)
            return message in self.lines
        wait_for(arrived, timeout=timeout, interval=0.5, what=f"{message!r} at the subscriber")

    def close(self):
        self.process.kill()
        self.process.wait()


def broker_log(world):
    return kubectl(world, "-n", NS, "logs", "deployment/mqtt-broker", "--tail=-1").stdout


# --- 1. install -------------------------------------------------------------------

def test_1_helm_install_with_defaults_runs_two_ready_replicas_and_one_leader(world):
    world.node.helm("install", "revoca", CHART, "-n", RELEASE_NS, "--create-namespace", "--wait",
                    "--timeout", "180s")
    replicas = pods(world, RELEASE_NS, "app.kubernetes.io/name=revoca")
    assert len(replicas) == 2 and all(ready(p) for p in replicas), [p["status"] for p in replicas]
    names = {p["metadata"]["name"] for p in replicas}
    wait_for(lambda: lease_holder(world) in names, timeout=30, what="a replica holding the Lease")
    # Ready pods reach the Service only once the EndpointSlice controller and kube-proxy have both
    # seen them: until then the ClusterIP refuses, as it does in any cluster.
    status, _, body = wait_for(lambda: answer(responder_url(world, "/metrics")), timeout=30,
                               what="/metrics through the Service")
    assert status == 200 and b"revoca_" in body, body[:200]


# --- 2. declarations and the broker pod ------------------------------------------

def declarations(world):
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: Service
metadata: {{name: mqtt-broker, namespace: {NS}}}
spec:
  clusterIP: {BROKER_IP}
  selector: {{app: mqtt-broker}}
  ports: [{{name: mqtts, port: 8883, targetPort: 8883}}]
---
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {{name: mqtt-ca, namespace: {NS}}}
spec:
  ttl: 1y
  certKeyType: ecdsa
  certKeyCurve: secp256r1
  renewThreshold: 30d
  crlDistUrls: ["{RESPONDER}/crl-pem/${{SYS_TENANT_NAME}}/${{SYS_CA_NAME}}/${{SYS_CA_VERSION}}"]
  ocspResponderUrls: ["{RESPONDER}/ocsp/${{SYS_TENANT_UUID}}/${{SYS_CA_NAME}}"]
  crl: {{validity: 1d}}
  ocsp: {{validity: 1h}}
  distribute: {{deployments: [mqtt-broker]}}
---
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {{name: mqtt-vault, namespace: {NS}}}
spec:
  distribute: {{deployments: [mqtt-broker]}}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {{name: server-cert, namespace: {NS}}}
spec:
  vault: mqtt-vault
  autoCert:
    issuingCa: mqtt-ca
    host: mqtt-broker.{NS}.svc
    altNames: [mqtt-broker.{NS}.svc.cluster.local, "{BROKER_IP}"]
    certType: server
    ttl: 30d
    refreshThreshold: 15d
  fileOwnership: "1000:1000"
  fileMode: "0440"
---
apiVersion: revoca.io/v1alpha1
kind: EmqxDeployment
metadata: {{name: mqtt-broker, namespace: {NS}}}
spec:
  listener: {{name: default, bind: "0.0.0.0:8883"}}
  vault: mqtt-vault
  secret: server-cert
  certDir: /etc/emqx-certs
  verify: verify_peer
  failIfNoPeerCert: true
  crl: {{enabled: true, refreshInterval: 5s, httpTimeout: 5s}}
  ocspStapling: {{enabled: false}}
  podTemplate:
    metadata:
      labels: {{app: mqtt-broker}}
    spec:
      containers:
        - name: broker
          image: {world.broker_image}
          imagePullPolicy: IfNotPresent
          ports: [{{name: mqtts, containerPort: 8883}}]
          securityContext:
            runAsUser: 1000
            runAsGroup: 1000
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: {{drop: [ALL]}}
"""


def test_2_declarations_give_the_broker_pod_its_certificate_and_crl_settings(world):
    kubectl(world, "apply", "-f", "-", input=declarations(world))
    for obj in ("ca/mqtt-ca", "vault/mqtt-vault", "vs/server-cert", "emqx/mqtt-broker"):
        kubectl(world, "-n", NS, "wait", "--for=condition=Ready", obj, "--timeout=120s", timeout=130)
    kubectl(world, "-n", NS, "rollout", "status", "deployment/mqtt-broker", "--timeout=120s", timeout=130)
    wait_for(lambda: "listening" in broker_log(world), timeout=60, interval=1, what="the broker listening")
    world.tenant_uuid = revocactl(world, "get-tenant-uuid")["uuid"]
    (world.dir / "ca.pem").write_text(revocactl(world, "get-ca-cert", "--ca", "mqtt-ca")["cert"])
    for client in ("client-1", "client-2"):
        issued = revocactl(world, "issue-cert", "--ca", "mqtt-ca", "--host", client, "--ttl", "1d",
                           "--cert-type", "client")
        (world.dir / f"{client}.pem").write_text(issued["cert"])
        (world.dir / f"{client}.key").write_text(issued["private-key"])
        (world.dir / f"{client}.key").chmod(0o600)


# --- 3. clients, revocation -------------------------------------------------------

def test_3_clients_publish_and_a_revoked_one_is_refused_once_the_broker_fetched_the_crl(world):
    subscriber = Subscriber(world, "client-2", "devices/telemetry")
    try:
        subscriber.receives(world, "client-1", "devices/telemetry", "hello from client-1")
    finally:
        subscriber.close()
    anonymous = publish(world, None, "devices/telemetry", "no certificate")
    assert anonymous.returncode != 0, anonymous
    # The broker fetched the CRL by the URL in client-1's certificate, by name.
    assert f"crl {RESPONDER}/crl-pem/{NS}/mqtt-ca/" in broker_log(world)

    # revocactl appended the serials to the ledger; each replica behind the
    # Service reads them back within seconds.
    for client in ("client-1", "client-2"):
        wait_for(lambda: all(ocsp_status(world, world.dir / f"{client}.pem") == "good" for _ in range(4)),
                 timeout=30, interval=0.5, what=f"OCSP through the Service knowing {client}")
    serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(world.dir / "client-1.pem")],
                            capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
    assert revocactl(world, "revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial)["revoked"]
    wait_for(lambda: ocsp_status(world, world.dir / "client-1.pem") == "revoked", timeout=30, interval=0.5,
             what="OCSP through the Service saying revoked")
    # The broker refreshes its CRLs every 5 s (the EmqxDeployment's crl.refreshInterval).
    wait_for(lambda: publish(world, "client-1", "devices/telemetry", "revoked?").returncode != 0, timeout=60,
             interval=1, what="the broker refusing the revoked client")
    assert "refused certificate_revoked" in broker_log(world)
    assert publish(world, "client-2", "devices/telemetry", "still here").returncode == 0
    assert_nothing_issued_twice(world)


# --- 4. the leader goes ---------------------------------------------------------

def test_4_another_replica_takes_over_when_the_leader_pod_is_deleted(world):
    leader = lease_holder(world)
    kubectl(world, "-n", RELEASE_NS, "delete", "pod", leader, "--wait=false")
    # The leader gives the Lease up as it stops. Whoever asks first takes it:
    # the other replica (it retries every retryPeriod, 2 s) or the pod the
    # Deployment starts in its place (it asks at once), which often wins.
    live = lambda: {p["metadata"]["name"] for p in pods(world, RELEASE_NS, "app.kubernetes.io/name=revoca")
                    if not p["metadata"].get("deletionTimestamp")}
    wait_for(lambda: lease_holder(world) in live() - {leader}, timeout=30, interval=0.5,
             what="another replica holding the Lease")
    # In a Vault of its own: in mqtt-vault it would claim the broker's
    # Deployment too, and a Deployment receives one VaultSecret (the broker's
    # own would be refused as a DeploymentConflict).
    kubectl(world, "apply", "-f", "-", input=f"""
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {{name: second-vault, namespace: {NS}}}
spec: {{}}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {{name: second-cert, namespace: {NS}}}
spec:
  vault: second-vault
  autoCert: {{issuingCa: mqtt-ca, host: second.{NS}.svc, certType: server, ttl: 30d, refreshThreshold: 15d}}
""")
    kubectl(world, "-n", NS, "wait", "--for=condition=Ready", "vs/second-cert", "--timeout=60s", timeout=70)
    # The broker's certificate is still delivered to it.
    kubectl(world, "-n", NS, "wait", "--for=condition=Ready", "vs/server-cert", "emqx/mqtt-broker", "--timeout=10s",
            timeout=20)
    kubectl(world, "-n", RELEASE_NS, "rollout", "status", "deployment/revoca", "--timeout=120s", timeout=130)
    replicas = pods(world, RELEASE_NS, "app.kubernetes.io/name=revoca")
    assert len(replicas) == 2 and all(ready(p) for p in replicas)
    assert leader not in {p["metadata"]["name"] for p in replicas}
    subjects = [subject for _, subject in assert_nothing_issued_twice(world)]
    assert any(f"second.{NS}.svc" in s for s in subjects), subjects


# --- 5. kubelet restarts --------------------------------------------------------

def pod_identities(world):
    everything = json.loads(kubectl(world, "get", "pods", "-A", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: (p["metadata"]["uid"],
                                    [(c["containerID"], c["restartCount"]) for c in p["status"]["containerStatuses"]])
            for p in everything}


def test_5_a_kubelet_restart_keeps_every_pod_and_connection_and_reissues_nothing(world):
    before = pod_identities(world)
    issued = ledger(world)
    subscriber = Subscriber(world, "client-2", "devices/kubelet")
    try:
        subscriber.receives(world, "client-2", "devices/kubelet", "before the restart")
        world.node.restart_kubelet()
        time.sleep(15)  # kubelet's first sync after the restart; a pod it replaced would show by now
        assert pod_identities(world) == before
        subscriber.receives(world, "client-2", "devices/kubelet", "after the restart")
    finally:
        subscriber.close()
    assert ledger(world) == issued


# --- 6. a drain ------------------------------------------------------------------

def test_6_a_drain_stops_at_the_disruption_budget_and_ocsp_answers_throughout(world):
    answers = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            answers.append(ocsp_status(world, world.dir / "client-2.pem"))
            time.sleep(0.2)
    poller = threading.Thread(target=poll)
    poller.start()
    try:
        drain = kubectl(world, "drain", "revoca-node", "--pod-selector=app.kubernetes.io/name=revoca",
                        "--delete-emptydir-data", "--ignore-daemonsets", "--timeout=30s", check=False, timeout=60)
        # One node: the evicted replica has nowhere to go, so the budget keeps the other.
        assert drain.returncode != 0 and "disruption budget" in drain.stderr, drain.stderr
    finally:
        kubectl(world, "uncordon", "revoca-node")
        kubectl(world, "-n", RELEASE_NS, "rollout", "status", "deployment/revoca", "--timeout=120s", timeout=130)
        time.sleep(2)
        stop.set()
        poller.join()
    assert answers and set(answers) == {"good"}, [a for a in answers if a != "good"][:5]


# --- 7. upgrade, uninstall ---------------------------------------------------------

def test_7_helm_upgrade_rolls_and_uninstall_leaves_the_ca_keys(world):
    world.node.helm("upgrade", "revoca", CHART, "-n", RELEASE_NS, "--reuse-values", "--set", "logLevel=debug",
                    "--wait", "--timeout", "180s")
    replicas = pods(world, RELEASE_NS, "app.kubernetes.io/name=revoca")
    assert len(replicas) == 2 and all(ready(p) for p in replicas)
    args = replicas[0]["spec"]["containers"][0]["args"]
    assert args[args.index("--log-level") + 1] == "debug"
    assert ocsp_status(world, world.dir / "client-2.pem") == "good"

    world.node.helm("uninstall", "revoca", "-n", RELEASE_NS, "--wait", "--timeout", "120s")
    assert kubectl(world, "-n", RELEASE_NS, "get", "deployment", "revoca", check=False).returncode != 0
    # The CA's keys, ledger and revocations are not the release's: they stay.
    kubectl(world, "-n", NS, "get", "secret", "revoca-ca-mqtt-ca")
    assert ledger(world)
    # So do the certificates, and the broker keeps serving its clients.
    assert publish(world, "client-2", "devices/telemetry", "after uninstall").returncode == 0
