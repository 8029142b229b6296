"""Observability on a standalone instance: /metrics in Prometheus
text format with the series a platform team alerts on, JSON log lines that
name the object they are about (and never hold key material), and
`revocactl status KIND/NAME` on one screen with a live OCSP answer."""
import json
import re
import time

from conftest import REVOCACTL, http, run, sample, wait_for


def metrics(instance):
    status, headers, body = http("GET", instance.base + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return body.decode()


def metrics_when(instance, predicate, what):
    """The /metrics page, once `predicate(page)` holds."""
    def page():
        text = metrics(instance)
        return text if predicate(text) else None
    return wait_for(page, what=what)


def test_metrics_follow_prometheus_conventions_and_the_objects(standalone_factory):
    instance = standalone_factory(extra_args=["--log-format", "json"]).start()
    text = metrics_when(instance, lambda t: "revoca_object_ready{" in t, "object series")
    vs = dict(kind="VaultSecret", namespace="default", name="server-cert")
    assert sample(text, "revoca_object_ready", **vs) == 1
    status = instance.status("VaultSecret", "server-cert")
    expiry = sample(text, "revoca_certificate_expiration_timestamp_seconds", **vs)
    renewal = sample(text, "revoca_certificate_renewal_timestamp_seconds", **vs)
    assert expiry and renewal and renewal < expiry
    assert status["facts"]["notAfter"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))
    assert sample(text, "revoca_ca_version", namespace="default", ca="mqtt-ca") == 1
    assert sample(text, "revoca_crl_number", namespace="default", ca="mqtt-ca") >= 1
    assert sample(text, "revoca_reconcile_total", kind="VaultSecret", result="ready") >= 1
    assert sample(text, "revoca_workqueue_depth") is not None
    assert sample(text, "revoca_reconcile_pass_duration_seconds_count") >= 1
    # Every family has HELP and TYPE; counters end in _total, times in _seconds.
    families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    assert len(families) >= 13
    for name, kind in families:
        assert f"# HELP {name} " in text
        if kind == "counter":
            assert name.endswith("_total"), name
        if "duration" in name or "timestamp" in name:
            assert name.endswith("_seconds"), name

    # A revocation shows in the CA's series and in OCSP results by outcome.
    serial = status["facts"]["serial"]
    instance.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial)
    text = metrics_when(instance, lambda t: sample(t, "revoca_ca_revoked_certificates", namespace="default",
                                                   ca="mqtt-ca") == 1, "the revoked gauge")
    assert sample(text, "revoca_crl_number", namespace="default", ca="mqtt-ca") >= 2


def test_json_logs_name_their_object_and_hold_no_key(standalone_factory):
    instance = standalone_factory(extra_args=["--log-format", "json"]).start()
    wait_for(lambda: instance.status("VaultSecret", "server-cert"), what="a reconciled VaultSecret")
    instance.kill()
    lines = instance.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "msg"} <= set(r) for r in records)
    about = [r for r in records if r.get("kind") == "VaultSecret"]
    assert about and all(r["namespace"] == "default" and r["name"] == "server-cert" for r in about)
    key_pem = (instance.deployment_dir() / "cert.key").read_text()
    body = "".join(key_pem.splitlines()[1:-1])
    log = instance.log.read_text()
    assert "PRIVATE KEY" not in log and body[:40] not in log and body[-40:] not in log


def test_revocactl_status_shows_one_object_with_ocsp(standalone_factory):
    instance = standalone_factory().start()
    wait_for(lambda: instance.status("VaultSecret", "server-cert"), what="a reconciled VaultSecret")
    screen = run([REVOCACTL, "--state", instance.state, "status", "vs/server-cert"]).stdout
    serial = instance.status("VaultSecret", "server-cert")["facts"]["serial"]
    assert screen.startswith("VaultSecret default/server-cert\n")
    assert re.search(r"^Ready: +True", screen, re.M)
    assert re.search(rf"^  Serial: +{serial}$", screen, re.M)
    assert re.search(r"^  Renewal time: +\d{4}-", screen, re.M)
    assert re.search(r"^OCSP: +good$", screen, re.M), screen
    assert "PRIVATE KEY" not in screen

    instance.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial)
    described = json.loads(run([REVOCACTL, "--state", instance.state, "status", "vaultsecret/server-cert",
                                "--output", "json"]).stdout)
    # revoca replaces a revoked server certificate at its next pass, which may
    # come before this `status`: the screen then shows the successor.
    if described["certificate"]["serial"] == serial:
        assert described["ocsp"]["status"] == "revoked" and described["ocsp"]["reason"] == "keyCompromise"
        assert described["certificate"]["revocation"]["reason"] == "keyCompromise"
    else:
        assert described["ocsp"]["status"] == "good" and described["certificate"]["revocation"] is None
    successor = wait_for(lambda: (d := instance.status("VaultSecret", "server-cert")) and
                         d["facts"].get("serial") not in (None, serial) and d["facts"]["serial"],
                         what="a certificate replacing the revoked one")
    described = json.loads(run([REVOCACTL, "--state", instance.state, "status", "vaultsecret/server-cert",
                                "--output", "json"]).stdout)
    assert described["certificate"]["serial"] == successor and described["ocsp"]["status"] == "good"
    screen = run([REVOCACTL, "--state", instance.state, "status", "ca/mqtt-ca"]).stdout
    assert re.search(r"^crlNumber: +\d+$", screen, re.M)

    wrong = run([REVOCACTL, "--state", instance.state, "status", "secret/x"], check=False)
    assert wrong.returncode != 0 and wrong.stderr.count("\n") == 1 and "KIND/NAME" in wrong.stderr
    missing = run([REVOCACTL, "--state", instance.state, "status", "vs/nope"], check=False)
    assert missing.returncode != 0 and "no VaultSecret default/nope" in missing.stderr
