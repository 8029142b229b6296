"""Observability against the real apiserver: the operator's
/metrics (leader, Ready per object, certificate times, reconcile counts),
JSON logs naming namespace/name, and `revocactl --kubeconfig status
KIND/NAME` with the object's Events and a live OCSP answer."""
import json
import re

from kube_fixtures import cluster, namespace, operators  # noqa: F401 (fixtures)
from conftest import REVOCACTL, http, run

OBJECTS = ("certificateauthority/mqtt-ca", "vault/mqtt-vault", "vaultsecret/server-cert", "emqxdeployment/emqx")


def status_screen(cluster, ns, *args):
    return run([REVOCACTL, "--kubeconfig", cluster.kubeconfig, "--namespace", ns, "status", *args], check=False)


def test_operator_metrics_logs_and_status_screen(cluster, namespace, operators):
    operator = operators()
    operator.args += ["--log-format", "json"]
    operator.start()
    namespace.apply_examples(operator.port)
    namespace.wait_ready(*OBJECTS)

    text = http("GET", operator.base + "/metrics")[2].decode()
    assert "revoca_leader 1\n" in text
    labels = f'kind="VaultSecret",namespace="{namespace.name}",name="server-cert"'
    assert f"revoca_object_ready{{{labels}}} 1\n" in text
    assert re.search(rf"revoca_certificate_expiration_timestamp_seconds{{{re.escape(labels)}}} \d+\n", text)
    assert re.search(r'revoca_reconcile_total\{kind="EmqxDeployment",result="ready"\} \d+', text)

    serial = namespace.get("vaultsecret", "server-cert")["status"]["serial"]
    screen = status_screen(cluster, namespace.name, "vs/server-cert")
    assert screen.returncode == 0, screen.stderr
    assert screen.stdout.startswith(f"VaultSecret {namespace.name}/server-cert\n")
    assert re.search(r"^Ready: +True", screen.stdout, re.M)
    assert re.search(rf"^  Serial: +{serial}$", screen.stdout, re.M | re.I)
    assert re.search(r"^OCSP: +good$", screen.stdout, re.M), screen.stdout
    assert re.search(r"^Events:\n  \S+  Normal  Issued  ", screen.stdout, re.M), screen.stdout
    assert "PRIVATE KEY" not in screen.stdout

    ca = json.loads(status_screen(cluster, namespace.name, "ca/mqtt-ca", "--output", "json").stdout)
    assert ca["ready"] and ca["certificate"]["caVersion"] == 1 and "keyPem" not in json.dumps(ca)
    missing = status_screen(cluster, namespace.name, "vs/nope")
    assert missing.returncode != 0 and "does not exist" in missing.stderr and missing.stderr.count("\n") == 1

    operator.stop()
    records = [json.loads(line) for line in operator.log_text().splitlines() if line.startswith("{")]
    about = [r for r in records if r.get("kind") == "VaultSecret"]
    assert about and all(r["namespace"] == namespace.name and r["name"] == "server-cert" for r in about)
    assert "PRIVATE KEY" not in operator.log_text()


def test_one_operator_watches_a_list_of_namespaces(cluster, namespace, operators):
    from kube_fixtures import Namespace
    other = Namespace(cluster, namespace.name[:50] + "-b")
    cluster.kubectl("create", "namespace", other.name)
    operator = operators()
    operator.args[operator.args.index("--namespace") + 1] = f"{namespace.name},{other.name}"
    # The admin's kubeconfig: the fixture's ServiceAccount has a Role in the first namespace only.
    operator.args[operator.args.index("--kubeconfig") + 1] = str(cluster.kubeconfig)
    operator.start()
    for ns in (namespace, other):
        ns.apply_examples(operator.port)
    for ns in (namespace, other):
        ns.wait_ready(*OBJECTS)
    # Each namespace is its own tenant: its own CA key and UUID.
    assert namespace.secret_files("server-cert")["ca-cert.pem"] != other.secret_files("server-cert")["ca-cert.pem"]
    assert f"namespaces {namespace.name},{other.name}" in operator.log_text()
