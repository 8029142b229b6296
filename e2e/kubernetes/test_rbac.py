"""RBAC proven, not assumed. revoca runs out of the cluster
with a token of the chart's ServiceAccount and only the chart's RBAC (as
`helm install` would create it, scoped to the test's namespace) against the
apiserver with RBAC authorization on; the examples converge. A permission
taken away makes revoca say which verb on which resource to grant, and
giving it back converges again."""
import json
import re

from kube_fixtures import as_chart_service_account, chart_rbac, cluster, namespace, operators  # noqa: F401
from conftest import run, wait_for
from test_operator import OBJECTS, converge, ocsp_status, serial_of_pem


def as_service_account(cluster, kubeconfig, *args, check=True):
    return run([cluster.kubectl_binary, "--kubeconfig", kubeconfig, *args], check=check)


def test_1_examples_converge_as_the_chart_service_account(cluster, namespace, operators, tmp_path):
    kubeconfig = as_chart_service_account(cluster, namespace.name, tmp_path)
    # The token is the ServiceAccount's and has no admin rights.
    whoami = json.loads(as_service_account(cluster, kubeconfig, "auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace.name}:revoca"
    denied = as_service_account(cluster, kubeconfig, "get", "pods", "-n", namespace.name, check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    denied = as_service_account(cluster, kubeconfig, "get", "secrets", "-n", "default", check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()

    operator = operators(kubeconfig=kubeconfig).start()
    converge(namespace, operator)
    serial = serial_of_pem(tmp_path, namespace.secret_files("server-cert")["cert.pem"])
    assert ocsp_status(operator, namespace, tmp_path, serial) == "good"
    assert namespace.get("lease", "revoca-leader")["spec"]["holderIdentity"] == "revoca-0"
    assert namespace.get("configmap", "emqx-emqx-env")
    # No refusal at all (the fixture waits until the RBAC is in force).
    assert not re.search(r"may not|forbidden", operator.log_text(), re.I), operator.log_text()


def role_without(cluster, namespace, resource, verbs):
    """Takes VERBS on RESOURCE out of the chart's Role in NAMESPACE."""
    name = f"revoca:{namespace.name}:revoca"
    role = namespace.get("role", name)
    for rule in role["rules"]:
        if resource in rule["resources"]:
            rule["verbs"] = [verb for verb in rule["verbs"] if verb not in verbs]
    namespace.kubectl("replace", "-f", "-", input=json.dumps(role))
    return name


def ready_false_message(namespace, kind, name):
    condition = namespace.condition(kind, name) or {}
    return condition.get("message") if condition.get("status") == "False" else None


def test_2_without_patch_on_secrets_the_vault_secret_says_what_to_grant(cluster, namespace, operators, tmp_path):
    kubeconfig = as_chart_service_account(cluster, namespace.name, tmp_path)
    role = role_without(cluster, namespace, "secrets", {"patch"})
    operator = operators(kubeconfig=kubeconfig).start()
    namespace.apply_examples(operator.port)
    # The CA's keys are state Secrets (create and update): it still gets Ready.
    namespace.wait_ready("certificateauthority/mqtt-ca")
    # The certificate's Secret is server-side applied (patch): refused.
    message = wait_for(lambda: ready_false_message(namespace, "vaultsecret", "server-cert"), timeout=30,
                       interval=0.5, what="VaultSecret Ready=False")
    print(f"VaultSecret message: {message}")
    assert re.search(r"may not patch( and create)? secrets in namespace " + re.escape(namespace.name), message), message
    assert "grant it patch" in message and "Role or ClusterRole" in message, message
    assert not namespace.exists("secret", "server-cert")
    events = namespace.kubectl("get", "events", "--field-selector", "involvedObject.name=server-cert").stdout
    print(f"events:\n{events}")

    # Granting it back (the chart's Role as it is) is the fix: it converges.
    cluster.kubectl("apply", "-f", "-", input=chart_rbac(namespace.name))
    assert role in namespace.kubectl("get", "roles", "-o", "name").stdout
    namespace.wait_ready(*OBJECTS, timeout=60)
    serial = serial_of_pem(tmp_path, namespace.secret_files("server-cert")["cert.pem"])
    assert ocsp_status(operator, namespace, tmp_path, serial) == "good"


def test_3_without_get_on_namespaces_revoca_says_it_needs_the_tenant_uuid(cluster, namespace, operators, tmp_path):
    kubeconfig = as_chart_service_account(cluster, namespace.name, tmp_path)
    binding = f"revoca:{namespace.name}:revoca:namespaces"
    cluster.kubectl("delete", "clusterrolebinding", binding)
    operator = operators(kubeconfig=kubeconfig).start(wait_ready=False)
    namespace.apply_examples(operator.port)

    def reported():
        message = ready_false_message(namespace, "certificateauthority", "mqtt-ca") or ""
        log = operator.log_text()
        return message if "namespaces" in message else next(
            (line for line in log.splitlines() if "get on namespaces" in line), None)

    message = wait_for(reported, timeout=30, interval=0.5, what="revoca reports the missing namespaces get")
    print(f"reported: {message}")
    assert "grant it get on namespaces" in message and "ClusterRole" in message, message

    cluster.kubectl("apply", "-f", "-", input=chart_rbac(namespace.name))
    namespace.wait_ready(*OBJECTS, timeout=60)
