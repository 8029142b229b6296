"""revoca under Kubernetes faults, on the real apiserver and
etcd of e2e/cluster, reached through a fault proxy (fault_proxy.py):
apiserver and etcd restarts, watch streams cut mid-event, 409 conflicts from
a second writer, 410 Gone after an etcd compaction, a Lease taken by another
identity, an apiserver that stops answering. Each scenario declares certificates (and a revocation) while the
fault happens, then checks that revoca converged (every object Ready, the
output Secrets hold the certificates the statuses name, OCSP answers good or
revoked as declared) and issued nothing twice: one ledger line and one
"Issued" log line per VaultSecret, the CA's key unchanged.

REVOCA_FAULT_ROUNDS=N repeats the faults N times (2 in CI). The figures
(seconds to converge per fault, cuts, 409s, relists) are printed as
"fault figures:" lines."""
import base64
import collections
import hashlib
import http.client
import json
import os
import re
import ssl
import threading
import time
from pathlib import Path

import pytest

from fault_proxy import FaultProxy
from kube_fixtures import (as_chart_service_account, cluster, namespace, operators,  # noqa: F401 (fixtures)
                           vault_secret_of_its_own)
from conftest import openssl, wait_for

ROUNDS = max(1, int(os.environ.get("REVOCA_FAULT_ROUNDS", "2")))
BASE_OBJECTS = ("certificateauthority/mqtt-ca", "vault/mqtt-vault", "vaultsecret/server-cert",
                "emqxdeployment/emqx")


# --- the admin's own API client (the second writer, etcd-free checks) -------

class AdminApi:
    """JSON over HTTPS to the apiserver as the cluster admin, straight (not
    through the proxy): what kubectl does, without a process per call."""

    def __init__(self, cluster):
        pki = cluster.workdir / "pki"
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.cluster = cluster

    def request(self, method, path, body=None, content_type="application/json"):
        host, port = self.cluster.server[len("https://"):].split(":")
        connection = http.client.HTTPSConnection(host, int(port), context=self.context, timeout=10)
        try:
            headers = {"Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = content_type
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            connection.close()


def secret_path(ns, name=""):
    return f"/api/v1/namespaces/{ns}/secrets" + (f"/{name}" if name else "")


# --- what revoca wrote --------------------------------------------------------

def state_secrets(api, ns, state):
    status, listed = api.request("GET", secret_path(ns) + f"?labelSelector=revoca.io/state%3D{state}")
    assert status == 200, listed
    return listed["items"]


def decoded(secret, key):
    return base64.b64decode(secret.get("data", {}).get(key, "")).decode()


def ledger(api, ns):
    """The ledger lines of every CA in ns: (serial, subject) pairs."""
    lines = []
    for secret in state_secrets(api, ns, "ledger"):
        for line in decoded(secret, "entries").splitlines():
            serial, _version, _not_after, subject = line.split(" ", 3)
            lines.append((serial.upper(), subject))
    return lines


def revoked_serials(api, ns):
    return {line.split(" ", 1)[0].upper() for secret in state_secrets(api, ns, "revocations")
            for line in decoded(secret, "entries").splitlines() if line}


def ca_fingerprint(api, ns, ca="mqtt-ca"):
    """A digest of the CA's versions (certificates and keys): compared, never shown."""
    status, secret = api.request("GET", secret_path(ns, f"revoca-ca-{ca}"))
    assert status == 200, secret
    return hashlib.sha256(decoded(secret, "versions.json").encode()).hexdigest()


def issued_log_lines(operator_or_text):
    text = operator_or_text if isinstance(operator_or_text, str) else operator_or_text.log_text()
    return re.findall(r"VaultSecret [\w.-]+/([\w.-]+): Issued serial ([0-9A-Fa-f]+)", text)


def revocation(name, serial):
    return f"""
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: {name}}}
spec: {{ca: mqtt-ca, serial: "{serial}", reason: keyCompromise}}
"""


def apply_quietly(ns, text, timeout=90):
    """kubectl apply, retried while the apiserver is away (a restart in flight)."""
    deadline = time.monotonic() + timeout
    while True:
        result = ns.kubectl("apply", "-f", "-", input=text, check=False, timeout=30)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"kubectl apply kept failing:\n{result.stderr}")
        time.sleep(0.5)


# --- the harness ---------------------------------------------------------------

class Figures:
    """Figures of one test, printed at its end as "fault figures:" lines."""

    def __init__(self, name):
        self.name = name
        self.lines = []

    def add(self, text):
        self.lines.append(text)


@pytest.fixture
def figures(request, capsys):
    collected = Figures(request.node.name)
    yield collected
    with capsys.disabled():
        for line in collected.lines:
            print(f"\nfault figures: {collected.name}: {line}", end="")
        print()


@pytest.fixture
def admin(cluster):
    return AdminApi(cluster)


@pytest.fixture
def proxy(cluster):
    host, port = cluster.server[len("https://"):].split(":")
    started = FaultProxy((host, int(port))).start()
    yield started
    started.stop()


def proxied_operator(cluster, namespace, operators, tmp_path, proxy, **kwargs):
    """A `revoca run` whose kubeconfig (the chart's ServiceAccount) points at the proxy."""
    direct = as_chart_service_account(cluster, namespace.name, tmp_path)
    config = json.loads(direct.read_text())
    config["clusters"][0]["cluster"]["server"] = proxy.url
    proxied = tmp_path / "revoca-proxied.kubeconfig"
    proxied.write_text(json.dumps(config))
    proxied.chmod(0o600)
    return operators(kubeconfig=proxied, **kwargs)


def ocsp_status(operator, ns, tmp_path, ca_pem, serial):
    (tmp_path / "ca.pem").write_text(ca_pem)
    result = openssl("ocsp", "-issuer", tmp_path / "ca.pem", "-serial", "0x" + serial,
                     "-url", f"{operator.base}/ocsp/{ns.uid()}/mqtt-ca", "-CAfile", tmp_path / "ca.pem",
                     "-timeout", "5", check=False)
    match = re.search(r"0x[0-9A-Fa-f]+: (\w+)", result.stdout)
    return match.group(1) if match else result.stdout + result.stderr


def wait_converged(ns, names, timeout=120):
    """Seconds until every VaultSecret in names (and the examples) is Ready
    and its output Secret holds the certificate its status names."""
    started = time.monotonic()
    objects = list(BASE_OBJECTS) + [f"vaultsecret/{name}" for name in names]

    def ready():
        result = ns.kubectl("wait", "--for=condition=Ready", *objects, "--timeout=5s", check=False, timeout=20)
        return result.returncode == 0

    wait_for(ready, timeout=timeout, interval=0.5, what=f"{objects} Ready")
    return time.monotonic() - started


def assert_consistent(ns, admin, operator, names, tmp_path, ca_before, revoked=None, extra_serials=()):
    """Converged and nothing issued twice: see the module's doc. `revoked`:
    VaultSecret name -> the serial revoked, which is issued again once (two
    ledger lines for it, no more). `extra_serials`: issued by revocactl, to
    be found in the ledger still."""
    revoked = revoked or {}
    ca_pem = ns.secret_files("server-cert")["ca-cert.pem"]
    lines = ledger(admin, ns.name)
    subjects = collections.Counter(subject for _, subject in lines)
    serials = collections.Counter(serial for serial, _ in lines)
    assert not [s for s, n in serials.items() if n > 1], f"a serial in the ledger twice: {lines}"
    for serial in extra_serials:
        assert serial.upper() in serials, f"revocactl's serial {serial} is missing from the ledger"
    per_object = collections.Counter(name for name, _ in issued_log_lines(operator))
    for name in ["server-cert", *names]:
        host = "mqtt.emqx.internal" if name == "server-cert" else f"{name}.example"
        expected = 2 if name in revoked else 1
        assert subjects[host] == expected, f"{name}: {subjects[host]} ledger lines for {host}, not {expected}: {lines}"
        assert per_object[name] <= expected, f"{name} issued {per_object[name]} times"
        if name in revoked:
            wait_for(lambda: ns.get("vaultsecret", name)["status"]["serial"].upper() != revoked[name], timeout=30,
                     what=f"{name} issued again after its revocation")
        status_serial = ns.get("vaultsecret", name)["status"]["serial"].upper()
        assert (status_serial, host) in lines
        (tmp_path / "out.pem").write_text(ns.secret_files(name)["cert.pem"])
        out_serial = openssl("x509", "-in", tmp_path / "out.pem", "-noout", "-serial").stdout.strip().split("=")[1]
        assert out_serial.upper() == status_serial, f"{name}: the output Secret holds another certificate"
        wait_for(lambda: ocsp_status(operator, ns, tmp_path, ca_pem, status_serial) == "good", timeout=15,
                 interval=0.5, what=f"OCSP says good for {name}")
    for name, serial in revoked.items():
        assert serial in revoked_serials(admin, ns.name), f"the revocation of {name}'s {serial} was lost"
        wait_for(lambda: ocsp_status(operator, ns, tmp_path, ca_pem, serial) == "revoked", timeout=15,
                 interval=0.5, what=f"OCSP says revoked for {name}'s {serial}")
    assert ca_fingerprint(admin, ns.name) == ca_before, "the CA's key or versions changed"
    assert ns.get("certificateauthority", "mqtt-ca")["status"]["version"] == 1


def start_and_converge(cluster, namespace, operators, tmp_path, proxy, **kwargs):
    operator = proxied_operator(cluster, namespace, operators, tmp_path, proxy, **kwargs).start()
    namespace.apply_examples(operator.port)
    namespace.wait_ready(*BASE_OBJECTS, timeout=60)
    return operator


def log_count(operator, pattern):
    return len(re.findall(pattern, operator.log_text()))


# --- the scenarios ---------------------------------------------------------------

def test_apiserver_and_etcd_restarts_in_a_row(cluster, namespace, operators, tmp_path, proxy, admin, figures):
    operator = start_and_converge(cluster, namespace, operators, tmp_path, proxy)
    ca_before = ca_fingerprint(admin, namespace.name)
    names = []
    for round_ in range(ROUNDS):
        for what in ("apiserver", "etcd"):
            name = f"r{round_}-{what}"
            names.append(name)
            started = time.monotonic()
            cluster.stop("kube-apiserver" if what == "apiserver" else "etcd", kill=round_ % 2 == 1 or what == "etcd")
            # Declared while the apiserver or its etcd is down: kubectl retries until it is back.
            applier = threading.Thread(target=apply_quietly, args=(namespace, vault_secret_of_its_own(name)), daemon=True)
            applier.start()
            time.sleep(1)
            cluster.start()
            back = time.monotonic() - started
            applier.join(timeout=90)
            took = wait_converged(namespace, names)
            figures.add(f"round {round_} {what} restart: apiserver back after {back:.1f} s, "
                        f"converged {took:.1f} s later")
    assert_consistent(namespace, admin, operator, names, tmp_path, ca_before)


def test_watch_streams_cut_mid_event(cluster, namespace, operators, tmp_path, proxy, admin, figures):
    operator = start_and_converge(cluster, namespace, operators, tmp_path, proxy)
    ca_before = ca_fingerprint(admin, namespace.name)
    server_serial = namespace.get("vaultsecret", "server-cert")["status"]["serial"].upper()
    # Every connection older than half a second dies within a few KiB: the
    # watches mid-event, and pooled connections in the middle of a write's
    # answer (the write took, revoca does not know).
    proxy.cut_streams(min_age=0.5, byte_range=(300, 12000))
    names = []
    started = time.monotonic()
    for index in range(4 * ROUNDS):
        name = f"cut-{index}"
        names.append(name)
        apply_quietly(namespace, vault_secret_of_its_own(name))
        time.sleep(0.7)  # traffic on the watches, so that they are cut mid-event
    apply_quietly(namespace, revocation("server-cert-revoked", server_serial))
    time.sleep(2.0)
    cuts = proxy.counters["stream_cuts"]
    proxy.heal()
    took = wait_converged(namespace, names + [])
    namespace.wait_ready("certificaterevocation/server-cert-revoked", timeout=30)
    figures.add(f"{cuts} connections cut mid-stream over {time.monotonic() - started - took:.0f} s; "
                f"converged {took:.1f} s after the cuts stopped; "
                f"{log_count(operator, 'watch ended, resuming')} watch restarts, "
                f"{log_count(operator, 'listed again')} relists; "
                f"{log_count(operator, 'no answer on')} ledger writes without an answer re-read, "
                f"{log_count(operator, 'saving the record of serial')} records saved again after a failed write")
    assert cuts >= 3, proxy.counters
    assert_consistent(namespace, admin, operator, names, tmp_path, ca_before,
                      revoked={"server-cert": server_serial})


class SecondWriter:
    """Another client writing the objects revoca writes, as fast as it can:
    a merge PATCH of an annotation (never refused, but it moves the
    resourceVersion) and a GET+PUT, on every Secret revoca manages, every
    VaultSecret and the Lease. revoca's next optimistic write of any of
    them meets a 409."""

    def __init__(self, api, ns):
        self.api = api
        self.ns = ns
        self.writes = 0
        self.conflicts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=20)

    def _targets(self):
        status, secrets = self.api.request("GET", secret_path(self.ns) + "?labelSelector=app.kubernetes.io/managed-by%3Drevoca")
        paths = [secret_path(self.ns, s["metadata"]["name"]) for s in secrets["items"]] if status == 200 else []
        status, listed = self.api.request("GET", f"/apis/revoca.io/v1alpha1/namespaces/{self.ns}/vaultsecrets")
        if status == 200:
            paths += [f"/apis/revoca.io/v1alpha1/namespaces/{self.ns}/vaultsecrets/{v['metadata']['name']}"
                      for v in listed["items"]]
        paths.append(f"/apis/coordination.k8s.io/v1/namespaces/{self.ns}/leases/revoca-leader")
        return paths

    def _run(self):
        count = 0
        while not self._stop.is_set():
            for path in self._targets():
                if self._stop.is_set():
                    return
                count += 1
                patch = {"metadata": {"annotations": {"e2e.revoca.io/second-writer": str(count)}}}
                status, _ = self.api.request("PATCH", path, patch, "application/merge-patch+json")
                self.writes += status == 200
                status, current = self.api.request("GET", path)
                if status != 200:
                    continue
                current["metadata"].setdefault("annotations", {})["e2e.revoca.io/put"] = str(count)
                status, _ = self.api.request("PUT", path, current)
                self.writes += status == 200
                self.conflicts += status == 409


def test_409_conflicts_from_a_second_writer(cluster, namespace, operators, tmp_path, proxy, admin, figures):
    operator = start_and_converge(cluster, namespace, operators, tmp_path, proxy)
    ca_before = ca_fingerprint(admin, namespace.name)
    names, revoked, by_revocactl = [], {}, []
    started = time.monotonic()
    with SecondWriter(admin, namespace.name) as writer:
        for index in range(3 * ROUNDS):
            name = f"conflict-{index}"
            names.append(name)
            apply_quietly(namespace, vault_secret_of_its_own(name))
            issued = revocactl_json(cluster, namespace.name, "issue-cert", "--ca", "mqtt-ca", "--host",
                                    f"ctl-{index}", "--ttl", "1d", "--cert-type", "client")
            by_revocactl.append(issued["serial"])
        wait_converged(namespace, names)
        victim = names[0]
        serial = namespace.get("vaultsecret", victim)["status"]["serial"].upper()
        revoked[victim] = serial
        apply_quietly(namespace, revocation(f"{victim}-revoked", serial))
        namespace.wait_ready(f"certificaterevocation/{victim}-revoked", timeout=60)
        time.sleep(2)
    took = time.monotonic() - started
    conflicts = log_count(operator, r"409 on (update|create), reading it again|another replica wrote")
    figures.add(f"second writer: {writer.writes} writes in {took:.0f} s ({writer.conflicts} of its own PUTs "
                f"refused with 409); revoca met {conflicts} 409s and retried each")
    assert conflicts >= 1, "the second writer never made revoca meet a 409"
    wait_converged(namespace, names)
    assert_consistent(namespace, admin, operator, names, tmp_path, ca_before, revoked=revoked,
                      extra_serials=by_revocactl)


def revocactl_json(cluster, ns, *args):
    from conftest import REVOCACTL, run
    return json.loads(run([REVOCACTL, "--kubeconfig", cluster.kubeconfig, "--namespace", ns, *args]).stdout)


def compact_etcd(cluster):
    """Compacts etcd at its current revision through its v3 HTTP gateway:
    every older resourceVersion is gone."""
    ports = dict(line.split("=", 1) for line in (cluster.workdir / "ports").read_text().split())
    base = f"http://127.0.0.1:{ports['ETCD_CLIENT_PORT']}"
    import urllib.request

    def post(path, body):
        request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    revision = int(post("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


def test_410_gone_after_a_compaction_means_a_relist(cluster, namespace, operators, tmp_path, proxy, admin, figures):
    operator = start_and_converge(cluster, namespace, operators, tmp_path, proxy)
    ca_before = ca_fingerprint(admin, namespace.name)
    names = []
    for round_ in range(ROUNDS):
        gone_before = log_count(operator, r"watch ended with 410")
        # revoca's watches are cut and it cannot reconnect while objects change and etcd compacts.
        proxy.refuse(True)
        proxy.cut_all()
        started = time.monotonic()
        for index in range(2):
            name = f"gone-{round_}-{index}"
            names.append(name)
            apply_quietly(namespace, vault_secret_of_its_own(name))
        revision = compact_etcd(cluster)
        # A restarted apiserver's watch cache starts after the compaction: older
        # resourceVersions are 410 Gone there too, not served from its memory.
        cluster.restart_apiserver()
        proxy.refuse(False)
        took = wait_converged(namespace, names)
        gone = log_count(operator, r"watch ended with 410") - gone_before
        figures.add(f"round {round_}: compacted at revision {revision}; {gone} watches ended 410 Gone, "
                    f"{log_count(operator, 'listed again')} relists so far; converged {took:.1f} s after the "
                    f"apiserver was back ({time.monotonic() - started:.1f} s after the cut)")
        assert gone >= 1, "no watch met 410 Gone"
    assert log_count(operator, "listed again") >= 1
    assert_consistent(namespace, admin, operator, names, tmp_path, ca_before)


def lease_path(ns):
    return f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/revoca-leader"


def micro_time():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def take_lease(api, ns, identity="intruder", duration=4):
    """Writes the Lease as `identity`'s, renewed now (retried on 409)."""
    for _ in range(20):
        status, lease = api.request("GET", lease_path(ns))
        assert status == 200, lease
        lease["spec"].update({"holderIdentity": identity, "renewTime": micro_time(),
                              "leaseDurationSeconds": duration})
        status, answer = api.request("PUT", lease_path(ns), lease)
        if status == 200:
            return
        assert status == 409, answer
    raise AssertionError("could not write the Lease")


def leader_gauge(operator):
    from conftest import http
    try:
        status, _, body = http("GET", operator.base + "/metrics", timeout=2)
    except OSError:
        return None
    match = re.search(rb"^revoca_leader (\d)", body, re.M)
    return int(match.group(1)) if status == 200 and match else None


def managed_versions(api, ns):
    status, listed = api.request("GET", secret_path(ns) + "?labelSelector=app.kubernetes.io/managed-by%3Drevoca")
    assert status == 200
    return {s["metadata"]["name"]: s["metadata"]["resourceVersion"] for s in listed["items"]}


def leader_baseline(namespace, admin):
    """What the Lease scenarios compare with: the CA state's digest, the CA
    certificate and server-cert's serial (for OCSP while not leading)."""
    return (ca_fingerprint(admin, namespace.name), namespace.secret_files("server-cert")["ca-cert.pem"],
            namespace.get("vaultsecret", "server-cert")["status"]["serial"].upper())


def test_a_lost_lease_stops_writing_and_is_taken_back(cluster, namespace, operators, tmp_path, proxy, admin,
                                                      figures):
    operator = start_and_converge(cluster, namespace, operators, tmp_path, proxy)  # lease 4 s, renew 3 s, retry 1 s
    ca_before, ca_pem, server_serial = leader_baseline(namespace, admin)
    names = []
    for round_ in range(ROUNDS):
        wait_for(lambda: leader_gauge(operator) == 1, timeout=30, what="revoca leads")
        taken = time.monotonic()
        take_lease(admin, namespace.name)
        wait_for(lambda: leader_gauge(operator) == 0, timeout=10, interval=0.1, what="revoca stops leading")
        stepped_down = time.monotonic() - taken
        before = managed_versions(admin, namespace.name)
        name = f"lease-{round_}"
        names.append(name)
        apply_quietly(namespace, vault_secret_of_its_own(name))
        # The intruder renews for 5 s: revoca must keep off, and keep answering OCSP.
        holding_until = time.monotonic() + 5
        while time.monotonic() < holding_until:
            take_lease(admin, namespace.name)
            assert ocsp_status(operator, namespace, tmp_path, ca_pem, server_serial) == "good"
            assert leader_gauge(operator) == 0, "revoca leads while another identity holds a valid Lease"
            time.sleep(0.7)
        assert managed_versions(admin, namespace.name) == before, "revoca wrote a Secret while not leading"
        assert not namespace.exists("secret", name)
        released = time.monotonic()
        wait_for(lambda: leader_gauge(operator) == 1, timeout=20, interval=0.1, what="revoca leads again")
        retaken = time.monotonic() - released
        took = wait_converged(namespace, names)
        figures.add(f"round {round_}: stopped leading {stepped_down:.1f} s after the Lease was taken; took it back "
                    f"{retaken:.1f} s after the last foreign renewal (Lease duration 4 s); converged {took:.1f} s "
                    f"later")
        assert stepped_down < 1 + 3, "revoca kept leading longer than a retry period after losing the Lease"
        assert namespace.get("lease", "revoca-leader")["spec"]["holderIdentity"] == operator.identity
    assert_consistent(namespace, admin, operator, names, tmp_path, ca_before)


def test_a_stalled_apiserver_stops_the_leader_within_its_renew_deadline(cluster, namespace, operators, tmp_path,
                                                                        proxy, admin, figures):
    """A partition that drops packets rather than refusing them: requests
    hang. Each renewal waits at most the renew deadline (3 s here), so the
    leader steps down then, before another replica may take the Lease (4 s);
    every other request gives up after its own deadline (30 s)."""
    operator = start_and_converge(cluster, namespace, operators, tmp_path, proxy)
    ca_before, ca_pem, server_serial = leader_baseline(namespace, admin)
    names = []
    for round_ in range(ROUNDS):
        wait_for(lambda: leader_gauge(operator) == 1, timeout=30, what="revoca leads")
        stalled = time.monotonic()
        proxy.stall(True)
        wait_for(lambda: leader_gauge(operator) == 0, timeout=60, interval=0.1, what="revoca stops leading")
        stepped_down = time.monotonic() - stalled
        assert ocsp_status(operator, namespace, tmp_path, ca_pem, server_serial) == "good"
        name = f"stall-{round_}"
        names.append(name)
        apply_quietly(namespace, vault_secret_of_its_own(name))  # straight to the apiserver, not through the proxy
        time.sleep(2)
        healed = time.monotonic()
        proxy.stall(False)
        took = wait_converged(namespace, names)
        figures.add(f"round {round_}: stopped leading {stepped_down:.1f} s into the stall (renew deadline 3 s); "
                    f"converged {took:.1f} s after it ended ({time.monotonic() - healed:.1f} s)")
        assert stepped_down < 3 + 1 + 3, "a leader cut off from the apiserver kept leading past its renew deadline"
    assert_consistent(namespace, admin, operator, names, tmp_path, ca_before)
