"""The per-kind controllers of `revoca run` against a real kube-apiserver and
etcd: an object comes back at its renewal time with nothing changed in it,
a change to what it names queues it, a failure is retried with backoff, and
a follower that takes the Lease while keys are queued finishes them, issuing
nothing twice. Each operator runs with a resync period of an hour, so that
nothing here is done by a resync."""
import base64
import json
import signal
import threading
import time

from kube_fixtures import cluster, namespace, operators, vault_secret_of_its_own  # noqa: F401 (fixtures)
from conftest import http, sample, wait_for

CA = """
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: %s}
spec: {ttl: 365d, certKeyType: ecdsa, certKeyCurve: secp256r1}
"""


def without_resync(operator):
    """`operator`, its periodic resync an hour away."""
    operator.args[operator.args.index("--resync-period") + 1] = "3600"
    return operator


def metrics(operator):
    status, _headers, body = http("GET", operator.base + "/metrics")
    assert status == 200
    return body.decode()


def serial(namespace, name):
    return namespace.get("vaultsecret", name).get("status", {}).get("serial")


def ledger_serials(namespace):
    """Every serial the namespace's CAs recorded (the ledgers in their state Secrets)."""
    listed = json.loads(namespace.kubectl("get", "secrets", "-l", "revoca.io/state=ledger", "-o", "json").stdout)
    serials = []
    for secret in listed["items"]:
        text = base64.b64decode(secret.get("data", {}).get("entries", "")).decode()
        serials += [line.split(" ", 1)[0].upper() for line in text.splitlines() if line]
    return serials


def test_a_certificate_is_renewed_at_its_renewal_time_with_nothing_changed_in_it(namespace, operators):
    operator = without_resync(operators()).start()
    namespace.apply_yaml(CA % "mqtt-ca")
    namespace.apply_yaml(vault_secret_of_its_own("short").replace("ttl: 30d, refreshThreshold: 15d",
                                                                  "ttl: 12s, refreshThreshold: 6s"))
    namespace.wait_ready("vaultsecret/short")
    first = serial(namespace, "short")
    generation = namespace.get("vaultsecret", "short")["metadata"]["generation"]
    # Renewed 6 s after issue: queued again for then by its own reconcile.
    second = wait_for(lambda: serial(namespace, "short") not in (None, first) and serial(namespace, "short"),
                      timeout=15, what="the renewal")
    wait_for(lambda: serial(namespace, "short") not in (None, first, second), timeout=15, what="the next renewal")
    assert namespace.get("vaultsecret", "short")["metadata"]["generation"] == generation
    assert sample(metrics(operator), "workqueue_adds_total", name="vaultsecret") >= 3


def test_a_vault_secret_waiting_for_its_ca_is_queued_when_the_ca_comes(namespace, operators):
    without_resync(operators()).start()
    namespace.apply_yaml(vault_secret_of_its_own("early").replace("issuingCa: mqtt-ca", "issuingCa: late-ca"))
    wait_for(lambda: (namespace.condition("vaultsecret", "early") or {}).get("reason") == "IssuerNotReady",
             what="IssuerNotReady")
    namespace.apply_yaml(CA % "late-ca")
    # The CA's reconcile queues the VaultSecrets that name it: no resync, no change to the VaultSecret.
    namespace.wait_ready("certificateauthority/late-ca", "vaultsecret/early", timeout=15)


def test_a_failure_is_retried_with_backoff_until_it_clears(namespace, operators):
    operator = without_resync(operators()).start()
    namespace.apply_yaml(CA % "mqtt-ca")
    namespace.wait_ready("certificateauthority/mqtt-ca")
    # A Secret of the VaultSecret's name that revoca does not manage: publishing is refused.
    namespace.kubectl("create", "secret", "generic", "taken", "--from-literal=someone=else")
    namespace.apply_yaml(vault_secret_of_its_own("taken"))
    wait_for(lambda: (namespace.condition("vaultsecret", "taken") or {}).get("reason") == "PublishFailed",
             what="PublishFailed")
    retries = wait_for(lambda: (sample(metrics(operator), "workqueue_retries_total", name="vaultsecret") or 0) >= 2
                       and sample(metrics(operator), "workqueue_retries_total", name="vaultsecret"),
                       timeout=15, what="retries")
    # Backoff doubles from half a second: a few retries in a few seconds, not one per pass.
    time.sleep(3)
    assert sample(metrics(operator), "workqueue_retries_total", name="vaultsecret") - retries < 6
    namespace.kubectl("delete", "secret", "taken")
    namespace.wait_ready("vaultsecret/taken", timeout=45)
    assert len(ledger_serials(namespace)) == 1  # issued once, published when it could be


def test_a_follower_that_takes_the_lease_mid_queue_finishes_it_and_issues_nothing_twice(namespace, operators):
    first = without_resync(operators("revoca-a")).start()
    namespace.apply_yaml(CA % "mqtt-ca")
    namespace.wait_ready("certificateauthority/mqtt-ca")
    second = without_resync(operators("revoca-b")).start()
    names = [f"burst-{i}" for i in range(100)]
    # Applied meanwhile: kubectl creates them one by one, and each is issued as it arrives.
    applying = threading.Thread(
        target=namespace.apply_yaml, args=("---".join(vault_secret_of_its_own(name) for name in names),))
    applying.start()
    # Killed once some are reconciled and before all are.
    wait_for(lambda: (sample(metrics(first), "workqueue_work_duration_seconds_count", name="vaultsecret") or 0) >= 10,
             interval=0.01, what="the first keys reconciled")
    first.stop(signal.SIGKILL)
    applying.join()
    listed = json.loads(namespace.kubectl("get", "vaultsecrets", "-o", "json").stdout)["items"]
    ready_at_kill = sum(1 for item in listed for c in item.get("status", {}).get("conditions", [])
                        if c["type"] == "Ready" and c["status"] == "True")
    assert ready_at_kill < len(names), "the first leader finished before it was killed"
    print(f"{ready_at_kill} of {len(names)} VaultSecrets Ready when the leader was killed")
    wait_for(lambda: namespace.get("lease", "revoca-leader")["spec"].get("holderIdentity") == "revoca-b",
             timeout=15, interval=0.2, what="revoca-b takes the Lease")
    namespace.kubectl("wait", "--for=condition=Ready", "vaultsecrets", "--all", "--timeout=90s", timeout=100)
    serials = ledger_serials(namespace)
    assert len(serials) == len(set(serials))
    current = {serial(namespace, name).upper() for name in names}
    assert len(current) == len(names)
    # What the first leader issued and did not get to publish may stay in the
    # ledger unused; every VaultSecret's certificate is one of the ledger's.
    assert current <= set(serials)
    assert len(serials) <= len(names) + 8  # at most one in flight per worker of the killed leader
    assert sample(metrics(second), "workqueue_depth", name="vaultsecret") == 0
