"""Fixtures of the Kubernetes suites (imported by the test modules, so the
name `conftest` stays e2e/conftest.py's): one real kube-apiserver + etcd for the
session (e2e/cluster), revoca's CRDs applied once, a fresh namespace per
test (this control plane never deletes namespaces), and `revoca run`
processes with a kubeconfig, as a platform team would run it out of cluster.

The `operators` run revoca as the helm chart's ServiceAccount, with a token
and only the chart's RBAC (helm/revoca/templates/rbac.yaml, scoped to the
test's namespace), so every Kubernetes e2e test also proves that RBAC is
enough; REVOCA_E2E_ADMIN=1 runs them with the admin kubeconfig instead."""
import atexit
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))
from cluster import Cluster  # noqa: E402

from conftest import REVOCA, REVOCACTL, ROOT, free_port, http, run, wait_for  # noqa: E402

EXAMPLES = ROOT / "manifests" / "examples"
CHART = ROOT / "helm" / "revoca"
CLUSTER_DIR = Path(__file__).resolve().parent.parent / "cluster"


_cluster = None


@pytest.fixture
def cluster(tmp_path_factory):
    """One control plane for the whole run, however many test modules import
    this fixture (a session fixture imported into two modules would be two)."""
    global _cluster
    if _cluster is None:
        started = Cluster(tmp_path_factory.getbasetemp() / "cluster").start()
        atexit.register(started.stop)
        started.kubectl("apply", "-f", ROOT / "crds")
        started.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        _cluster = started
    return _cluster


class Operator:
    """A `revoca run --kubeconfig` process watching one namespace."""

    def __init__(self, cluster, workdir, namespace, port, identity, lease_name, leader_election=True,
                 lease=("4", "3", "1"), kubeconfig=None, shutdown_delay=0):
        self.cluster = cluster
        self.kubeconfig = kubeconfig or cluster.kubeconfig
        self.namespace = namespace
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.identity = identity
        self.log = Path(workdir) / f"revoca-{identity}.log"
        self.args = [str(REVOCA), "run", "--kubeconfig", str(self.kubeconfig), "--namespace", namespace,
                     "--listen", f"127.0.0.1:{port}", "--identity", identity, "--lease-name", lease_name,
                     "--leader-election-namespace", namespace, "--leader-elect",
                     "true" if leader_election else "false", "--lease-duration", lease[0],
                     "--renew-deadline", lease[1], "--retry-period", lease[2], "--resync-period", "3",
                     # No drain by default: every test stops its replicas, most of them
                     # several times; test_operator.py's test_8 drains.
                     "--shutdown-delay", str(shutdown_delay), "--log-level", "debug"]
        self.process = None

    def start(self, wait_ready=True):
        self.process = subprocess.Popen(self.args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        if wait_ready:
            wait_for(self.alive_and_serving, timeout=30, what=f"revoca {self.identity} serving")
        return self

    def alive_and_serving(self):
        if self.process.poll() is not None:
            raise AssertionError(f"revoca exited with {self.process.returncode}:\n{self.log.read_text()}")
        try:
            return http("GET", self.base + "/healthz", timeout=1)[0] == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    def log_text(self):
        return self.log.read_text(errors="replace")


class Namespace:
    """A fresh namespace with kubectl helpers bound to it."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name

    def kubectl(self, *args, check=True, input=None, timeout=60):
        return self.cluster.kubectl("-n", self.name, *args, check=check, input=input, timeout=timeout)

    def apply_yaml(self, text, check=True):
        return self.kubectl("apply", "-f", "-", input=text, check=check)

    def apply_examples(self, port):
        for source in sorted(EXAMPLES.glob("*.yaml")):
            self.apply_yaml(example_text(source, port, self.name))

    def get(self, kind, name):
        return json.loads(self.kubectl("get", kind, name, "-o", "json").stdout)

    def exists(self, kind, name):
        return self.kubectl("get", kind, name, check=False).returncode == 0

    def wait_ready(self, *objects, timeout=60):
        self.kubectl("wait", "--for=condition=Ready", *objects, f"--timeout={timeout}s", timeout=timeout + 10)

    def condition(self, kind, name):
        for condition in self.get(kind, name).get("status", {}).get("conditions", []):
            if condition["type"] == "Ready":
                return condition
        return None

    def secret_files(self, name):
        data = self.get("secret", name)["data"]
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def uid(self):
        return json.loads(self.cluster.kubectl("get", "namespace", self.name, "-o", "json").stdout)["metadata"]["uid"]


def example_text(source, port, namespace):
    """An example declaration, pointed at this test's responder port and namespace."""
    return (Path(source).read_text().replace("127.0.0.1:4664", f"127.0.0.1:{port}")
            .replace("namespace: default", f"namespace: {namespace}"))


@pytest.fixture
def namespace(cluster, request):
    created = cluster.kubectl("create", "namespace", f"e2e-{request.node.name[5:40].replace('_', '-').lower()}-"
                              f"{int(time.time() * 1000) % 100000}", "-o", "name").stdout.strip()
    return Namespace(cluster, created.split("/", 1)[1])


def helm_binary():
    """$HELM, else build.sh's (built from its Go module the first time)."""
    if not os.environ.get("HELM"):
        os.environ["HELM"] = subprocess.run([str(CLUSTER_DIR / "build.sh"), "helm"], check=True,
                                            stdout=subprocess.PIPE, text=True).stdout.strip()
    return os.environ["HELM"]


_helm_home = None


def helm(*args, check=True, input=None):
    """Runs helm (CompletedProcess; raises with its output when check and it
    failed); its cache, config and data go to a directory of this run, never
    the user's ~/.config/helm."""
    global _helm_home
    if _helm_home is None:
        _helm_home = tempfile.mkdtemp(prefix="revoca-helm-")
        atexit.register(shutil.rmtree, _helm_home, True)
    env = dict(os.environ, HELM_CACHE_HOME=f"{_helm_home}/cache", HELM_CONFIG_HOME=f"{_helm_home}/config",
               HELM_DATA_HOME=f"{_helm_home}/data")
    args = [helm_binary(), *map(str, args)]
    result = subprocess.run(args, capture_output=True, text=True, input=input, timeout=120, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def chart_rbac(namespace, release="revoca"):
    """The chart's ServiceAccount and RBAC for a release in `namespace` that
    watches only that namespace, as YAML (what `helm install` would create)."""
    return helm("template", release, CHART, "--namespace", namespace, "--set", f"watchNamespaces={{{namespace}}}",
                "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml").stdout


def service_account_kubeconfig(cluster, namespace, service_account, path):
    """A kubeconfig for the admin's apiserver that authenticates as
    system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT with a bound token (the
    TokenRequest API needs no controller-manager), nothing else."""
    token = cluster.kubectl("create", "token", service_account, "-n", namespace, "--duration=1h").stdout.strip()
    Path(path).write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "e2e", "cluster": {"server": cluster.server,
                                                 "certificate-authority": str(cluster.workdir / "pki" / "ca.crt")}}],
        "users": [{"name": service_account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "e2e", "user": service_account,
                                                "namespace": namespace}}]}))
    Path(path).chmod(0o600)
    return Path(path)


def as_chart_service_account(cluster, namespace, workdir, release="revoca"):
    """Applies the chart's ServiceAccount and RBAC for `namespace` (as the
    admin) and returns a kubeconfig with that ServiceAccount's token."""
    cluster.kubectl("apply", "-f", "-", input=chart_rbac(namespace, release))
    # The apiserver authorizes from an informer's copy of the RBAC objects:
    # a moment passes before new rules apply, and revoca's first pass would
    # meet a 403. Wait until the last rule it needs is in force.
    user = f"system:serviceaccount:{namespace}:revoca"
    wait_for(lambda: all(cluster.kubectl("auth", "can-i", *check, f"--as={user}", check=False).returncode == 0
                         for check in (["patch", "secrets", "-n", namespace], ["get", f"namespace/{namespace}"],
                                       ["create", "leases", "-n", namespace])),
             timeout=20, what=f"the chart's RBAC to apply to {user}")
    return service_account_kubeconfig(cluster, namespace, "revoca", Path(workdir) / "revoca-sa.kubeconfig")


@pytest.fixture
def operators(cluster, namespace, tmp_path):
    """Makes `revoca run` processes for this test's namespace; all share one
    responder port unless given one, and one Lease. They authenticate as the
    chart's ServiceAccount with the chart's RBAC (see the module's doc)."""
    started = []
    kubeconfig = []

    def make(identity="revoca-0", port=None, **kwargs):
        if "kubeconfig" not in kwargs and os.environ.get("REVOCA_E2E_ADMIN") != "1":
            if not kubeconfig:
                kubeconfig.append(as_chart_service_account(cluster, namespace.name, tmp_path))
            kwargs["kubeconfig"] = kubeconfig[0]
        operator = Operator(cluster, tmp_path, namespace.name, port or free_port(), identity,
                            "revoca-leader", **kwargs)
        started.append(operator)
        return operator

    yield make
    for operator in started:
        operator.stop()
    for operator in started:
        print(f"--- {operator.identity} log ---\n{operator.log_text()[-20000:]}")


def revocactl(cluster, namespace, *args, check=True):
    result = run([REVOCACTL, "--kubeconfig", cluster.kubeconfig, "--namespace", namespace, *args], check=check)
    return json.loads(result.stdout) if result.returncode == 0 else result


def vault_secret_of_its_own(name):
    """A Vault of its own and a VaultSecret in it: a new certificate to issue."""
    return f"""
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {{name: {name}-vault}}
spec: {{distribute: {{deployments: [{name}]}}}}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {{name: {name}}}
spec:
  vault: {name}-vault
  autoCert: {{issuingCa: mqtt-ca, host: {name}.example, ttl: 30d, refreshThreshold: 15d}}
"""
