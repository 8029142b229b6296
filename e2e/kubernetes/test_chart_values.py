"""The chart's values as platform teams expect them (PodDisruptionBudget,
spreading, priority, ServiceMonitor, NetworkPolicy), by `helm template` and
`helm lint` alone: no cluster. Also that values.yaml, values.schema.json and
the chart's README.md name the same keys with the same defaults, and that the
schema refuses what it should (unknown keys, both minAvailable and
maxUnavailable, malformed durations and CIDRs).

YAML is parsed by helm itself (fromYaml in a throwaway chart), like
test_helm.py has kubectl parse it: the suites need no PyYAML."""
import atexit
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from kube_fixtures import CHART, helm

NAMESPACE = "revoca-system"
SELECTOR = {"app.kubernetes.io/name": "revoca", "app.kubernetes.io/instance": "revoca"}
# Values passed to a Kubernetes object as they are: documented whole, not key by key.
PASS_THROUGH = {"resources", "podSecurityContext", "securityContext", "podAnnotations", "podLabels",
                "nodeSelector", "affinity", "serviceAccount.annotations", "serviceMonitor.labels"}

_parser = None


def parse_yaml(text):
    """Every YAML document of TEXT that is not empty, as JSON values."""
    global _parser
    if _parser is None:
        _parser = Path(tempfile.mkdtemp(prefix="revoca-yaml-"))
        atexit.register(shutil.rmtree, _parser, True)
        (_parser / "templates").mkdir()
        (_parser / "files").mkdir()
        (_parser / "Chart.yaml").write_text("apiVersion: v2\nname: yaml-to-json\nversion: 0.0.0\n")
        (_parser / "templates" / "out.yaml").write_text(
            '{{- $docs := list }}\n'
            '{{- range regexSplit "(?m)^---[^\\n]*$" (.Files.Get "files/in.yaml") -1 }}\n'
            '{{- $doc := fromYaml . }}\n'
            '{{- if hasKey $doc "Error" }}{{ fail (get $doc "Error") }}{{ end }}\n'
            '{{- if $doc }}{{ $docs = append $docs $doc }}{{ end }}\n'
            '{{- end }}\n'
            '# {{ toJson $docs }}\n')
    (_parser / "files" / "in.yaml").write_text(text)
    out = helm("template", "x", _parser).stdout
    (line,) = [line for line in out.splitlines() if line.startswith("# [")]
    return json.loads(line[2:])


def render(*args, check=True):
    return helm("template", "revoca", CHART, "--namespace", NAMESPACE, *args, check=check)


def objects(*args):
    return parse_yaml(render(*args).stdout)


def one(items, kind):
    found = [item for item in items if item["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind}s in {[item['kind'] for item in items]}"
    return found[0]


def kinds(items):
    return {item["kind"] for item in items}


def pod_spec(items):
    return one(items, "Deployment")["spec"]["template"]["spec"]


def refused(*args):
    """helm template's error for a value the chart must refuse."""
    result = render(*args, check=False)
    assert result.returncode != 0, f"{args} rendered:\n{result.stdout[:500]}"
    return result.stderr


def test_lint_strict_with_every_option_on(tmp_path):
    values = tmp_path / "values.json"  # JSON is YAML
    # minAvailable "": helm lint does not drop keys set to null before the schema check.
    values.write_text(json.dumps({"serviceMonitor": {"enabled": True}, "networkPolicy": {"enabled": True},
                                  "priorityClassName": "high",
                                  "podDisruptionBudget": {"minAvailable": "", "maxUnavailable": "50%"}}))
    result = helm("lint", CHART, "--strict", "-f", values)
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout, result.stdout


# PodDisruptionBudget

def test_pdb_by_default_keeps_one_replica():
    items = objects()
    pdb = one(items, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["metadata"]["name"] == "revoca" and pdb["metadata"]["namespace"] == NAMESPACE
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": SELECTOR}}
    # It selects exactly the Deployment's pods.
    assert pdb["spec"]["selector"] == one(items, "Deployment")["spec"]["selector"]


def test_pdb_not_made_for_one_replica_nor_when_disabled():
    # minAvailable 1 of 1 would block every node drain.
    assert "PodDisruptionBudget" not in kinds(objects("--set", "replicaCount=1"))
    assert "PodDisruptionBudget" not in kinds(objects("--set", "podDisruptionBudget.enabled=false"))


def test_pdb_percentages_and_max_unavailable():
    pdb = one(objects("--set", "replicaCount=4,podDisruptionBudget.minAvailable=50%"), "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == "50%" and "maxUnavailable" not in pdb["spec"]
    pdb = one(objects("--set", "podDisruptionBudget.minAvailable=null,podDisruptionBudget.maxUnavailable=1"),
              "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    pdb = one(objects("--set-json", 'podDisruptionBudget={"minAvailable":"","maxUnavailable":"25%"}'),
              "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == "25%" and "minAvailable" not in pdb["spec"]
    # 0 is a value, not unset.
    assert one(objects("--set", "podDisruptionBudget.minAvailable=0"), "PodDisruptionBudget")["spec"]["minAvailable"] == 0


def test_pdb_refuses_both_neither_and_malformed():
    # Both: the schema says which one to clear.
    assert "/podDisruptionBudget/minAvailable" in refused("--set", "podDisruptionBudget.maxUnavailable=1")
    assert "/podDisruptionBudget/minAvailable" in refused(
        "--set", "podDisruptionBudget.minAvailable=2,podDisruptionBudget.maxUnavailable=25%")
    # Both, past the schema: the template refuses too.
    assert "mutually exclusive" in refused("--skip-schema-validation", "--set", "podDisruptionBudget.maxUnavailable=1")
    assert "set minAvailable or maxUnavailable" in refused("--set", "podDisruptionBudget.minAvailable=null")
    for bad in ("minAvailable=half", "minAvailable=-1", "maxUnavailable=1.5", "minAvailable=true"):
        assert "/podDisruptionBudget/" in refused("--set", f"podDisruptionBudget.{bad}")
    assert "additional properties 'minAvailble'" in refused("--set", "podDisruptionBudget.minAvailble=1")


# Spreading, affinity, priority

def test_replicas_spread_over_nodes_by_default_without_requiring_it():
    (constraint,) = pod_spec(objects())["topologySpreadConstraints"]
    # ScheduleAnyway: a single-node cluster still runs both replicas.
    assert constraint == {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                          "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": SELECTOR}}
    spec = pod_spec(objects())
    assert not {"affinity", "nodeSelector", "tolerations", "priorityClassName"} & set(spec)


def test_spread_constraints_affinity_node_selector_tolerations_are_overridable(tmp_path):
    values = tmp_path / "values.json"  # JSON is YAML
    values.write_text(json.dumps({
        "topologySpreadConstraints": [
            {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"},
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": {"team": "pki"}}}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                "labelSelector": {"matchLabels": SELECTOR}}}]}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "pki", "effect": "NoSchedule"}],
        "priorityClassName": "system-cluster-critical"}))
    spec = pod_spec(objects("-f", values))
    zone, host = spec["topologySpreadConstraints"]
    assert zone["topologyKey"] == "topology.kubernetes.io/zone" and zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["labelSelector"] == {"matchLabels": SELECTOR}  # given the pods' own
    assert host["labelSelector"] == {"matchLabels": {"team": "pki"}}  # kept as given
    assert spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 100
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["tolerations"][0]["key"] == "dedicated"
    assert spec["priorityClassName"] == "system-cluster-critical"
    # An empty list removes the default spreading.
    assert "topologySpreadConstraints" not in pod_spec(objects("--set", "topologySpreadConstraints=null"))
    assert "topologySpreadConstraints" not in pod_spec(objects("--set-json", "topologySpreadConstraints=[]"))


def test_schema_refuses_malformed_spread_constraints():
    assert "whenUnsatisfiable" in refused("--set-json", 'topologySpreadConstraints=[{"maxSkew":1,'
                                          '"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"Sometimes"}]')
    assert "maxSkew" in refused("--set-json", 'topologySpreadConstraints=[{"topologyKey":"x",'
                                '"whenUnsatisfiable":"ScheduleAnyway"}]')
    assert "priorityClassName" in refused("--set", "priorityClassName=1")


# ServiceMonitor

def test_service_monitor_off_by_default():
    assert "ServiceMonitor" not in kinds(objects())


def test_service_monitor_scrapes_metrics_through_the_services_named_port():
    items = objects("--set", "serviceMonitor.enabled=true,serviceMonitor.interval=15s,"
                    "serviceMonitor.scrapeTimeout=5s,serviceMonitor.labels.release=prometheus")
    monitor = one(items, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == NAMESPACE
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["metadata"]["labels"]["app.kubernetes.io/name"] == "revoca"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint == {"port": "responder", "path": "/metrics", "scheme": "http",
                        "interval": "15s", "scrapeTimeout": "5s"}
    # Its selector picks the Service, whose port has that name.
    service = one(items, "Service")
    assert all(service["metadata"]["labels"][k] == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())
    assert [port["name"] for port in service["spec"]["ports"]] == ["responder"]

    monitor = one(objects("--set", "serviceMonitor.enabled=true,serviceMonitor.namespace=monitoring"),
                  "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}  # still the Service's
    assert monitor["spec"]["endpoints"][0]["interval"] == "30s"


@pytest.mark.parametrize("bad", ["serviceMonitor.interval=30", "serviceMonitor.interval=soon",
                                 "serviceMonitor.scrapeTimeout=10 s", "serviceMonitor.enable=true"])
def test_schema_refuses_malformed_service_monitor_values(bad):
    assert "/serviceMonitor" in refused("--set", bad)


# NetworkPolicy

def test_network_policy_off_by_default():
    assert "NetworkPolicy" not in kinds(objects())


def test_network_policy_defaults_open_the_responder_and_reach_the_apiserver_and_dns():
    policy = one(objects("--set", "networkPolicy.enabled=true"), "NetworkPolicy")
    assert policy["apiVersion"] == "networking.k8s.io/v1"
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": SELECTOR}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    # From anywhere (no `from`): brokers and devices fetch CRLs and ask OCSP.
    assert spec["ingress"] == [{"ports": [{"port": 4664, "protocol": "TCP"}]}]
    api, dns = spec["egress"]
    assert api == {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}
    assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def test_network_policy_values(tmp_path):
    values = tmp_path / "values.json"
    broker = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mqtt"}}}
    extra = {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 8200, "protocol": "TCP"}]}
    values.write_text(json.dumps({
        "responder": {"listen": "0.0.0.0:8080", "port": 8080},
        "networkPolicy": {"enabled": True, "ingress": {"from": [broker]},
                          "egress": {"apiServer": {"cidrs": ["10.96.0.1/32", "192.168.10.11/32", "fd00::1/128"],
                                                   "ports": [6443]},
                                     "dns": False, "extra": [extra]}}}))
    spec = one(objects("-f", values), "NetworkPolicy")["spec"]
    assert spec["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}], "from": [broker]}]
    api, added = spec["egress"]
    assert api == {"ports": [{"port": 6443, "protocol": "TCP"}],
                   "to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}, {"ipBlock": {"cidr": "192.168.10.11/32"}},
                          {"ipBlock": {"cidr": "fd00::1/128"}}]}
    assert added == extra


@pytest.mark.parametrize("bad", ["networkPolicy.egress.apiServer.cidrs={10.0.0.1}",
                                 "networkPolicy.egress.apiServer.ports={70000}",
                                 "networkPolicy.egress.dns=yes", "networkPolicy.ingress.to={}",
                                 "networkPolicy.egress.apiserver.ports={443}"])
def test_schema_refuses_malformed_network_policy_values(bad):
    assert "/networkPolicy" in refused("--set", bad)


# Shutdown: the drain after SIGTERM

def container_flags(items):
    (container,) = pod_spec(items)["containers"]
    args = container["args"]
    return container, dict(zip(args[1::2], args[2::2]))


def test_a_stopping_pod_drains_within_its_grace_period_by_default():
    items = objects()
    container, flags = container_flags(items)
    assert flags["--shutdown-delay"] == "5"
    assert pod_spec(items)["terminationGracePeriodSeconds"] == 30
    # In process, not a preStop sleep: the image has no shell.
    assert "lifecycle" not in container


def test_shutdown_delay_and_grace_period_are_set_together():
    items = objects("--set", "shutdownDelay=0")
    assert container_flags(items)[1]["--shutdown-delay"] == "0"
    items = objects("--set", "shutdownDelay=40,terminationGracePeriodSeconds=60")
    assert container_flags(items)[1]["--shutdown-delay"] == "40"
    assert pod_spec(items)["terminationGracePeriodSeconds"] == 60


def test_values_of_a_release_before_the_drain_get_its_defaults():
    # `helm upgrade --reuse-values` of such a release: the keys are absent.
    items = objects("--set", "shutdownDelay=null,terminationGracePeriodSeconds=null")
    assert container_flags(items)[1]["--shutdown-delay"] == "5"
    assert pod_spec(items)["terminationGracePeriodSeconds"] == 30


@pytest.mark.parametrize("bad", ["shutdownDelay=30", "shutdownDelay=40,terminationGracePeriodSeconds=40"])
def test_a_grace_period_no_longer_than_the_drain_is_refused(bad):
    assert "terminationGracePeriodSeconds must be above shutdownDelay" in refused("--set", bad)


@pytest.mark.parametrize("bad", ["shutdownDelay=-1", "shutdownDelay=5s", "terminationGracePeriodSeconds=0"])
def test_schema_refuses_malformed_shutdown_values(bad):
    stderr = refused("--set", bad)
    assert "values don't meet the specifications of the schema" in stderr, stderr


# Defaults kept, schema, README

def test_defaults_render_what_they_did_plus_the_pdb():
    items = objects()
    assert sorted(item["kind"] for item in items) == sorted(
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ClusterRole", "ClusterRoleBinding",
         "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget"])
    assert one(items, "Deployment")["spec"]["replicas"] == 2


@pytest.mark.parametrize("bad", ["replicaCuont=3", "image.digest=sha256:00", "responder.address=x",
                                 "leaderElection.lease=5", "service.port=80", "serviceAccount.automount=true",
                                 "service.type=External", "image.pullPolicy=Sometimes", "fullnameOverride=Revoca"])
def test_schema_refuses_unknown_keys_and_bad_enums(bad):
    stderr = refused("--set", bad)
    assert "values don't meet the specifications of the schema" in stderr, stderr


def chart_values():
    return parse_yaml((CHART / "values.yaml").read_text())[0]


def keys(values, prefix=""):
    """The dotted keys of values.yaml, down to the values passed as they are."""
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and value and path not in PASS_THROUGH:
            yield from keys(value, path + ".")
        else:
            yield path, value


def readme_rows():
    """README.md's value table: {key: (type, default)}."""
    rows = {}
    for line in (CHART / "README.md").read_text().splitlines():
        match = re.match(r"^\| `([^`]+)` \| ([^|]+) \| `(.*?)` \| .+ \|$", line)
        if match:
            assert match[1] not in rows, f"{match[1]} twice in README.md"
            rows[match[1]] = (match[2].strip(), json.loads(match[3]))
    return rows


def test_every_value_is_in_the_readme_with_its_default():
    values = dict(keys(chart_values()))
    rows = readme_rows()
    assert sorted(set(values) - set(rows)) == [], "values.yaml keys missing from README.md"
    assert sorted(set(rows) - set(values)) == [], "README.md documents keys values.yaml does not have"
    wrong = {key: (rows[key][1], value) for key, value in values.items() if rows[key][1] != value}
    assert wrong == {}, "README.md default != values.yaml (readme, values)"


def test_every_value_is_in_the_schema_and_the_defaults_pass_it():
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    missing = []
    for path, _ in keys(chart_values()):
        node = schema
        for part in path.split("."):
            node = node.get("properties", {}).get(part)
            if node is None:
                missing.append(path)
                break
    assert missing == [], "values.yaml keys missing from values.schema.json"
    # Every object the chart defines itself (not passed through) is closed.
    def objects_in(node, path=""):
        if "properties" in node:
            yield path, node
            for key, child in node["properties"].items():
                yield from objects_in(child, f"{path}.{key}" if path else key)
    open_ = [path for path, node in objects_in(schema) if node.get("additionalProperties") is not False]
    assert open_ == [], "objects of the schema that accept unknown keys"
    render()  # the defaults validate
