#!/usr/bin/env python3
"""revoca at scale on the test control plane: a real kube-apiserver + etcd
(e2e/cluster), revoca run out of cluster (targets and figures:
bench/README.md).

  issuance  N VaultSecrets (each with its Vault, distributing to its own
            deployment) created at once: time until every one is Ready.
            Target: >= 100 per second (cert-manager's benchmark: ~1.6/s).
            Measured on the test cluster as the target sets it, then again
            once the cluster holds the unrelated Secrets of the memory target.
  memory    revoca's peak RSS with --scale VaultSecrets managed while the
            cluster holds --unrelated other Secrets. Target: <= 64 MB.
  start-up  revoca restarted with every object in place: time until the
            responder answers OCSP, until /readyz, and until every object is
            confirmed Ready; the ledger must not grow (no re-issuance).
  change    one VaultSecret's spec changed among them all: revoca's CPU and
            API requests until it is Ready again. Target: <= 5 requests and
            <= 20 ms.
  --compare BUILD measures start-up, change and another burst with BUILD
            (the previous main) too, on the same cluster, in the same run.
            Target: every object confirmed Ready at least 3x sooner. Each
            build first takes over from the other (a start that rewrites
            what the other wrote differently, shown apart), then restarts on
            its own writes: that start is the one compared.

Prints the figures. A benchmark, not a test: it never fails on a figure.
Usage: bench/kube_scale.py [--burst 1000] [--scale 10000] [--unrelated 30000] [--compare BUILD]
(revoca from $REVOCA_BUILD or ./build; kube-apiserver and etcd from
e2e/cluster/build.sh, cached in ~/.cache/revoca)."""
import argparse
import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "e2e" / "cluster"))
from cluster import Cluster  # noqa: E402
from kube_api import Api, ReadyWatch  # noqa: E402

BUILD = Path(os.environ.get("REVOCA_BUILD", ROOT / "build"))
NAMESPACE = "bench"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCRAPE_SECONDS = 15  # Prometheus' scrape_interval in most setups (its default is 1 min)


def http_get(url, timeout=1):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None, b""


def service_account_kubeconfig(cluster, workdir):
    """What `helm install` gives revoca in a cluster: the chart's
    ServiceAccount (cluster-wide RBAC, its default) and a token of it. The
    apiserver authenticates a token from a cache; the admin's client
    certificate it verifies on every request (about a tenth of its CPU in
    the burst), which no deployment of revoca pays."""
    helm = subprocess.run([str(ROOT / "e2e" / "cluster" / "build.sh"), "helm"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    rbac = subprocess.run([helm, "template", "revoca", str(ROOT / "helm" / "revoca"), "--namespace", NAMESPACE,
                           "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml"],
                          check=True, capture_output=True, text=True).stdout
    cluster.kubectl("apply", "-f", "-", input=rbac)
    user = f"system:serviceaccount:{NAMESPACE}:revoca"
    deadline = time.monotonic() + 30
    # The apiserver authorizes from its informer's copy of the RBAC objects: wait until it has them.
    while cluster.kubectl("auth", "can-i", "patch", "secrets", "-n", NAMESPACE, f"--as={user}",
                          check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"the chart's RBAC did not apply to {user}")
        time.sleep(0.2)
    token = cluster.kubectl("create", "token", "revoca", "-n", NAMESPACE, "--duration=24h").stdout.strip()
    ports = dict(line.strip().split("=", 1) for line in (cluster.workdir / "ports").read_text().splitlines())
    path = Path(workdir) / "revoca-sa.kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "bench", "cluster": {"server": f"https://127.0.0.1:{ports['APISERVER_PORT']}",
                                                   "certificate-authority": str(cluster.workdir / "pki" / "ca.crt")}}],
        "users": [{"name": "revoca", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "bench", "user": "revoca"}}]}))
    path.chmod(0o600)
    return path


class Revoca:
    """`revoca run` with `kubeconfig`, sampling its RSS every 100 ms."""

    def __init__(self, kubeconfig, workdir, build=BUILD):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # REVOCA_WRAPPER="heaptrack -o /tmp/revoca" profiles it; the RSS and restart figures are then the
        # wrapper's (heaptrack's script does not pass SIGTERM on).
        wrapper = os.environ.get("REVOCA_WRAPPER", "").split()
        self.args = wrapper + [Path(build) / "bin" / "revoca", "run", "--kubeconfig", kubeconfig, "--listen",
                     f"127.0.0.1:{self.port}", "--leader-election-namespace", NAMESPACE, "--log-level", os.environ.get("REVOCA_LOG_LEVEL", "warn")]
        self.log = Path(workdir) / f"revoca-{Path(build).name}.log"
        self.peak_rss_kb = 0
        self.process = None

    def start(self):
        self.process = subprocess.Popen([str(a) for a in self.args], stdout=open(self.log, "ab"),
                                        stderr=subprocess.STDOUT)
        threading.Thread(target=self._sample, args=(self.process,), daemon=True).start()
        threading.Thread(target=self._scrape, args=(self.process,), daemon=True).start()
        return self

    def _scrape(self, process):
        """/metrics every SCRAPE_SECONDS, as the Prometheus the chart's annotations invite
        would: a scrape's memory belongs in the peak."""
        while process.poll() is None:
            time.sleep(SCRAPE_SECONDS)
            http_get(self.base + "/metrics", timeout=10)

    def _sample(self, process):
        status = Path(f"/proc/{process.pid}/status")
        while process.poll() is None:
            try:
                text = status.read_text()
            except OSError:
                return
            found = re.search(r"VmRSS:\s+(\d+)", text)
            if not found:  # exiting: a zombie has no memory left to report
                break
            rss = int(found.group(1))
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            time.sleep(0.1)

    def hwm_kb(self):
        return int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{self.process.pid}/status").read_text()).group(1))

    def rss_kb(self):
        return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{self.process.pid}/status").read_text()).group(1))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def metric(self, name):
        """The sum of every series of `name` on /metrics (None before it answers)."""
        code, body = http_get(self.base + "/metrics", timeout=5)
        if code != 200:
            return None
        return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body.decode(), re.M))


def process_cpu(pid):
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def apiserver_requests(api):
    """kube-apiserver's request counts so far, by (verb, resource[/subresource]), from its /metrics."""
    # On a connection of its own: a kept-alive one may have been closed by the apiserver meanwhile.
    connection = http.client.HTTPSConnection(api.host, int(api.port), context=api.context, timeout=60)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    counts = {}
    for match in re.finditer(r'^apiserver_request_total\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        resource = labels.get("resource", "") + ("/" + labels["subresource"] if labels.get("subresource") else "")
        key = (labels.get("verb", ""), resource)
        counts[key] = counts.get(key, 0) + float(match.group(2))
    return counts


def cluster_pids(cluster):
    """etcd's and kube-apiserver's pids, from start.sh's record."""
    return dict((name, int(pid)) for name, pid in
                (line.split() for line in (cluster.workdir / "pids").read_text().splitlines() if line.strip()))


def pair(i):
    """A Vault distributing to its own deployment, and its VaultSecret."""
    name = f"broker-{i:05d}"
    vault = {"apiVersion": "revoca.io/v1alpha1", "kind": "Vault",
             "metadata": {"name": name, "namespace": NAMESPACE},
             "spec": {"distribute": {"deployments": [name]}}}
    secret = {"apiVersion": "revoca.io/v1alpha1", "kind": "VaultSecret",
              "metadata": {"name": name, "namespace": NAMESPACE},
              "spec": {"vault": name, "autoCert": {"issuingCa": "mqtt-ca", "host": f"{name}.{NAMESPACE}.svc",
                                                   "certType": "server", "ttl": "30d", "refreshThreshold": "15d"}}}
    base = f"/apis/revoca.io/v1alpha1/namespaces/{NAMESPACE}"
    return [(f"{base}/vaults", vault), (f"{base}/vaultsecrets", secret)]


def unrelated_secret(i):
    return (f"/api/v1/namespaces/{NAMESPACE}/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"unrelated-{i:05d}"},
             "data": {"payload": base64.b64encode(os.urandom(768)).decode()}})


def create_vaults(api, start, count):
    """The Vaults first: a VaultSecret whose Vault is not there yet is marked
    VaultNotFound (a status write and an Event) and waits for the next pass."""
    api.create_all([pair(i)[0] for i in range(start, start + count)], threads=8)


def create_secrets(api, start, count):
    api.create_all([pair(i)[1] for i in range(start, start + count)], threads=8)


def create_pairs(api, start, count):
    create_vaults(api, start, count)
    create_secrets(api, start, count)


def withdraw(api, start, count):
    """Deletes what pairs `start`..`start + count` made while no revoca runs:
    the VaultSecrets and Vaults, and the Secrets revoca wrote for them (their
    outputs, which the garbage collector a real cluster runs would delete, and
    their records). So each build compared starts on the same number of
    objects; the CA's ledger keeps the certificates issued, as it would."""
    base = f"/apis/revoca.io/v1alpha1/namespaces/{NAMESPACE}"
    names = [f"broker-{i:05d}" for i in range(start, start + count)]
    api.delete_all([f"{base}/vaultsecrets/{name}" for name in names] + [f"{base}/vaults/{name}" for name in names])
    for first in range(0, count, 100):
        selector = urllib.parse.quote(f"revoca.io/vaultsecret in ({','.join(names[first:first + 100])})")
        api.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}/secrets?labelSelector={selector}")


def wait_ready(watch, count, what, timeout):
    started = time.monotonic()
    if not watch.wait_ready(count, timeout):
        raise SystemExit(f"{what}: only {watch.count_ready()} of {count} Ready after {timeout}s")
    return time.monotonic() - started


def burst(cluster, api, revoca, watch, vaults, start, count):
    """`count` VaultSecrets created at once (their Vaults made Ready before,
    so what is measured is the VaultSecrets alone): the time until all are
    Ready, and the CPU and apiserver requests per VaultSecret meanwhile."""
    create_vaults(api, start, count)
    wait_ready(vaults, start + count, "vaults", timeout=600)
    time.sleep(1)  # the Vaults' status writes done
    cpu_before = {name: process_cpu(pid) for name, pid in cluster_pids(cluster).items()}
    cpu_before["revoca"] = process_cpu(revoca.process.pid)
    requests_before = apiserver_requests(api)
    started = time.monotonic()
    create_secrets(api, start, count)
    created = time.monotonic() - started
    ready = wait_ready(watch, start + count, "burst", timeout=600) + created
    cpu = {name: process_cpu(pid) - cpu_before[name] for name, pid in cluster_pids(cluster).items()}
    cpu["revoca"] = process_cpu(revoca.process.pid) - cpu_before["revoca"]
    requests_after = apiserver_requests(api)
    print(f"burst: {count} created in {created:.1f} s, all Ready after {ready:.1f} s ({count / ready:.0f}/s)",
          flush=True)
    return {"count": count, "created": created, "ready": ready,
            "cpu_ms": {name: seconds * 1000 / count for name, seconds in cpu.items()},
            "requests": {key: (n - requests_before.get(key, 0)) / count for key, n in requests_after.items()
                         if n - requests_before.get(key, 0) >= count / 20}}


def restart(revoca, watch, url, count, issued_before, api):
    """revoca started with `count` VaultSecrets (and their Vaults) in place:
    the seconds until the responder answers OCSP, until /readyz, and until
    every object is confirmed Ready; then whether anything was issued again,
    and the API requests it made on the way (the Lease's left out)."""
    serials_before = dict(watch.serial)
    requests_before = apiserver_requests(api)
    started = time.monotonic()
    revoca.start()
    answered = readyz = confirmed = None
    while (confirmed is None or readyz is None or answered is None) and time.monotonic() - started < 600:
        now = time.monotonic() - started
        if answered is None:
            code, body = http_get(url)
            if code == 200 and body:
                answered = now
        if readyz is None and http_get(revoca.base + "/readyz")[0] == 200:
            readyz = now
        if confirmed is None:
            ready_objects = revoca.metric("revoca_object_ready")
            if ready_objects is not None and ready_objects >= count * 2 + 1:
                confirmed = now
        time.sleep(0.05)
    requests_after = apiserver_requests(api)
    requests = {key: n - requests_before.get(key, 0) for key, n in requests_after.items()
                if n > requests_before.get(key, 0) and key[1] and key[1] not in PERIODIC}
    time.sleep(3)
    issued_after = revoca.metric("revoca_ca_issued_certificates")
    reissued = sum(1 for n, s in watch.serial.items() if serials_before.get(n) != s)
    print(f"restart: OCSP {answered}, readyz {readyz}, confirmed {confirmed}, re-issued {reissued}, "
          f"requests {requests}", flush=True)
    return answered, readyz, confirmed, issued_before, issued_after, reissued, requests


# Requests made on a timer whatever changes, not for the change: the Lease's renewals.
PERIODIC = {"leases"}


def one_change(cluster, api, revoca, watch, name):
    """One VaultSecret's spec changed (its ttl, so it is issued again) among
    all the others: revoca's CPU and the apiserver requests (the bench's own
    PATCH and the Lease's renewals left out) until it is Ready for its new
    generation."""
    time.sleep(5)  # settled after the restart
    cpu_before = process_cpu(revoca.process.pid)
    requests_before = apiserver_requests(api)
    started = time.monotonic()
    patched = api.request("PATCH", f"/apis/revoca.io/v1alpha1/namespaces/{NAMESPACE}/vaultsecrets/{name}",
                          {"spec": {"autoCert": {"ttl": "29d"}}}, content_type="application/merge-patch+json")
    if not watch.wait_ready_at(name, patched["metadata"]["generation"], timeout=120):
        raise SystemExit(f"{name} not Ready for its new generation after 120 s")
    took = time.monotonic() - started
    cpu_ms = (process_cpu(revoca.process.pid) - cpu_before) * 1000
    requests_after = apiserver_requests(api)
    requests = {key: n - requests_before.get(key, 0) for key, n in requests_after.items()
                if n > requests_before.get(key, 0) and key[1] and key[1] not in PERIODIC}
    requests[("PATCH", "vaultsecrets")] = requests.get(("PATCH", "vaultsecrets"), 0) - 1  # the bench's
    requests = {key: n for key, n in requests.items() if n > 0}
    print(f"change: Ready again after {took:.2f} s, revoca CPU {cpu_ms:.0f} ms, requests {requests}", flush=True)
    return {"seconds": took, "cpu_ms": cpu_ms, "requests": requests}


def ocsp_get_url(cluster, work, name):
    """The GET URL of an OCSP request for VaultSecret `name`'s certificate."""
    secret = cluster.kubectl("get", "secret", "-n", NAMESPACE, name, "-o", "jsonpath={.data}").stdout
    data = json.loads(secret)
    cert, ca = work / f"{name}.pem", work / f"{name}-ca.pem"
    cert.write_bytes(base64.b64decode(data["cert.pem"]))
    ca.write_bytes(base64.b64decode(data["ca-cert.pem"]))
    request = work / f"{name}.req"
    subprocess.run(["openssl", "ocsp", "-issuer", ca, "-cert", cert, "-no_nonce", "-reqout", request],
                   check=True, capture_output=True)
    text = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-text"], check=True, capture_output=True,
                          text=True).stdout
    url = re.search(r"OCSP - URI:(\S+)", text).group(1).rstrip("/")
    return url + "/" + urllib.parse.quote(base64.b64encode(request.read_bytes()).decode(), safe="")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=1000, help="VaultSecrets created at once (default 1000)")
    parser.add_argument("--scale", type=int, default=10000, help="VaultSecrets managed in the end (default 10000)")
    parser.add_argument("--unrelated", type=int, default=30000, help="other Secrets in the cluster (default 30000)")
    parser.add_argument("--admin", action="store_true",
                        help="run revoca with the admin's client certificate, not the chart's ServiceAccount token")
    parser.add_argument("--keep", action="store_true", help="leave the control plane's directory in place")
    parser.add_argument("--compare", metavar="BUILD",
                        help="another build directory (the previous main): restart, one change and a burst are "
                             "measured with it too, on the same cluster, before this build's")
    options = parser.parse_args()
    if options.scale < 2 * options.burst:
        parser.error(f"--scale ({options.scale}) must be at least twice --burst ({options.burst}): "
                     "the burst runs once before the unrelated Secrets and once after")
    work = Path(tempfile.mkdtemp(prefix="revoca-bench-kube-"))
    figures = {}
    cluster = Cluster(work / "cluster").start()
    revoca = None
    try:
        api = Api(cluster.kubeconfig)
        cluster.kubectl("apply", "--server-side", "-f", ROOT / "crds")
        cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        cluster.kubectl("create", "namespace", NAMESPACE)

        kubeconfig = cluster.kubeconfig if options.admin else service_account_kubeconfig(cluster, work)
        revoca = Revoca(kubeconfig, work).start()
        ca_text = (ROOT / "manifests" / "examples" / "mqtt-ca.yaml").read_text()
        ca_text = ca_text.replace("127.0.0.1:4664", f"127.0.0.1:{revoca.port}").replace(
            "namespace: default", f"namespace: {NAMESPACE}")
        cluster.kubectl("apply", "-f", "-", input=ca_text)
        cluster.kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "certificateauthority/mqtt-ca",
                        "--timeout=60s")
        figures["rss_idle_mb"] = revoca.rss_kb() / 1024

        watch = ReadyWatch(api, f"/apis/revoca.io/v1alpha1/namespaces/{NAMESPACE}/vaultsecrets")
        vaults = ReadyWatch(api, f"/apis/revoca.io/v1alpha1/namespaces/{NAMESPACE}/vaults")
        # The issuance target: 1,000 applied at once on the test cluster (revoca's CA
        # and nothing else).
        figures["burst"] = burst(cluster, api, revoca, watch, vaults, 0, options.burst)
        # The same again once the cluster holds the unrelated Secrets of the memory target.
        started = time.monotonic()
        api.create_all([unrelated_secret(i) for i in range(options.unrelated)], threads=8)
        print(f"{options.unrelated} unrelated Secrets created in {time.monotonic() - started:.1f} s", flush=True)
        figures["burst_crowded"] = burst(cluster, api, revoca, watch, vaults, options.burst, options.burst)

        first = 2 * options.burst
        remaining = options.scale - first
        started = time.monotonic()
        for start in range(first, options.scale, 1000):
            create_pairs(api, start, min(1000, options.scale - start))
        wait_ready(watch, options.scale, "scale", timeout=3600)
        total = time.monotonic() - started
        figures["scale"] = (remaining, total)
        print(f"scale: {remaining} more Ready in {total:.1f} s ({remaining / total:.0f}/s)", flush=True)
        time.sleep(5)  # in steady state
        figures["rss_steady_mb"] = revoca.rss_kb() / 1024
        figures["peak_mb"] = revoca.hwm_kb() / 1024
        url = ocsp_get_url(cluster, work, "broker-00000")

        # Each build in turn on the same cluster: a restart, one spec change,
        # then another burst (the previous main first, when compared).
        builds = ([("previous", Path(options.compare))] if options.compare else []) + [("this", BUILD)]
        figures["builds"] = {}
        managed = options.scale
        def restarted_as(build):
            issued = revoca.metric("revoca_ca_issued_certificates")
            revoca.stop()
            restarted = Revoca(kubeconfig, work, build)
            restarted.port, restarted.base = revoca.port, revoca.base
            restarted.args[restarted.args.index("--listen") + 1] = f"127.0.0.1:{revoca.port}"
            return restarted, issued

        for changed, (label, build) in enumerate(builds):
            of = figures["builds"][label] = {"build": str(build)}
            if options.compare:
                # A build that writes a status the other does not (a field one has and the
                # other lacks) rewrites every status once when it takes over, as at an
                # upgrade: that start is shown but not compared. The compared start is the
                # next, on what this build wrote itself.
                revoca, issued_before = restarted_as(build)
                of["takeover"] = restart(revoca, watch, url, managed, issued_before, api)
            revoca, issued_before = restarted_as(build)
            of["startup"] = restart(revoca, watch, url, managed, issued_before, api)
            of["peak_restart_mb"] = revoca.hwm_kb() / 1024
            of["change"] = one_change(cluster, api, revoca, watch, f"broker-{changed:05d}")
            of["burst"] = burst(cluster, api, revoca, watch, vaults, managed, 1000)
            of["peak_mb"] = revoca.hwm_kb() / 1024
            if changed + 1 < len(builds):  # the next build starts where this one did
                revoca.stop()
                withdraw(api, managed, 1000)
        report(options, figures)
    finally:
        if revoca:
            revoca.stop()
        cluster.stop()
        if not options.keep:
            subprocess.run(["rm", "-rf", str(work)])
        else:
            print(f"kept {work}")


def report(options, figures):
    remaining, total = figures["scale"]
    print(f"\nrevoca authenticated with {'the admin client certificate' if options.admin else 'the chart ServiceAccount token'}")
    for key, where in (("burst", "on the test cluster"),
                       ("burst_crowded", f"with {options.unrelated} unrelated Secrets in the cluster")):
        print_burst(figures[key], where, target=key == "burst")
    print(f"          {remaining} more, 1000 at a time: {total:.1f} s, {remaining / total:.0f}/s")
    print(f"memory:   {options.scale} VaultSecrets managed, {options.unrelated} unrelated Secrets: "
          f"peak RSS {figures['peak_mb']:.1f} MB (target <= 64), steady {figures['rss_steady_mb']:.1f} MB")
    fmt = lambda t: f"{t:.2f} s" if t is not None else "never"
    for label, of in figures["builds"].items():
        print(f"\n{label} build ({of['build']}):")
        if "takeover" in of:
            taken = of["takeover"]
            print(f"takeover: the first start on what the other build wrote: every object confirmed Ready after "
                  f"{fmt(taken[2])}, {sum(n for (verb, _), n in taken[6].items() if verb != 'LIST'):.0f} writes")
        answered, readyz, confirmed, before, after, reissued, requests = of["startup"]
        print(f"start-up: OCSP answered after {fmt(answered)}, /readyz after {fmt(readyz)}, every object confirmed "
              f"Ready after {fmt(confirmed)}; ledger {before:.0f} -> {after:.0f} serials, {reissued} status serials "
              f"changed (both must show no re-issuance); peak RSS through it {of['peak_restart_mb']:.1f} MB")
        print("          API requests until then: " +
              ", ".join(f"{verb} {resource} {n:.0f}" for (verb, resource), n in sorted(requests.items())))
        change = of["change"]
        print(f"one change among {options.scale}: Ready again after {change['seconds']:.2f} s, revoca CPU "
              f"{change['cpu_ms']:.0f} ms, {sum(change['requests'].values()):.0f} API requests (target <= 5 and "
              f"<= 20 ms): " + ", ".join(f"{verb} {resource} {n:.0f}" for (verb, resource), n in
                                        sorted(change["requests"].items())))
        print_burst(of["burst"], f"with {options.scale} in place", target=False)
        print(f"memory:   peak RSS {of['peak_mb']:.1f} MB over the restart, the change and the burst")
    if "previous" in figures["builds"]:
        previous, this = figures["builds"]["previous"], figures["builds"]["this"]
        if previous["startup"][2] and this["startup"][2]:
            print(f"\nrestart: every object confirmed Ready {previous['startup'][2] / this['startup'][2]:.1f}x "
                  f"sooner than the previous main (target >= 3x)")


def print_burst(b, where, target):
    print(f"issuance: {b['count']} VaultSecrets (their Vaults Ready before) created at once {where} in "
          f"{b['created']:.1f} s, all Ready after {b['ready']:.1f} s: {b['count'] / b['ready']:.0f}/s end to end"
          + (" (target >= 100/s; cert-manager ~1.6/s)" if target else ""))
    print("          CPU per VaultSecret: " +
          ", ".join(f"{name} {ms:.1f} ms" for name, ms in sorted(b["cpu_ms"].items())))
    print("          apiserver requests per VaultSecret (the client's create and watch included): " +
          ", ".join(f"{verb} {resource} {n:.2f}" for (verb, resource), n in
                    sorted(b["requests"].items(), key=lambda item: -item[1])))


if __name__ == "__main__":
    main()
