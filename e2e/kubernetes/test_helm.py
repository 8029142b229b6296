"""The helm chart (helm/revoca) lints, renders for both
scopes (every namespace, or a list), installs every object into the real
test apiserver and uninstalls them; `kubectl auth can-i` as its
ServiceAccount says yes to exactly what revoca uses and no to the rest.
helm is $HELM, else e2e/cluster/build.sh helm's."""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from kube_fixtures import CHART, cluster, helm, namespace  # noqa: F401 (fixtures)
from conftest import wait_for

KINDS = ("certificateauthorities", "vaults", "vaultsecrets", "certificaterevocations", "emqxdeployments")

# (verb, resource, subresource) revoca needs in each namespace it watches.
WORKLOAD = ([(verb, f"{kind}.revoca.io", None) for kind in KINDS for verb in ("get", "list", "watch")] +
            [("patch", f"{kind}.revoca.io", "status") for kind in KINDS] +
            [(verb, "secrets", None) for verb in ("get", "list", "watch", "create", "update", "patch")] +
            [(verb, "configmaps", None) for verb in ("get", "create", "patch")] +
            [("create", "events", None)] +
            [(verb, "deployments.apps", None) for verb in ("get", "create", "patch")])
# What it must not do there: nothing deletes, no spec writes, no pods, no wider reads.
DENIED = ([("delete", "secrets", None), ("deletecollection", "secrets", None), ("list", "pods", None),
           ("get", "pods", None), ("create", "pods", None), ("list", "configmaps", None),
           ("update", "configmaps", None), ("delete", "deployments.apps", None), ("list", "deployments.apps", None),
           ("update", "deployments.apps", None), ("update", "events", None), ("patch", "events", None),
           ("update", "serviceaccounts", None), ("create", "serviceaccounts/token", None),
           ("create", "roles.rbac.authorization.k8s.io", None), ("bind", "roles.rbac.authorization.k8s.io", None)] +
          [(verb, f"{kind}.revoca.io", None) for kind in KINDS for verb in ("update", "patch", "delete")] +
          [("update", f"{kind}.revoca.io", "status") for kind in KINDS])


def render(*args):
    return helm("template", "revoca", CHART, "--namespace", "revoca-system", *args).stdout


def objects(cluster, text):
    """The rendered YAML as JSON objects (kubectl parses it: no PyYAML needed)."""
    text = cluster.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", input=text).stdout
    decoder, items, at = json.JSONDecoder(), [], 0
    while text[at:].strip():  # one JSON document per object, back to back
        item, at = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
        items.append(item)
    return items


def by_kind(items, kind):
    return [item for item in items if item["kind"] == kind]


def grants_secrets(role):
    return any("secrets" in rule.get("resources", []) for rule in role.get("rules", []))


def can_i(cluster, subject, verb, resource, namespace=None, subresource=None):
    args = ["auth", "can-i", verb, resource, f"--as={subject}"]
    args += ["-n", namespace] if namespace else []
    args += ["--subresource", subresource] if subresource else []
    answer = cluster.kubectl(*args, check=False)
    assert answer.stdout.strip() in ("yes", "no"), answer.stderr
    return answer.stdout.strip() == "yes"


def assert_permissions(cluster, subject, namespace, release_namespace, lease="revoca-leader"):
    """`kubectl auth can-i --as=SUBJECT` for each permission revoca needs in
    NAMESPACE (yes) and each it must not have (no)."""
    checks = ([(True, verb, resource, namespace, sub) for verb, resource, sub in WORKLOAD] +
              [(False, verb, resource, namespace, sub) for verb, resource, sub in DENIED] +
              # The tenant UUID is the namespace's uid.
              [(True, "get", f"namespaces/{namespace}", None, None)] +
              # The Lease, in the release namespace, this release's only.
              [(True, "create", "leases.coordination.k8s.io", release_namespace, None),
               (True, "get", f"leases.coordination.k8s.io/{lease}", release_namespace, None),
               (True, "update", f"leases.coordination.k8s.io/{lease}", release_namespace, None),
               (False, "update", "leases.coordination.k8s.io/someone-elses", release_namespace, None),
               (False, "delete", f"leases.coordination.k8s.io/{lease}", release_namespace, None),
               (False, "list", "leases.coordination.k8s.io", release_namespace, None)] +
              [(False, verb, resource, None, None) for verb, resource in (
                  ("list", "namespaces"), ("create", "namespaces"), ("delete", f"namespaces/{namespace}"),
                  ("list", "nodes"), ("list", "customresourcedefinitions.apiextensions.k8s.io"))])
    with ThreadPoolExecutor(8) as pool:  # ~80 kubectl runs
        answers = list(pool.map(lambda check: can_i(cluster, subject, *check[1:]), checks))
    wrong = [f"{'' if expected else 'may '}{verb} {resource}{'/' + sub if sub else ''}{' in ' + ns if ns else ''}"
             for (expected, verb, resource, ns, sub), answer in zip(checks, answers) if answer != expected]
    assert wrong == [], f"{subject} gets these wrong: " + "; ".join(wrong)


def test_1_lint_passes_strict_and_for_a_namespace_list():
    for args in ((), ("--strict",), ("--strict", "--set", "watchNamespaces={a,b}"),
                 ("--strict", "--set", "leaderElection.enabled=false,serviceAccount.name=ops")):
        result = helm("lint", CHART, *args)
        assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout, result.stdout


def test_2_template_default_every_namespace(cluster):
    items = objects(cluster, render())
    assert sorted(item["kind"] for item in items) == sorted(
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ClusterRole", "ClusterRoleBinding",
         "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget"])
    cluster_roles = {role["metadata"]["name"]: role for role in by_kind(items, "ClusterRole")}
    # Cluster-scoped names carry the release namespace and name.
    assert set(cluster_roles) == {"revoca:revoca-system:revoca", "revoca:revoca-system:revoca:namespaces"}
    assert grants_secrets(cluster_roles["revoca:revoca-system:revoca"])
    assert cluster_roles["revoca:revoca-system:revoca:namespaces"]["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]
    for binding in by_kind(items, "ClusterRoleBinding") + by_kind(items, "RoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "revoca", "namespace": "revoca-system"}]
    (lease_role,) = by_kind(items, "Role")
    assert lease_role["metadata"]["namespace"] == "revoca-system"
    assert {verb for rule in lease_role["rules"] for verb in rule["verbs"]} == {"get", "create", "update"}

    (deployment,) = by_kind(items, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert pod["spec"]["serviceAccountName"] == "revoca"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == 65532
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "ghcr.io/revoca/revoca:0.1.0"
    assert container["command"] == ["/usr/local/bin/revoca"]
    args = container["args"]
    assert args[0] == "run" and "--namespace" not in args and "--kubeconfig" not in args
    flags = dict(zip(args[1::2], args[2::2]))
    assert flags == {"--listen": "0.0.0.0:4664", "--leader-elect": "true", "--lease-name": "revoca-leader",
                     "--identity": "$(POD_NAME)", "--lease-duration": "15", "--renew-deadline": "10",
                     "--retry-period": "2", "--resync-period": "300", "--shutdown-delay": "5",
                     "--log-level": "info", "--log-format": "json"}
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    env = {var["name"]: var["valueFrom"]["fieldRef"]["fieldPath"] for var in container["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    assert container["ports"] == [{"name": "responder", "containerPort": 4664, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "responder"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "responder"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}

    (service,) = by_kind(items, "Service")
    assert service["metadata"]["name"] == "revoca"
    assert service["spec"]["ports"] == [{"name": "responder", "port": 4664, "targetPort": "responder",
                                         "protocol": "TCP"}]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_3_template_for_listed_namespaces_has_roles_there_and_no_cluster_wide_secrets(cluster):
    items = objects(cluster, render("--set", "watchNamespaces={a,b}", "--set", "logFormat=text"))
    roles = {(role["metadata"]["namespace"], role["metadata"]["name"]) for role in by_kind(items, "Role")}
    assert roles == {("a", "revoca:revoca-system:revoca"), ("b", "revoca:revoca-system:revoca"),
                     ("revoca-system", "revoca-leader-election")}
    assert {(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in by_kind(items, "RoleBinding")} == roles
    for role in by_kind(items, "Role"):
        assert grants_secrets(role) == (role["metadata"]["namespace"] in ("a", "b"))
    (namespaces,) = by_kind(items, "ClusterRole")  # only the one for the namespaces' uids
    assert not grants_secrets(namespaces)
    assert namespaces["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"],
                                    "resourceNames": ["a", "b"]}]
    (container,) = by_kind(items, "Deployment")[0]["spec"]["template"]["spec"]["containers"]
    flags = dict(zip(container["args"][1::2], container["args"][2::2]))
    assert flags["--namespace"] == "a,b" and flags["--log-format"] == "text"

    # Without leader election: one flag, no Lease Role.
    items = objects(cluster, render("--set", "leaderElection.enabled=false,replicaCount=1"))
    assert not [role for role in by_kind(items, "Role") if role["metadata"]["name"].endswith("leader-election")]
    args = by_kind(items, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--leader-elect") + 1] == "false"


def installed(cluster, ns, cluster_names):
    """Which of the release's objects exist."""
    found = {}
    for kind, name, where in [("serviceaccount", "revoca", ns), ("deployment", "revoca", ns),
                              ("service", "revoca", ns), ("role", "revoca-leader-election", ns),
                              ("rolebinding", "revoca-leader-election", ns)] + \
                             [(kind, name, None) for kind, name in cluster_names]:
        args = ["get", kind, name] + (["-n", where] if where else [])
        found[(kind, name)] = cluster.kubectl(*args, check=False).returncode == 0
    return found


def test_4_install_creates_every_object_and_the_service_account_may_do_exactly_what_revoca_does(cluster, namespace):
    ns = namespace.name
    release = f"revoca:{ns}:revoca"
    result = helm("install", "revoca", CHART, "--namespace", ns, "--kubeconfig", cluster.kubeconfig)
    assert "STATUS: deployed" in result.stdout
    assert f"http://revoca.{ns}.svc:4664/ocsp/" in result.stdout  # NOTES.txt's next steps
    names = [("clusterrole", release), ("clusterrolebinding", release),
             ("clusterrole", release + ":namespaces"), ("clusterrolebinding", release + ":namespaces")]
    assert all(installed(cluster, ns, names).values()), installed(cluster, ns, names)

    deployment = namespace.get("deployment", "revoca")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"][:1] == ["run"] and "--identity" in container["args"]
    assert namespace.get("service", "revoca")["spec"]["ports"][0]["port"] == 4664
    assert "revoca" in helm("list", "-n", ns, "--kubeconfig", cluster.kubeconfig, "-q").stdout.split()

    subject = f"system:serviceaccount:{ns}:revoca"
    assert_permissions(cluster, subject, ns, ns)
    # Every namespace: its ClusterRole reaches Secrets anywhere, by design.
    assert can_i(cluster, subject, "get", "secrets", "kube-system")
    assert not can_i(cluster, subject, "delete", "secrets", "kube-system")

    helm("uninstall", "revoca", "--namespace", ns, "--kubeconfig", cluster.kubeconfig)
    wait_for(lambda: not any(installed(cluster, ns, names).values()), timeout=30, interval=0.5,
             what="helm uninstall removes every object")
    assert not can_i(cluster, subject, "get", "secrets", ns)
    # The CRDs stay (helm never deletes crds/): the users' objects survive.
    cluster.kubectl("get", "crd", "certificateauthorities.revoca.io")


def test_5_install_for_listed_namespaces_reaches_only_those(cluster, namespace):
    ns = namespace.name
    other = cluster.kubectl("create", "namespace", f"{ns}-tenant", "-o", "name").stdout.strip().split("/", 1)[1]
    helm("install", "revoca", CHART, "--namespace", ns, "--kubeconfig", cluster.kubeconfig,
         "--set", f"watchNamespaces={{{ns},{other}}}")
    subject = f"system:serviceaccount:{ns}:revoca"
    assert_permissions(cluster, subject, ns, ns)
    assert_permissions(cluster, subject, other, ns)
    for elsewhere in ("kube-system", "default"):
        assert not can_i(cluster, subject, "get", "secrets", elsewhere)
        assert not can_i(cluster, subject, "list", "certificateauthorities.revoca.io", elsewhere)
        assert not can_i(cluster, subject, "get", f"namespaces/{elsewhere}")
    # No Lease outside the release namespace.
    assert not can_i(cluster, subject, "create", "leases.coordination.k8s.io", other)
    helm("uninstall", "revoca", "--namespace", ns, "--kubeconfig", cluster.kubeconfig)
    wait_for(lambda: not can_i(cluster, subject, "get", "secrets", other), timeout=30, interval=0.5,
             what="the tenant's Role gone")


@pytest.mark.parametrize("bad", ["logFormat=yaml", "logLevel=verbose"])
def test_6_values_schema_refuses_typos(bad):
    result = helm("template", "revoca", CHART, "--set", bad, check=False)
    assert result.returncode != 0 and bad.split("=")[0] in result.stderr, result.stderr
