"""revoca on a real node, as a platform team runs it: the chart installed
with its defaults from the image built here, declarations applied with
kubectl, and an Erlang/OTP MQTT broker pod (EMQX's TLS stack, configured by
the environment revoca renders) checking every client against the CRL it
fetches through cluster DNS from the in-cluster Service. Clients connect
from outside the pods, as devices do.

The steps run in order on one node and one release (each needs the one
before), like the numbered steps of docs/emqx.md."""
import base64
import datetime
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error

import pytest
from cryptography import x509

from conftest import REVOCACTL, ROOT, http, wait_for
from mqtt_client import Client, check_all_alive, disconnect_all, hold, probe_until
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
                             "-CAfile", str(world.dir / "ca.pem"), "-no_nonce", "-timeout", "10"],
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

# Step 7 rotates the broker's certificate every few tens of seconds. The
# broker re-reads its files within one PEM-cache interval of kubelet updating
# them (ssl_pem_cache_clean; OTP's default, and EMQX's, is 2 minutes), and
# kubelet updates them within 15 s of revoca writing the Secret (start.sh's
# syncFrequency, 10 s, jittered up to half again). RELOAD_WITHIN says so with
# a margin, so that the EmqxDeployment accepts step 7's certificates renewed
# 80 s before they expire (its default, 5m, fits production's 1m and 2m). Both
# are in the broker's pod from its start: a changed environment would roll it.
PEM_CACHE_CLEAN_MS = 3000
RELOAD_WITHIN = "30s"


def server_cert(ttl="30d", refresh_threshold="15d"):
    """The broker's VaultSecret; step 7 shortens its ttl for a while."""
    return f"""apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {{name: server-cert, namespace: {NS}}}
spec:
  vault: mqtt-vault
  autoCert:
    issuingCa: mqtt-ca
    host: mqtt-broker.{NS}.svc
    altNames: [mqtt-broker.{NS}.svc.cluster.local, "{BROKER_IP}"]
    certType: server
    ttl: {ttl}
    refreshThreshold: {refresh_threshold}
  fileOwnership: "1000:1000"
  fileMode: "0440"
"""


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
{server_cert()}
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
  rotation: {{reloadWithin: {RELOAD_WITHIN}}}
  podTemplate:
    metadata:
      labels: {{app: mqtt-broker}}
    spec:
      containers:
        - name: broker
          image: {world.broker_image}
          imagePullPolicy: IfNotPresent
          ports: [{{name: mqtts, containerPort: 8883}}]
          env: [{{name: BROKER_PEM_CACHE_CLEAN_MS, value: "{PEM_CACHE_CLEAN_MS}"}}]
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
    # The deleted pod answers for the chart's shutdownDelay (5 s) before it
    # exits: gone only after that, and before step 5 counts the pods.
    def replaced():
        replicas = pods(world, RELEASE_NS, "app.kubernetes.io/name=revoca")
        names = {p["metadata"]["name"] for p in replicas}
        return replicas if len(replicas) == 2 and all(ready(p) for p in replicas) and leader not in names else None
    wait_for(replaced, timeout=60, interval=1, what="two Ready replicas and the deleted leader's pod gone")
    subjects = [subject for _, subject in assert_nothing_issued_twice(world)]
    assert any(f"second.{NS}.svc" in s for s in subjects), subjects


# --- 5. kubelet restarts --------------------------------------------------------

def pod_identity(pod):
    """What a restart would change: the pod's UID, its containers' IDs and restart counts."""
    return pod["metadata"]["uid"], [(c["containerID"], c["restartCount"]) for c in pod["status"]["containerStatuses"]]


def pod_identities(world):
    everything = json.loads(kubectl(world, "get", "pods", "-A", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"]: pod_identity(p) for p in everything}


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


# --- 7. the server certificate rotates under held connections ------------------------

HELD = 30                 # MQTT connections held from the host across the rotations
ROTATION_MARGIN = 5.0     # seconds on top of kubelet's and the broker's intervals, for a busy machine


def first_certificate(pem):
    return x509.load_pem_x509_certificate(pem)


class SecretWatch:
    """`kubectl get --watch` on the broker's certificate Secret: when each
    certificate revoca wrote there was first seen, by serial, in order."""

    def __init__(self, world, name):
        self.seen = {}  # serial: (time.time() when seen, the certificate)
        self.returned = set()
        self.process = subprocess.Popen(
            [world.node.kubectl_binary, f"--kubeconfig={world.node.kubeconfig}", "-n", NS, "get", "secret", name,
             "--watch", "-o", r'jsonpath={.data.cert\.pem}{"\n"}'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            if line.strip():
                seen = time.time()
                certificate = first_certificate(base64.b64decode(line))
                self.seen.setdefault(certificate.serial_number, (seen, certificate))

    def current(self, timeout):
        """The serial of the certificate in the Secret when the watch began."""
        serial = wait_for(lambda: next(iter(self.seen), None), timeout=timeout, what="the Secret watched")
        self.returned.add(serial)
        return serial

    def next(self, accept, timeout, what):
        """The first certificate not yet returned by current() or next() that
        ACCEPT(certificate) takes: (serial, when it was seen)."""
        def found():
            for serial, (seen, certificate) in list(self.seen.items()):
                if serial not in self.returned and accept(certificate):
                    return serial, seen
            return None
        serial, seen = wait_for(found, timeout=timeout, interval=0.05, what=what)
        self.returned.add(serial)
        return serial, seen

    def close(self):
        self.process.kill()
        self.process.wait()


def broker_pod(world):
    [pod] = pods(world, NS, "app=mqtt-broker")
    return pod


def broker_pod_identity(world):
    """What a restart or a rollout would change: the pod's identity and the Deployment's generation."""
    generation = world.node.jsonpath("-n", NS, "deployment", "mqtt-broker", path="{.metadata.generation}")
    return pod_identity(broker_pod(world)), generation


def test_7_the_server_certificate_rotates_in_place_and_every_held_connection_stays(world):
    context = ssl.create_default_context(cafile=str(world.dir / "ca.pem"))
    context.load_cert_chain(world.dir / "client-2.pem", world.dir / "client-2.key")  # client-1 is revoked

    def connect(client_id):
        return Client(context, (BROKER_IP, 8883), client_id, server_hostname=BROKER_IP)
    pod_files = world.node.pod_volume(broker_pod(world)["metadata"]["uid"], "secret", "revoca-certs")
    # kubelet writes a changed Secret's files at the pod's next sync, every 1
    # to 1.5 times syncFrequency (pod_workers.go's jitter); the broker reads
    # them at its next PEM-cache clean.
    within = 1.5 * world.node.kubelet_sync_seconds() + PEM_CACHE_CLEAN_MS / 1000 + ROTATION_MARGIN
    identity = broker_pod_identity(world)
    watch = SecretWatch(world, "server-cert")
    held, restored = [], False
    rotations = []  # (serial, what, t0 revoca wrote it, t1 in the pod, t2 presented)

    def rotation(what, accept, timeout):
        """Waits for the next certificate in the Secret that ACCEPT takes (t0),
        then for a new handshake to present it (t2); t1 is when kubelet wrote
        it into the pod's volume (the file's mtime: ..data points at it at once)."""
        try:
            serial, written = watch.next(accept, timeout, f"{what}: a new certificate in the Secret")
        except AssertionError as error:
            conditions = world.node.jsonpath("-n", NS, "vs", "server-cert", path="{.status.conditions}")
            raise AssertionError(f"{error}; VaultSecret server-cert: {conditions}") from None
        presented = probe_until(connect, serial, written + within + 10 - time.time(), f"r{len(rotations) + 1}")
        pod_file = (pod_files / "cert.pem").resolve()
        assert first_certificate(pod_file.read_bytes()).serial_number == serial, f"{what}: rotated again"
        in_pod = pod_file.stat().st_mtime
        rotations.append((serial, what, written, in_pod, presented))
        print(f"\nrotation {len(rotations)} ({what}): serial {serial:X}: kubelet put it in the pod "
              f"{in_pod - written:.2f}s after revoca wrote the Secret, new handshakes presented it "
              f"{presented - in_pod:.2f}s later ({presented - written:.2f}s in all)")
        check_all_alive(connect, held, f"rotation-{len(rotations)}")

    def short(certificate):
        return certificate.not_valid_after_utc - certificate.not_valid_before_utc < datetime.timedelta(hours=1)

    try:
        initial = watch.current(timeout=30)
        held[:] = hold(connect, "held", HELD)
        assert {client.serial for client in held} == {initial}
        check_all_alive(connect, held, "before")
        # Valid 2 minutes, renewed 80 s before it expires: revoca issues one at
        # once (the spec changed), then renews it 32 to 40 s later (its jitter
        # takes up to a tenth of refreshThreshold off).
        kubectl(world, "apply", "-f", "-", input=server_cert(ttl="2m", refresh_threshold="80s"))
        rotation("the VaultSecret's ttl changed", short, timeout=30)
        rotation("renewed before it expires", short, timeout=60)
        # Back to 30 days, so that nothing is issued behind the next steps' backs.
        kubectl(world, "apply", "-f", "-", input=server_cert())
        restored = True
        rotation("the 30-day certificate back", lambda certificate: not short(certificate), timeout=30)
        kubectl(world, "-n", NS, "wait", "--for=condition=Ready", "vs/server-cert", "emqx/mqtt-broker",
                "--timeout=10s", timeout=20)

        assert broker_pod_identity(world) == identity
        lines = broker_log(world).splitlines()
        assert len([line for line in lines if line.startswith("connected held-")]) == HELD
        closed = [line for line in lines if line.startswith("closed held-")]
        assert not closed, closed
    finally:
        if not restored:
            kubectl(world, "apply", "-f", "-", input=server_cert(), check=False)
        watch.close()
        disconnect_all(held)
    for serial, what, written, _, presented in rotations:
        assert presented - written <= within, (what, f"{serial:X}", presented - written, within)


# --- 8. upgrade, uninstall ---------------------------------------------------------

def test_8_helm_upgrade_rolls_and_uninstall_leaves_the_ca_keys(world):
    world.node.helm("upgrade", "revoca", CHART, "-n", RELEASE_NS, "--reuse-values", "--set", "logLevel=debug",
                    "--wait", "--timeout", "180s")

    # --wait is for the new pods to be Ready; the old ones may still be stopping.
    def rolled():
        replicas = pods(world, RELEASE_NS, "app.kubernetes.io/name=revoca")
        return replicas if len(replicas) == 2 and all(ready(p) for p in replicas) else None
    replicas = wait_for(rolled, timeout=60, interval=1, what="two Ready replicas and no old one left")
    args = replicas[0]["spec"]["containers"][0]["args"]
    assert args[args.index("--log-level") + 1] == "debug"
    # A connection kube-proxy still sends to a replica the rollout removed goes
    # unanswered until it sees the new EndpointSlice: ask again, as a client would.
    wait_for(lambda: ocsp_status(world, world.dir / "client-2.pem") == "good", timeout=60, interval=1,
             what="OCSP good through the Service after the rollout")

    world.node.helm("uninstall", "revoca", "-n", RELEASE_NS, "--wait", "--timeout", "120s")
    assert kubectl(world, "-n", RELEASE_NS, "get", "deployment", "revoca", check=False).returncode != 0
    # The CA's keys, ledger and revocations are not the release's: they stay.
    kubectl(world, "-n", NS, "get", "secret", "revoca-ca-mqtt-ca")
    assert ledger(world)
    # So do the certificates, and the broker keeps serving its clients.
    assert publish(world, "client-2", "devices/telemetry", "after uninstall").returncode == 0
