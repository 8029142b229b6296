"""End-to-end checks of `revoca run` with a kubeconfig against a real
kube-apiserver and etcd (e2e/cluster), on the examples of manifests/examples."""
import json
import re
import signal
import time

from kube_fixtures import cluster, namespace, operators, revocactl, vault_secret_of_its_own  # noqa: F401 (fixtures)
from conftest import http, openssl, wait_for
from emqx_rules import broken_emqx_rules

OBJECTS = ("certificateauthority/mqtt-ca", "vault/mqtt-vault", "vaultsecret/server-cert", "emqxdeployment/emqx")


def write_files(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def ocsp_status(operator, ns, tmp_path, serial):
    """Asks `operator`'s responder about SERIAL with openssl ocsp (POST)."""
    files = write_files(tmp_path, {"ca.pem": ns.secret_files("server-cert")["ca-cert.pem"]})
    result = openssl("ocsp", "-issuer", files / "ca.pem", "-serial", "0x" + serial,
                     "-url", f"{operator.base}/ocsp/{ns.uid()}/mqtt-ca", "-CAfile", files / "ca.pem",
                     "-timeout", "5", check=False)
    match = re.search(r"0x[0-9A-Fa-f]+: (\w+)", result.stdout)
    return match.group(1) if match else result.stdout + result.stderr


def crl_text(path):
    return openssl("crl", "-in", path, "-noout", "-text").stdout.replace(":", "").upper()


def crl_number(path):
    """The CRL number of the PEM CRL at PATH (openssl prints it in hex)."""
    return int(openssl("crl", "-in", path, "-noout", "-crlnumber").stdout.strip().split("=", 1)[1], 16)


def serial_of_pem(tmp_path, pem):
    path = tmp_path / "serial-cert.pem"
    path.write_text(pem)
    return openssl("x509", "-in", path, "-noout", "-serial").stdout.strip().split("=", 1)[1]


def converge(namespace, operator):
    namespace.apply_examples(operator.port)
    namespace.wait_ready(*OBJECTS)


def test_1_examples_converge_with_secret_status_and_columns(namespace, operators, tmp_path):
    operator = operators().start()
    converge(namespace, operator)

    files = namespace.secret_files("server-cert")
    assert set(files) >= {"cert.pem", "cert.key", "ca-cert.pem"}
    secret = namespace.get("secret", "server-cert")
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "revoca"
    assert secret["metadata"]["ownerReferences"][0]["kind"] == "VaultSecret"

    ca = namespace.get("certificateauthority", "mqtt-ca")
    assert ca["status"]["version"] == 1
    assert ca["status"]["crlNumber"] >= 1
    assert ca["status"]["observedGeneration"] == ca["metadata"]["generation"]
    vs = namespace.get("vaultsecret", "server-cert")
    serial = serial_of_pem(tmp_path, files["cert.pem"])
    assert vs["status"]["serial"].upper() == serial.upper()
    vault = namespace.get("vault", "mqtt-vault")
    assert vault["status"]["deployments"] == len(vault["spec"]["distribute"]["deployments"]) == 1, vault["status"]
    # NAME READY DEPLOYMENTS AGE
    assert namespace.kubectl("get", "vault", "mqtt-vault", "--no-headers").stdout.split()[2] == "1"

    table = namespace.kubectl("get", "ca,vs,crev,emqx").stdout
    for column in ("READY", "VERSION", "SERIAL", "EXPIRES"):
        assert column in table, table
    assert ocsp_status(operator, namespace, tmp_path, serial) == "good"

    env = namespace.get("configmap", "emqx-emqx-env")["data"]
    assert broken_emqx_rules(env) == []
    assert env["EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL"].endswith(f'/ocsp/{namespace.uid()}/mqtt-ca/"')
    deployment = namespace.get("deployment", "emqx")
    template = deployment["spec"]["template"]
    # Rotation policy reload (the default): the environment's hash, not the certificate's.
    assert "revoca.io/env-hash" in template["metadata"]["annotations"]
    assert "revoca.io/certificate-hash" not in template["metadata"]["annotations"]
    volumes = [v for v in template["spec"]["volumes"] if v.get("secret", {}).get("secretName") == "server-cert"]
    assert volumes, template
    # The owner and mode the mounted key gets: root's, in the pod's fsGroup, 0440.
    emqx_status = namespace.get("emqxdeployment", "emqx")["status"]
    assert (emqx_status["fileOwner"], emqx_status["fileMode"]) == (f'0:{template["spec"]["securityContext"]["fsGroup"]}',
                                                                   "0440"), emqx_status
    assert volumes[0]["secret"]["defaultMode"] == 0o440
    assert ca["status"]["crlUrl"] == f"http://127.0.0.1:{operator.port}/crl-pem/{namespace.name}/mqtt-ca/1"

    # An output someone deletes comes back at the next resync (3 s here), with the same certificate.
    namespace.kubectl("delete", "secret", "server-cert")
    wait_for(lambda: namespace.exists("secret", "server-cert"), timeout=15, interval=0.5, what="the Secret back")
    assert namespace.secret_files("server-cert")["cert.pem"] == files["cert.pem"]


def test_2_bad_fields_are_refused_or_reported_and_nothing_issued_is_touched(namespace, operators, tmp_path):
    operator = operators().start()
    converge(namespace, operator)
    before = namespace.secret_files("server-cert")

    refused = namespace.apply_yaml("""
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: server-cert}
spec:
  vault: mqtt-vault
  autoCert: {issuingCa: mqtt-ca, host: mqtt.emqx.internal, ttl: 30 days}
""", check=False)
    assert refused.returncode != 0
    assert "spec.autoCert.ttl" in refused.stderr

    # Valid for the schema, wrong for revoca: the refresh threshold exceeds the ttl.
    namespace.apply_yaml("""
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: server-cert}
spec:
  vault: mqtt-vault
  autoCert: {issuingCa: mqtt-ca, host: mqtt.emqx.internal, ttl: 1d, refreshThreshold: 2d}
""")
    wait_for(lambda: (namespace.condition("vaultsecret", "server-cert") or {}).get("status") == "False",
             timeout=20, what="VaultSecret marked not Ready")
    condition = namespace.condition("vaultsecret", "server-cert")
    assert condition["reason"] == "InvalidSpec"
    assert "refreshThreshold" in condition["message"]
    assert namespace.secret_files("server-cert") == before


def test_3_a_revocation_reaches_ocsp_and_crl_within_two_seconds(cluster, namespace, operators, tmp_path):
    operator = operators().start()
    converge(namespace, operator)
    serial = serial_of_pem(tmp_path, namespace.secret_files("server-cert")["cert.pem"])
    assert ocsp_status(operator, namespace, tmp_path, serial) == "good"

    started = time.monotonic()
    namespace.apply_yaml(f"""
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: server-cert-compromised}}
spec: {{ca: mqtt-ca, serial: "{serial}", reason: keyCompromise}}
""")
    wait_for(lambda: ocsp_status(operator, namespace, tmp_path, serial) == "revoked", timeout=10,
             interval=0.1, what="OCSP revoked")
    elapsed = time.monotonic() - started

    def crl_lists_serial():
        status, _, body = http("GET", f"{operator.base}/crl-pem/{namespace.name}/mqtt-ca/1")
        if status != 200:
            return False
        (tmp_path / "crl.pem").write_bytes(body)
        text = openssl("crl", "-in", tmp_path / "crl.pem", "-noout", "-text").stdout
        return serial.upper() in text.replace(":", "").upper()

    wait_for(crl_lists_serial, timeout=5, what="CRL lists the serial")
    assert elapsed < 2.0 + 1.0, f"OCSP said revoked after {elapsed:.2f}s"  # kubectl's own start-up included
    namespace.wait_ready("certificaterevocation/server-cert-compromised")
    first_number = namespace.get("certificaterevocation", "server-cert-compromised")["status"]["crlNumber"]
    assert first_number == crl_number(tmp_path / "crl.pem")

    # status.crlNumber is the first CRL that listed the serial: a second
    # revocation re-signs the CRL, and the first object, reconciled again
    # (a label is enough), keeps its number.
    second = revocactl(cluster, namespace.name, "issue-cert", "--ca", "mqtt-ca", "--host", "client-2",
                       "--ttl", "1d", "--cert-type", "client")["serial"]
    wait_for(lambda: ocsp_status(operator, namespace, tmp_path, second) == "good", timeout=15, interval=0.5,
             what="the leader to read the serial revocactl issued")
    namespace.apply_yaml(f"""
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: client-2-superseded}}
spec: {{ca: mqtt-ca, serial: "{second}", reason: superseded}}
""")
    namespace.wait_ready("certificaterevocation/client-2-superseded")
    wait_for(lambda: "crlNumber" in namespace.get("certificaterevocation", "client-2-superseded")["status"],
             timeout=10, what="the second revocation's crlNumber")
    second_number = namespace.get("certificaterevocation", "client-2-superseded")["status"]["crlNumber"]
    namespace.kubectl("label", "certificaterevocation", "server-cert-compromised", "e2e.revoca.io/touched=yes")
    time.sleep(2)
    assert namespace.get("certificaterevocation", "server-cert-compromised")["status"]["crlNumber"] == first_number
    assert first_number < second_number
    wait_for(lambda: crl_lists_serial() and second.upper() in crl_text(tmp_path / "crl.pem"), timeout=5,
             what="the CRL to list both serials")
    assert crl_number(tmp_path / "crl.pem") >= second_number

    # An HTTP cache in between keeps the CRL for spec.crl.cacheMaxAge, not until
    # nextUpdate; the field passes the apiserver's schema and reaches the responder.
    def crl_max_age():
        headers = http("GET", f"{operator.base}/crl/{namespace.name}/mqtt-ca/1")[1]
        return int(re.fullmatch(r"public, max-age=(\d+)", headers["Cache-Control"]).group(1))

    assert 0 < crl_max_age() <= 300
    namespace.kubectl("patch", "ca", "mqtt-ca", "--type=merge", "-p", '{"spec": {"crl": {"cacheMaxAge": "1m"}}}')
    wait_for(lambda: crl_max_age() <= 60, timeout=10, what="max-age to follow spec.crl.cacheMaxAge")


def test_4_restarts_of_revoca_apiserver_and_etcd_issue_nothing_twice(cluster, namespace, operators, tmp_path):
    operator = operators().start()
    converge(namespace, operator)
    first = namespace.secret_files("server-cert")["cert.pem"]

    operator.stop(signal.SIGKILL)
    operator.start()
    time.sleep(3)  # a restarted revoca that wanted to re-issue would have done it by now
    assert namespace.secret_files("server-cert")["cert.pem"] == first

    cluster.restart_apiserver()
    namespace.apply_yaml(vault_secret_of_its_own("after-apiserver"))
    namespace.wait_ready("vaultsecret/after-apiserver", timeout=60)

    cluster.restart_etcd(kill=True)
    namespace.apply_yaml(vault_secret_of_its_own("after-etcd"))
    namespace.wait_ready("vaultsecret/after-etcd", timeout=90)

    assert namespace.secret_files("server-cert")["cert.pem"] == first
    ca = namespace.get("certificateauthority", "mqtt-ca")
    assert ca["status"]["version"] == 1


def test_5_two_replicas_one_leader_takes_over_and_both_answer_ocsp(namespace, operators, tmp_path):
    first = operators("revoca-a").start()
    converge(namespace, first)
    second = operators("revoca-b").start()
    serial = serial_of_pem(tmp_path, namespace.secret_files("server-cert")["cert.pem"])
    assert ocsp_status(first, namespace, tmp_path, serial) == "good"
    wait_for(lambda: ocsp_status(second, namespace, tmp_path, serial) == "good", timeout=15,
             what="the follower answers OCSP")
    lease = namespace.get("lease", "revoca-leader")
    assert lease["spec"]["holderIdentity"] == "revoca-a"

    first.stop(signal.SIGKILL)  # no release: the follower waits out the lease (4 s here)
    killed = time.monotonic()
    wait_for(lambda: namespace.get("lease", "revoca-leader")["spec"].get("holderIdentity") == "revoca-b",
             timeout=15, interval=0.2, what="revoca-b takes the Lease")
    assert time.monotonic() - killed < 4 + 3
    namespace.apply_yaml(vault_secret_of_its_own("after-failover"))
    namespace.wait_ready("vaultsecret/after-failover", timeout=30)
    assert ocsp_status(second, namespace, tmp_path, serial) == "good"


def test_5b_two_replicas_serve_one_content_under_one_crl_number(cluster, namespace, operators, tmp_path):
    """RFC 5280 5.2.3: a CRL number names one list. The follower reads the
    leader's revocations on its own, a little later: whatever either serves
    under a number, the other serves the same entries, times and extensions
    under it (only the ECDSA signature may differ)."""
    import threading
    from cryptography import x509

    leader = operators("revoca-a").start()
    converge(namespace, leader)
    follower = operators("revoca-b").start()
    serials = [revocactl(cluster, namespace.name, "issue-cert", "--ca", "mqtt-ca", "--host", f"client-{n}",
                         "--ttl", "1d", "--cert-type", "client")["serial"] for n in range(3)]
    for serial in serials:
        wait_for(lambda: ocsp_status(follower, namespace, tmp_path, serial) == "good", timeout=15, interval=0.2,
                 what="the follower knows the serial")

    seen = {}  # CRL number -> {replica: the CRL without its signature}
    done = threading.Event()

    def poll():
        while not done.is_set():
            for name, replica in (("leader", leader), ("follower", follower)):
                status, _, body = http("GET", f"{replica.base}/crl/{namespace.name}/mqtt-ca/1")
                if status == 200:
                    crl = x509.load_der_x509_crl(body)
                    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
                    seen.setdefault(number, {}).setdefault(name, set()).add(crl.tbs_certlist_bytes)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for n, serial in enumerate(serials):
            namespace.apply_yaml(f"""
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: revoked-{n}}}
spec: {{ca: mqtt-ca, serial: "{serial}", reason: keyCompromise}}
""")
            time.sleep(0.3)
        namespace.wait_ready(*[f"certificaterevocation/revoked-{n}" for n in range(3)])

        def follower_lists_all():
            status, _, body = http("GET", f"{follower.base}/crl/{namespace.name}/mqtt-ca/1")
            return status == 200 and len(list(x509.load_der_x509_crl(body))) == 3
        wait_for(follower_lists_all, timeout=15, interval=0.2, what="the follower serves the last list")
        time.sleep(0.5)
    finally:
        done.set()
        poller.join()

    both = {number: by for number, by in seen.items() if len(by) == 2}
    assert both, f"no CRL number was seen on both replicas: {sorted(seen)}"
    for number, by in both.items():
        contents = by["leader"] | by["follower"]
        assert len(contents) == 1, f"CRL number {number} names {len(contents)} different lists"
    numbers = sorted(seen)
    assert len(numbers) >= 2, "the revocations made new CRL numbers"
    assert len(seen[numbers[-1]]) == 2, "the follower serves the leader's last CRL number"


def test_6_rotation_changes_the_secret_in_place_and_the_pods_stay(namespace, operators, tmp_path):
    operator = operators().start()
    converge(namespace, operator)
    quick = (namespace.get("vaultsecret", "server-cert"))
    # Brokers that reload within 2 s and refresh their staple as often: a 6 s
    # refreshThreshold leaves them room (the defaults, 5m and 5m, would refuse it).
    namespace.kubectl("patch", "emqxdeployment", "emqx", "--type=merge", "-p",
                      '{"spec": {"rotation": {"reloadWithin": "2s"}, "ocspStapling": {"refreshInterval": "2s"}}}')
    namespace.apply_yaml("""
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: server-cert}
spec:
  vault: mqtt-vault
  autoCert: {issuingCa: mqtt-ca, host: mqtt.emqx.internal, certType: server, ttl: 12s, refreshThreshold: 6s}
  fileOwnership: "1000:1000"
  fileMode: "0400"
""")
    def template():
        deployment = namespace.get("deployment", "emqx")
        return deployment["metadata"]["generation"], deployment["spec"]["template"]
    wait_for(lambda: namespace.get("vaultsecret", "server-cert")["status"].get("observedGeneration")
             == namespace.get("vaultsecret", "server-cert")["metadata"]["generation"], timeout=20,
             what="the new spec observed")
    def rendered():
        emqx = namespace.get("emqxdeployment", "emqx")
        ready = next((c for c in emqx["status"].get("conditions", []) if c["type"] == "Ready"), {})
        return ready.get("reason") == "Rendered" and ready.get("observedGeneration") == emqx["metadata"]["generation"]
    wait_for(rendered, timeout=20, what="the EmqxDeployment rendered with its new rotation timing")
    serial = namespace.get("vaultsecret", "server-cert")["status"]["serial"]
    template_before = template()
    cert_before = namespace.secret_files("server-cert")["cert.pem"]
    wait_for(lambda: namespace.get("vaultsecret", "server-cert")["status"]["serial"] != serial, timeout=30,
             interval=0.5, what="a renewal")
    wait_for(lambda: namespace.secret_files("server-cert")["cert.pem"] != cert_before, timeout=10,
             what="the Secret updated in place")
    assert namespace.get("emqxdeployment", "emqx")["status"]["rotation"] == "reload"
    # The pods read the new files (kubelet updates the volume): their template, unchanged, rolls nothing.
    assert template() == template_before

    # rotation.policy restart: every certificate rolls the pods.
    emqx = namespace.get("emqxdeployment", "emqx")
    namespace.kubectl("patch", "emqxdeployment", "emqx", "--type=merge", "-p",
                      '{"spec": {"rotation": {"policy": "restart"}}}')
    def certificate_hash():
        return template()[1]["metadata"].get("annotations", {}).get("revoca.io/certificate-hash")
    wait_for(certificate_hash, timeout=20, what="the certificate's hash on the pod template")
    first = certificate_hash()
    wait_for(lambda: certificate_hash() not in (None, first), timeout=30, interval=0.5,
             what="the next renewal rolling the pods")
    assert emqx["metadata"]["uid"] == namespace.get("emqxdeployment", "emqx")["metadata"]["uid"]
    assert quick["metadata"]["uid"] == namespace.get("vaultsecret", "server-cert")["metadata"]["uid"]
    events = namespace.kubectl("get", "events", "--field-selector", "involvedObject.name=server-cert").stdout
    assert "Renewed" in events or "Issued" in events


def test_7_revocactl_against_the_cluster(cluster, namespace, operators, tmp_path):
    operator = operators().start()
    converge(namespace, operator)
    assert revocactl(cluster, namespace.name, "get-tenant-uuid")["uuid"] == namespace.uid()

    issued = revocactl(cluster, namespace.name, "issue-cert", "--ca", "mqtt-ca", "--host", "client-1",
                       "--ttl", "1d", "--cert-type", "client")
    assert "BEGIN CERTIFICATE" in issued["cert"] and "PRIVATE KEY" in issued["private-key"]
    serial = issued["serial"]
    # The leader reads the ledger revocactl appended to within seconds.
    wait_for(lambda: ocsp_status(operator, namespace, tmp_path, serial) == "good", timeout=15, interval=0.5,
             what="OCSP knows the serial revocactl issued")

    revoked = revocactl(cluster, namespace.name, "revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial)
    assert revoked["revoked"] is True
    assert ocsp_status(operator, namespace, tmp_path, serial) == "revoked"
    crl = revocactl(cluster, namespace.name, "get-crl", "--ca", "mqtt-ca")["crl"]
    (tmp_path / "crl.pem").write_text(crl)
    assert serial.upper() in openssl("crl", "-in", tmp_path / "crl.pem", "-noout", "-text").stdout.replace(":", "").upper()
    ca = revocactl(cluster, namespace.name, "get-ca-cert", "--ca", "mqtt-ca")
    assert ca["cert"] in namespace.secret_files("server-cert")["ca-cert.pem"]

    missing = revocactl(cluster, namespace.name, "get-ca-cert", "--ca", "no-such-ca", check=False)
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1 and "no-such-ca" in missing.stderr


def test_8_sigterm_drains_the_responder_while_readyz_fails_and_the_lease_passes_on(namespace, operators, tmp_path):
    """A pod told to stop keeps answering until the Service has dropped it:
    /readyz fails at once, OCSP, CRLs and /healthz answer for --shutdown-delay,
    and the Lease passes to another replica meanwhile."""
    delay = 3
    leader = operators("revoca-a", shutdown_delay=delay).start()
    converge(namespace, leader)
    follower = operators("revoca-b").start()
    files = namespace.secret_files("server-cert")
    serial = serial_of_pem(tmp_path, files["cert.pem"])
    ca = write_files(tmp_path, {"drain-ca.pem": files["ca-cert.pem"]}) / "drain-ca.pem"
    ocsp_url = f"{leader.base}/ocsp/{namespace.uid()}/mqtt-ca"

    def leader_ocsp():
        # The CA and URL read beforehand: the drain leaves no time for kubectl.
        result = openssl("ocsp", "-issuer", ca, "-serial", "0x" + serial, "-url", ocsp_url, "-CAfile", ca,
                         "-timeout", "2", check=False)
        match = re.search(r"0x[0-9A-Fa-f]+: (\w+)", result.stdout)
        return match.group(1) if match else result.stdout + result.stderr

    assert leader_ocsp() == "good"
    assert http("GET", leader.base + "/readyz")[0] == 200
    assert namespace.get("lease", "revoca-leader")["spec"]["holderIdentity"] == "revoca-a"

    leader.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    wait_for(lambda: http("GET", leader.base + "/readyz", timeout=1)[0] == 503, timeout=2,
             what="/readyz answers 503 after SIGTERM")
    assert http("GET", leader.base + "/readyz")[2] == b"not ready: stopping"
    # Still draining: every route a broker or device uses answers.
    assert http("GET", leader.base + "/healthz")[0] == 200
    status, headers, _ = http("GET", f"{leader.base}/crl/{namespace.name}/mqtt-ca/1")
    assert status == 200 and headers.get("Connection") == "close"
    assert leader_ocsp() == "good"
    # The Lease is released at the signal, not at the exit: the follower leads while this one drains.
    wait_for(lambda: namespace.get("lease", "revoca-leader")["spec"].get("holderIdentity") == "revoca-b",
             timeout=delay, interval=0.2, what="revoca-b takes the Lease during the drain")
    assert leader.process.poll() is None, "revoca stopped before its drain was over"

    assert leader.process.wait(timeout=delay + 10) == 0
    assert time.monotonic() - signalled >= delay - 0.5
    try:
        http("GET", leader.base + "/healthz", timeout=1)
        raise AssertionError("the responder still answers after the drain")
    except OSError:
        pass
    log = leader.log_text()
    assert "draining" in log and "drain over" in log
    assert ocsp_status(follower, namespace, tmp_path, serial) == "good"


def test_9_a_second_sigterm_stops_at_once(namespace, operators):
    operator = operators("revoca-a", shutdown_delay=60).start()
    operator.process.send_signal(signal.SIGTERM)
    wait_for(lambda: http("GET", operator.base + "/readyz", timeout=1)[0] == 503, timeout=2,
             what="/readyz answers 503 after SIGTERM")
    assert http("GET", operator.base + "/healthz")[0] == 200
    operator.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert operator.process.wait(timeout=10) == 0
    assert time.monotonic() - signalled < 5
