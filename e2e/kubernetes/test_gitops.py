"""revoca's declarations applied from Git on the real
kube-apiserver of e2e/cluster. A user's overlay (as a GitOps repo would hold
it) takes manifests/ as its base with `kubectl apply -k`, client-side and
server-side; revoca converges; the same declarations re-applied again and
again change nothing (no re-issuance, no status write, no conflict between
the user's field manager and revoca's)."""
import json
import os
import subprocess
import time

import pytest

from kube_fixtures import cluster, namespace, operators  # noqa: F401 (fixtures)
from conftest import ROOT

MANIFESTS = ROOT  # the kustomize base: kustomization.yaml is at the top
OBJECTS = ("certificateauthority/mqtt-ca", "vault/mqtt-vault", "vaultsecret/server-cert", "emqxdeployment/emqx")
REVOCA_KINDS = ("certificateauthorities.revoca.io", "vaults.revoca.io", "vaultsecrets.revoca.io",
                "emqxdeployments.revoca.io")
# What revoca and the user write in a namespace (Leases and Events change on their own).
WATCHED = REVOCA_KINDS + ("secrets", "configmaps", "deployments.apps")
GITOPS_MANAGER = "argocd-controller"  # Argo CD's field manager with ServerSideApply=true


def overlay(tmp_path, namespace, port, resources=(), patches=(), extra=()):
    """A GitOps repo's overlay: manifests/ as a base (by relative path, as from
    a checkout next to it), the user's namespace, and the responder URLs
    patched to this test's port."""
    directory = tmp_path / "overlay"
    directory.mkdir(exist_ok=True)
    url_patch = f"""- op: replace
  path: /spec/crlDistUrls/0
  value: http://127.0.0.1:{port}/crl-pem/${{SYS_TENANT_NAME}}/${{SYS_CA_NAME}}/${{SYS_CA_VERSION}}
- op: replace
  path: /spec/ocspResponderUrls/0
  value: http://127.0.0.1:{port}/ocsp/${{SYS_TENANT_UUID}}/${{SYS_CA_NAME}}
"""
    all_patches = [("CertificateAuthority", "mqtt-ca", url_patch), *patches]
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization",
             f"namespace: {namespace.name}", "resources:",
             f"  - {os.path.relpath(MANIFESTS, directory)}"]
    for name, text in resources:
        (directory / name).write_text(text)
        lines.append(f"  - {name}")
    lines += list(extra)
    lines.append("patches:")
    for kind, name, patch in all_patches:
        lines += [f"  - target: {{kind: {kind}, name: {name}}}", "    patch: |-"]
        lines += ["      " + line for line in patch.strip().splitlines()]
    (directory / "kustomization.yaml").write_text("\n".join(lines) + "\n")
    return directory


def apply_k(namespace, directory, server_side=False, manager=GITOPS_MANAGER, force=False):
    """`kubectl apply -k`, client-side or server-side (--force-conflicts only
    when asked, as Argo CD's ServerSideApply=true and Flux apply); fails the
    test with kubectl's message on any error, a conflict included."""
    args = ["apply", "-k", directory]
    if server_side:
        args += ["--server-side", f"--field-manager={manager}"] + (["--force-conflicts"] if force else [])
    result = namespace.kubectl(*args, check=False)
    assert result.returncode == 0, f"kubectl {' '.join(map(str, args))} failed:\n{result.stderr}"
    return result.stdout


def snapshot(namespace):
    """Every object revoca or the user writes in the namespace, by kind/name."""
    listed = json.loads(namespace.kubectl("get", ",".join(WATCHED), "-o", "json").stdout)["items"]
    return {f"{item['kind']}/{item['metadata']['name']}": item for item in listed}


def ready(item):
    for condition in item.get("status", {}).get("conditions", []):
        if condition["type"] == "Ready":
            return condition
    return None


def steady_facts(objects):
    """What must not move while unchanged declarations are re-applied."""
    facts = {}
    for key, item in objects.items():
        facts[key + " resourceVersion"] = item["metadata"]["resourceVersion"]
        if item["apiVersion"].startswith("revoca.io/"):
            condition = ready(item) or {}
            facts[key + " Ready"] = (condition.get("status"), condition.get("lastTransitionTime"),
                                     condition.get("reason"))
            facts[key + " observedGeneration"] = item.get("status", {}).get("observedGeneration")
        if item["kind"] == "VaultSecret":
            facts[key + " serial"] = item["status"]["serial"]
        if item["kind"] == "Secret":
            facts[key + " data"] = item.get("data")
    return facts


class Watch:
    """`kubectl get KIND --watch-only --output-watch-events` for each watched
    kind: every event the apiserver sends while it runs."""

    def __init__(self, namespace, tmp_path):
        self.outputs = []
        self.processes = []
        for kind in WATCHED:
            out = tmp_path / f"watch-{kind}.json"
            self.outputs.append(out)
            self.processes.append(subprocess.Popen(
                [namespace.cluster.kubectl_binary, f"--kubeconfig={namespace.cluster.kubeconfig}", "-n",
                 namespace.name, "get", kind, "--watch-only", "--output-watch-events", "-o", "json"],
                stdout=open(out, "w"), stderr=subprocess.STDOUT))
        time.sleep(1)  # the watches are open

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)
        events = []
        decoder = json.JSONDecoder()
        for out in self.outputs:
            text = out.read_text()
            position = 0
            while position < len(text):
                while position < len(text) and text[position].isspace():
                    position += 1
                if position == len(text):
                    break
                try:
                    event, position = decoder.raw_decode(text, position)
                except json.JSONDecodeError:
                    raise AssertionError(f"kubectl watch wrote something else than events:\n{text[position:]}")
                obj = event["object"]
                events.append(f"{event['type']} {obj['kind']}/{obj['metadata']['name']} "
                              f"rv={obj['metadata']['resourceVersion']}")
        return events


def reapply_changes_nothing(namespace, tmp_path, apply, times=3, pause=3.5):
    """Re-applies `times` times, `pause` seconds apart (more than revoca's
    3-second resync here), and asserts that nothing was written."""
    before = snapshot(namespace)
    watch = Watch(namespace, tmp_path)
    outputs = []
    for _ in range(times):
        outputs.append(apply())
        time.sleep(pause)
    events = watch.stop()
    after = snapshot(namespace)
    assert sorted(after) == sorted(before), "objects appeared or disappeared"
    moved = {key: (value, steady_facts(after).get(key)) for key, value in steady_facts(before).items()
             if steady_facts(after).get(key) != value}
    assert not moved, f"re-applying unchanged declarations moved (before, after): {moved}\nevents: {events}"
    assert events == [], f"the apiserver sent events while nothing changed: {events}"
    return outputs


def with_managed_fields(namespace, kind, name):
    """The object with metadata.managedFields (kubectl hides them by default)."""
    return json.loads(namespace.kubectl("get", kind, name, "-o", "json", "--show-managed-fields").stdout)


def managers(item):
    return {(entry["manager"], entry["operation"], entry.get("subresource", "")) for entry in
            item["metadata"].get("managedFields", [])}


def test_1_client_side_apply_k_converges_and_reapplying_changes_nothing(namespace, operators, tmp_path):
    operator = operators().start()
    # Argo CD's tracking label (label tracking) and annotation (annotation tracking, its default since 3.0)
    directory = overlay(tmp_path, namespace, operator.port, extra=[
        "labels:", "  - pairs: {app.kubernetes.io/instance: mqtt}", "commonAnnotations:",
        f"  argocd.argoproj.io/tracking-id: 'mqtt:revoca.io/VaultSecret:{namespace.name}/server-cert'"])
    rendered = namespace.kubectl("kustomize", directory).stdout
    assert f"namespace: {namespace.name}" in rendered and "127.0.0.1:4664" not in rendered

    apply_k(namespace, directory)
    namespace.wait_ready(*OBJECTS)
    time.sleep(4)  # revoca's first passes (Deployment, ConfigMap) are done: a resync later

    # What revoca writes (Secrets, ConfigMaps, its Deployment) carries neither:
    # a GitOps tool does not count it as its own, so never prunes it.
    for key, item in snapshot(namespace).items():
        if item["apiVersion"].startswith("revoca.io/"):
            assert item["metadata"]["labels"].get("app.kubernetes.io/instance") == "mqtt", key
            continue
        assert "app.kubernetes.io/instance" not in item["metadata"].get("labels", {}), (key, item["metadata"])
        assert "argocd.argoproj.io/tracking-id" not in item["metadata"].get("annotations", {}), (key, item["metadata"])

    outputs = reapply_changes_nothing(namespace, tmp_path, lambda: apply_k(namespace, directory))
    for output in outputs:
        for obj in OBJECTS:
            assert f"{obj.replace('/', '.revoca.io/', 1)} unchanged" in output, output

    # The same declarations, now server-side as Argo CD (ServerSideApply=true)
    # or Flux apply them: taking over from kubectl's client-side apply writes
    # managedFields once, nothing else, and no conflict with revoca.
    before = steady_facts(snapshot(namespace))
    apply_k(namespace, directory, server_side=True)
    time.sleep(4)
    after = steady_facts(snapshot(namespace))
    moved = {key for key in before if before[key] != after[key] and not key.endswith("resourceVersion")}
    assert not moved, {key: (before[key], after[key]) for key in moved}
    reapply_changes_nothing(namespace, tmp_path, lambda: apply_k(namespace, directory, server_side=True))
    reapply_changes_nothing(namespace, tmp_path, lambda: apply_k(namespace, directory, server_side=True, force=True),
                            times=2)
    for obj in OBJECTS:
        item = with_managed_fields(namespace, *obj.split("/"))
        assert (GITOPS_MANAGER, "Apply", "") in managers(item), managers(item)
        assert ("revoca", "Apply", "status") in managers(item), managers(item)


USER_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: emqx
  labels: {app: emqx}
spec:
  replicas: 1
  selector:
    matchLabels: {app: emqx}
  template:
    metadata:
      labels: {app: emqx}
      annotations: {team.example/owner: mqtt}
    spec:
      containers:
        - name: emqx
          image: emqx/emqx:IMAGE_TAG
          ports:
            - {name: mqtts, containerPort: 8883}
          env:
            - {name: EMQX_NODE__NAME, value: emqx@127.0.0.1}
"""

# The EmqxDeployment patches the user's Deployment instead of owning one.
PATCH_MODE = """- op: remove
  path: /spec/podTemplate
- op: add
  path: /spec/deploymentName
  value: emqx
"""


def revoca_fields_in_place(deployment):
    template = deployment["spec"]["template"]
    assert "revoca.io/env-hash" in template["metadata"].get("annotations", {}), template
    assert template["metadata"]["annotations"].get("team.example/owner") == "mqtt", template
    volumes = [v for v in template["spec"].get("volumes", []) if v.get("secret", {}).get("secretName") == "server-cert"]
    assert volumes, template
    container = next(c for c in template["spec"]["containers"] if c["name"] == "emqx")
    assert any(entry.get("valueFrom", {}).get("configMapKeyRef", {}).get("name") == "emqx-emqx-env"
               for entry in container.get("env", [])), container
    assert any(mount["name"] == volumes[0]["name"] for mount in container.get("volumeMounts", [])), container
    # The user's own entry stays theirs, beside revoca's (env is keyed by name).
    assert container["env"][0] == {"name": "EMQX_NODE__NAME", "value": "emqx@127.0.0.1"}, container
    assert template["spec"].get("securityContext", {}).get("fsGroup") == 1000, template  # EMQX's gid; the user set none
    return template["metadata"]["annotations"]["revoca.io/env-hash"]


def converge_with_users_deployment(namespace, operators, tmp_path, deployment):
    """The user's Deployment applied from Git first (by the GitOps tool's
    manager), then the overlay with the EmqxDeployment patching it; returns
    the overlay's directory once everything is Ready and settled."""
    operator = operators().start()
    namespace.kubectl("apply", "--server-side", f"--field-manager={GITOPS_MANAGER}", "-f", "-", input=deployment)
    directory = overlay(tmp_path, namespace, operator.port, resources=[("deployment.yaml", deployment)],
                        patches=[("EmqxDeployment", "emqx", PATCH_MODE)])
    apply_k(namespace, directory, server_side=True)
    namespace.wait_ready(*OBJECTS)
    time.sleep(4)
    return directory


def test_2_server_side_apply_of_a_deployment_revoca_patches_has_no_conflict(namespace, operators, tmp_path):
    deployment = USER_DEPLOYMENT.replace("IMAGE_TAG", "5.8.6")
    directory = converge_with_users_deployment(namespace, operators, tmp_path, deployment)

    user_deployment = with_managed_fields(namespace, "deployment", "emqx")
    env_hash = revoca_fields_in_place(user_deployment)
    assert not user_deployment["metadata"].get("ownerReferences"), "revoca took ownership of the user's Deployment"
    assert {GITOPS_MANAGER, "revoca"} <= {manager for manager, _, _ in managers(user_deployment)}, \
        managers(user_deployment)

    # Re-applied again and again (Argo CD's auto-sync, Flux's interval): no conflict, nothing written.
    reapply_changes_nothing(namespace, tmp_path, lambda: apply_k(namespace, directory, server_side=True))
    # ... and forced, as Argo CD (ServerSideApply=true) and Flux apply: still nothing, revoca's fields stay.
    reapply_changes_nothing(namespace, tmp_path, lambda: apply_k(namespace, directory, server_side=True, force=True),
                            times=2)
    assert revoca_fields_in_place(namespace.get("deployment", "emqx")) == env_hash

    # The user changes their Deployment in Git (a new image): their apply
    # succeeds without --force-conflicts, revoca's fields stay, and the
    # certificate is not re-issued.
    serial = namespace.get("vaultsecret", "server-cert")["status"]["serial"]
    secret = namespace.get("secret", "server-cert")["data"]
    (directory / "deployment.yaml").write_text(USER_DEPLOYMENT.replace("IMAGE_TAG", "5.8.7"))
    watch = Watch(namespace, tmp_path)
    apply_k(namespace, directory, server_side=True)
    time.sleep(4)
    events = watch.stop()
    # The watch sees writes (so its silence above means something): the user's one, and no other.
    assert [event.split(" rv=")[0] for event in events] == ["MODIFIED Deployment/emqx"], events
    changed = namespace.get("deployment", "emqx")
    assert changed["spec"]["template"]["spec"]["containers"][0]["image"] == "emqx/emqx:5.8.7"
    assert revoca_fields_in_place(changed) == env_hash
    assert namespace.get("vaultsecret", "server-cert")["status"]["serial"] == serial
    assert namespace.get("secret", "server-cert")["data"] == secret
    reapply_changes_nothing(namespace, tmp_path, lambda: apply_k(namespace, directory, server_side=True), times=2)



def env_from(deployment):
    return [source["configMapRef"]["name"] for source in
            deployment["spec"]["template"]["spec"]["containers"][0].get("envFrom", [])]


def env_from_config_map(deployment, config_map="emqx-emqx-env"):
    """The names of the container's `env` entries revoca takes from its ConfigMap."""
    return [entry["name"] for entry in deployment["spec"]["template"]["spec"]["containers"][0].get("env", [])
            if entry.get("valueFrom", {}).get("configMapKeyRef", {}).get("name") == config_map]


# revoca once applied its ConfigMap as an envFrom entry: envFrom is an atomic
# list, so it took the user's entries over, the user's re-apply conflicted
# and a forced one (Argo CD, Flux) dropped revoca's entry at every sync. It
# now gives one `env` entry per variable (a list keyed by name).
def test_3_a_patched_deployment_with_the_users_own_env_from_is_not_fought_over(namespace, operators, tmp_path):
    deployment = USER_DEPLOYMENT.replace("IMAGE_TAG", "5.8.6").replace(
        "          env:\n", "          envFrom:\n            - configMapRef: {name: emqx-tuning}\n          env:\n")
    namespace.kubectl("create", "configmap", "emqx-tuning", "--from-literal=EMQX_LOG__CONSOLE__LEVEL=info")
    directory = converge_with_users_deployment(namespace, operators, tmp_path, deployment)
    live = namespace.get("deployment", "emqx")
    assert env_from(live) == ["emqx-tuning"]
    assert any(name.endswith("__SSL_OPTIONS__VERIFY") for name in env_from_config_map(live)), live

    # What Argo CD does on every sync with ServerSideApply=true, then revoca's passes.
    generations = []
    for _ in range(3):
        namespace.kubectl("apply", "-k", directory, "--server-side", "--force-conflicts",
                          f"--field-manager={GITOPS_MANAGER}")
        time.sleep(4)
        live = namespace.get("deployment", "emqx")
        generations.append(live["metadata"]["generation"])
        assert env_from(live) == ["emqx-tuning"] and env_from_config_map(live), live
    assert len(set(generations)) == 1, f"the pod template changed at every sync: generations {generations}"
    apply_k(namespace, directory, server_side=True)  # and without force: no conflict
