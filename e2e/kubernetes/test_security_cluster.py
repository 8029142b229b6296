"""SECURITY.md's claims about `revoca run`, proven against the real apiserver.

- Private keys live in Secrets (Opaque, as designed) and nowhere else: not
  in ConfigMaps, the objects' status or annotations, Events, Deployments,
  the Lease, /metrics, `revocactl status` or revoca's log (debug level),
  after a rotation, a revocation and refused declarations too.
- The chart's RBAC: with watchNamespaces, no access to Secrets outside
  them; with the default (every namespace), the one cluster-wide grant on
  Secrets is the ClusterRole's, without delete or wildcards.
- TLS to the apiserver always verifies: a kubeconfig whose CA is not the
  apiserver's, one with insecure-skip-tls-verify, and one that reaches the
  apiserver by an address its certificate does not name are all refused,
  by `revoca run` at start (with an error naming the kubeconfig and its CA,
  and nothing written) and by every request (revocactl)."""
import base64
import json
import re
import socket
import subprocess
import threading
import time
from pathlib import Path


from kube_fixtures import CHART, cluster, helm, namespace, operators, revocactl  # noqa: F401 (fixtures)
from key_leaks import assert_no_key
from conftest import REVOCA, REVOCACTL, free_port, http, openssl, run, wait_for

OBJECTS = ("certificateauthority/mqtt-ca", "vault/mqtt-vault", "vaultsecret/server-cert", "emqxdeployment/emqx")
REVOCA_KINDS = "certificateauthorities,vaults,vaultsecrets,certificaterevocations,emqxdeployments"

ROTATING = """\
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: spin-ca}
spec:
  ttl: 12s
  renewThreshold: 8s
  crlDistUrls: ["http://127.0.0.1:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"]
  ocspResponderUrls: ["http://127.0.0.1:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"]
"""

BROKEN = """\
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: orphan}
spec:
  vault: mqtt-vault
  autoCert: {issuingCa: no-such-ca, host: orphan.example, certType: client, ttl: 1d, refreshThreshold: 1h}
"""

PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)


def keys_in(text):
    """The PEM private keys in TEXT, also inside JSON strings ("\\n" escaped)."""
    return PEM_KEY.findall(text.replace("\\n", "\n"))






def items(namespace, kinds):
    return json.loads(namespace.kubectl("get", kinds, "-o", "json").stdout)["items"]


def test_keys_live_in_secrets_only_and_never_leak(cluster, namespace, operators, tmp_path):
    operator = operators()
    operator.args += ["--log-format", "json"]
    operator.start()
    namespace.apply_examples(operator.port)
    namespace.apply_yaml(ROTATING.replace("127.0.0.1:4664", f"127.0.0.1:{operator.port}"))
    namespace.wait_ready(*OBJECTS, "certificateauthority/spin-ca")
    wait_for(lambda: namespace.get("certificateauthority", "spin-ca").get("status", {}).get("version", 0) >= 2,
             timeout=60, interval=0.5, what="spin-ca to rotate")

    # A revocation, and the error paths: refused admin requests, a broken declaration.
    issued = revocactl(cluster, namespace.name, "issue-cert", "--ca", "mqtt-ca", "--host", "c.example")
    revocactl(cluster, namespace.name, "revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", issued["serial"])
    for bad in (["revoke-cert", "--ca", "no-such-ca", issued["serial"]],
                ["issue-cert", "--ca", "mqtt-ca", "--host", "x", "--ttl", "forever"]):
        assert revocactl(cluster, namespace.name, *bad, check=False).returncode != 0
    namespace.apply_yaml(BROKEN)
    wait_for(lambda: (namespace.condition("vaultsecret", "orphan") or {}).get("status") == "False",
             timeout=30, interval=0.5, what="orphan refused")
    # Restart with text lines: a new leader reads every key back from its Secrets.
    operator.stop()
    operator.args.remove("--log-format")
    operator.args.remove("json")
    operator.start()
    time.sleep(4)

    # Which Secrets hold keys, and of which type.
    keys, holders = [issued["private-key"]], {}
    for secret in items(namespace, "secrets"):
        decoded = "".join(base64.b64decode(v).decode(errors="replace") for v in (secret.get("data") or {}).values())
        found = keys_in(decoded)
        if found:
            holders[secret["metadata"]["name"]] = secret.get("type")
            keys += found
    assert {"server-cert", "revoca-ca-mqtt-ca", "revoca-ca-spin-ca"} <= set(holders), holders
    assert all(kind in ("Opaque", "kubernetes.io/tls") for kind in holders.values()), holders
    assert all(name.startswith("revoca-") or name == "server-cert" for name in holders), holders
    assert len(keys) >= 5

    doors = {}
    # Everything of the namespace but Secrets' data: their metadata (annotations, labels) counts.
    for secret in items(namespace, "secrets"):
        doors[f"Secret {secret['metadata']['name']} metadata"] = json.dumps(secret["metadata"])
    for kinds in ("configmaps", "events", "deployments", "leases", REVOCA_KINDS):
        for item in items(namespace, kinds):
            doors[f"{item['kind']} {item['metadata']['name']}"] = json.dumps(item)
    assert any(name.startswith("Event ") for name in doors) and any(name.startswith("ConfigMap ") for name in doors)
    doors["/metrics"] = http("GET", operator.base + "/metrics")[2].decode()
    for name in ("ca/mqtt-ca", "ca/spin-ca", "vs/server-cert", "vs/orphan", "emqx/emqx"):
        for output in ("text", "json"):
            shown = run([REVOCACTL, "--kubeconfig", cluster.kubeconfig, "--namespace", namespace.name, "status", name,
                         "--output", output], check=False)
            doors[f"revocactl status {name} ({output})"] = shown.stdout + shown.stderr
    doors["revocactl status"] = json.dumps(revocactl(cluster, namespace.name, "status"))
    operator.stop()
    doors["log"] = operator.log_text()
    for where, text in doors.items():
        assert_no_key(where, text, keys)
    assert re.search(r'"level":"debug"', doors["log"]) and re.search(r"Z debug ", doors["log"]), "no debug lines"
    assert "no-such-ca" in json.dumps(doors), "the refusals were not looked at"


def rendered_rbac(cluster, *sets):
    """The chart's RBAC objects for these --set values, as JSON (kubectl reads helm's YAML)."""
    args = ["template", "revoca", CHART, "--namespace", "revoca-system", "--show-only", "templates/rbac.yaml"]
    for value in sets:
        args += ["--set", value]
    listed = cluster.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", input=helm(*args).stdout).stdout
    documents, at, decoder = [], 0, json.JSONDecoder()
    while listed[at:].strip():  # one JSON object per document, one after the other
        document, end = decoder.raw_decode(listed[at:].lstrip())
        at = len(listed) - len(listed[at:].lstrip()) + end
        documents += document["items"] if document.get("kind") == "List" else [document]
    return documents


def secret_rules(document):
    return [rule for rule in document.get("rules", [])
            if "" in rule.get("apiGroups", []) and ({"secrets", "*"} & set(rule.get("resources", [])))]


def test_chart_rbac_gives_no_cluster_wide_secret_access_with_watch_namespaces(cluster, namespace):
    scoped = rendered_rbac(cluster, "watchNamespaces={mqtt,iot}")
    for document in scoped:
        assert "*" not in json.dumps(document.get("rules", [])), document
        if document["kind"] == "ClusterRole":
            assert not secret_rules(document), f"ClusterRole {document['metadata']['name']} grants Secrets"
        for rule in secret_rules(document):
            assert "delete" not in rule["verbs"] and "deletecollection" not in rule["verbs"], rule
    roles = {doc["metadata"]["namespace"] for doc in scoped if doc["kind"] == "Role" and secret_rules(doc)}
    assert roles == {"mqtt", "iot"}
    # The default watches every namespace, so it must list and watch Secrets
    # everywhere (RBAC cannot filter by label): one ClusterRole, no delete.
    everywhere = [doc for doc in rendered_rbac(cluster) if doc["kind"] == "ClusterRole" and secret_rules(doc)]
    assert len(everywhere) == 1
    assert sorted(secret_rules(everywhere[0])[0]["verbs"]) == ["create", "get", "list", "patch", "update", "watch"]

    # Live: the chart's ServiceAccount for one namespace cannot read Secrets anywhere else.
    cluster.kubectl("apply", "-f", "-", input=helm("template", "revoca", CHART, "--namespace", namespace.name, "--set",
                                                   f"watchNamespaces={{{namespace.name}}}", "--show-only",
                                                   "templates/serviceaccount.yaml", "--show-only",
                                                   "templates/rbac.yaml").stdout)
    user = f"--as=system:serviceaccount:{namespace.name}:revoca"
    wait_for(lambda: cluster.kubectl("auth", "can-i", "list", "secrets", "-n", namespace.name, user,
                                     check=False).returncode == 0, timeout=20, what="the Role in force")
    for denied in (["list", "secrets", "--all-namespaces"], ["watch", "secrets", "--all-namespaces"],
                   ["get", "secrets", "-n", "kube-system"], ["delete", "secrets", "-n", namespace.name],
                   ["list", "configmaps", "-n", namespace.name]):
        assert cluster.kubectl("auth", "can-i", *denied, user, check=False).returncode != 0, denied


# --- TLS to the apiserver ------------------------------------------------------------------------

def kubeconfig(cluster, path, server=None, ca=None, insecure=None):
    """The admin's kubeconfig (e2e/cluster/start.sh writes it), with its cluster entry changed."""
    pki = cluster.workdir / "pki"
    entry = {"server": server or cluster.server, "certificate-authority": str(ca or pki / "ca.crt")}
    if insecure is not None:
        entry["insecure-skip-tls-verify"] = insecure
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
        "clusters": [{"name": "e2e", "cluster": entry}],
        "users": [{"name": "admin", "user": {"client-certificate": str(pki / "admin.crt"),
                                             "client-key": str(pki / "admin.key")}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}]}))
    path.chmod(0o600)
    return path


class Forwarder:
    """A TCP relay from 127.0.0.2:PORT to the apiserver: the same server, by
    an address its certificate does not name."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.2", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def revoca_run(path, namespace):
    return subprocess.run([str(REVOCA), "run", "--kubeconfig", str(path), "--namespace", namespace.name,
                           "--leader-election-namespace", namespace.name, "--listen", f"127.0.0.1:{free_port()}"],
                          capture_output=True, text=True, timeout=60)


def nothing_written(namespace):
    leases = items(namespace, "leases")
    secrets = [s for s in items(namespace, "secrets") if s["metadata"]["name"].startswith("revoca-")]
    return not leases and not secrets


def test_tls_to_the_apiserver_always_verifies(cluster, namespace, tmp_path):
    namespace.apply_examples(free_port())
    assert revocactl(cluster, namespace.name, "get-tenant-uuid")["uuid"] == namespace.uid()

    # A CA that did not sign the apiserver's certificate.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=other-ca",
            "-keyout", tmp_path / "other-ca.key", "-out", tmp_path / "other-ca.crt", "-days", "1")
    wrong_ca = kubeconfig(cluster, tmp_path / "wrong-ca.kubeconfig", ca=tmp_path / "other-ca.crt")
    # The apiserver by an address that is not in its certificate.
    port = int(cluster.server.rsplit(":", 1)[1])
    forwarder = Forwarder(port)
    ca_file = cluster.workdir / "pki" / "ca.crt"
    wrong_name = kubeconfig(cluster, tmp_path / "wrong-name.kubeconfig", server=f"https://127.0.0.2:{forwarder.port}",
                            ca=ca_file)
    try:
        for path, reason in ((wrong_ca, "unable to get local issuer certificate"),
                             (wrong_name, "IP address mismatch")):
            started = time.monotonic()
            result = revoca_run(path, namespace)
            assert result.returncode != 0, result
            message = result.stdout + result.stderr
            assert message.count("\n") == 1, message  # one line that says it all
            assert f"kubeconfig {path}" in message and "does not verify" in message, message
            assert reason in message, message
            assert str(tmp_path / "other-ca.crt" if path == wrong_ca else ca_file) in message, message
            assert time.monotonic() - started < 20
            assert nothing_written(namespace)
            # Each request verifies as well, not only revoca run's first look.
            refused = run([REVOCACTL, "--kubeconfig", path, "--namespace", namespace.name, "get-tenant-uuid"],
                          check=False)
            assert refused.returncode != 0 and "uuid" not in refused.stdout, refused
            assert "SSL handshake" in refused.stderr and f"check kubeconfig {path}" in refused.stderr, refused.stderr
            print(f"revoca run: {message.strip()}\nrevocactl: {refused.stderr.strip()}")
        # The same address with its real name works: the relay is not what failed.
        assert run([REVOCACTL, "--kubeconfig", kubeconfig(cluster, tmp_path / "relay-ok.kubeconfig",
                                                          server=f"https://127.0.0.1:{port}", ca=ca_file),
                    "--namespace", namespace.name, "get-tenant-uuid"]).returncode == 0
    finally:
        forwarder.close()

    for insecure_config in (kubeconfig(cluster, tmp_path / "insecure.kubeconfig", insecure=True),
                            kubeconfig(cluster, tmp_path / "insecure-no-ca.kubeconfig", insecure=True,
                                       ca=tmp_path / "other-ca.crt")):
        result = revoca_run(insecure_config, namespace)
        message = result.stdout + result.stderr
        assert result.returncode != 0 and "insecure-skip-tls-verify" in message, message
        assert f"kubeconfig {insecure_config}" in message, message
        refused = run([REVOCACTL, "--kubeconfig", insecure_config, "get-tenant-uuid"], check=False)
        assert refused.returncode != 0 and "insecure-skip-tls-verify" in refused.stderr, refused
    assert nothing_written(namespace)
