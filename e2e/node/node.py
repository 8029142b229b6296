"""A one-node Kubernetes cluster for pytest (start.sh and stop.sh beside this
file): the control plane of e2e/cluster plus kubelet, containerd, the
controllers, kube-proxy and CoreDNS, so that revoca's image runs as the
chart runs it and broker pods mount the Secrets revoca writes.

    with Node(tmp_path / "node", images=[revoca_image]) as node:
        node.helm("install", "revoca", CHART, "-n", "revoca-system", "--create-namespace", "--wait")
"""
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "cluster"))
from cluster import Cluster  # noqa: E402


def build(script, *args, timeout=1800):
    """Runs one of this directory's image scripts; the image's name."""
    result = subprocess.run([str(HERE / script), *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def cluster_binary(name):
    return subprocess.run([str(HERE.parent / "cluster" / "build.sh"), name], check=True, stdout=subprocess.PIPE,
                          text=True, timeout=3600).stdout.strip()


class Node(Cluster):
    scripts = HERE

    def __init__(self, workdir, images=(), kubectl=None):
        super().__init__(workdir, kubectl=kubectl or cluster_binary("kubectl"))
        self.images = list(images)
        self.helm_binary = os.environ.get("HELM") or cluster_binary("helm")

    def start(self, timeout=1800):
        """Starts whatever is not running, imports the images into containerd
        and waits for the node and CoreDNS to be Ready."""
        self._script("start.sh", timeout=timeout, env={"IMAGES": " ".join(self.images)})
        return self

    def stop(self, *names, kill=False):
        """With names ("kubelet", "containerd", ...), stops those; without,
        the whole node, putting the machine back as it was."""
        self._script("stop.sh", *names, timeout=120, env={"STOP_SIGNAL": "KILL" if kill else "TERM"})

    def restart_kubelet(self):
        self.stop("kubelet")
        return self.start()

    def helm(self, *args, check=True, timeout=300):
        result = subprocess.run([self.helm_binary, f"--kubeconfig={self.kubeconfig}", *map(str, args)],
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"helm {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
        return result

    def jsonpath(self, *args, path):
        return self.kubectl("get", *args, "-o", f"jsonpath={path}").stdout

    def service_ip(self, namespace, name):
        return self.jsonpath("-n", namespace, "service", name, path="{.spec.clusterIP}")

    def pod_volume(self, pod_uid, plugin, name):
        """Where kubelet (its root directory DIR/kubelet) mounts a pod's volume:
        the containers see the same files, so the host sees a change when they do."""
        return self.workdir / "kubelet" / "pods" / pod_uid / "volumes" / f"kubernetes.io~{plugin}" / name

    def kubelet_sync_seconds(self):
        """kubelet's syncFrequency, as start.sh configured it."""
        match = re.search(r"^syncFrequency: (\d+)s$", (self.workdir / "kubelet.yaml").read_text(), re.M)
        return int(match.group(1))
