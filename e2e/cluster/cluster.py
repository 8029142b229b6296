"""A test Kubernetes control plane (etcd + kube-apiserver) for pytest, driven
through start.sh and stop.sh beside this file; see start.sh for what it has
and lacks (no kube-controller-manager).

    @pytest.fixture(scope="session")
    def cluster(tmp_path_factory):
        with Cluster(tmp_path_factory.mktemp("cluster")) as c:
            yield c

    def test_something(cluster):
        cluster.kubectl("get", "ns")
"""
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Cluster:
    scripts = HERE  # where start.sh and stop.sh are

    def __init__(self, workdir, kubectl=None):
        self.workdir = Path(workdir).resolve()
        self.kubeconfig = self.workdir / "kubeconfig"
        self.kubectl_binary = kubectl or os.environ.get("KUBECTL") or shutil.which("kubectl")
        if not self.kubectl_binary:  # build.sh's kubectl 1.34, once
            self.kubectl_binary = subprocess.run([str(HERE / "build.sh"), "kubectl"], check=True,
                                                 stdout=subprocess.PIPE, text=True).stdout.strip()

    def _script(self, name, *args, timeout, env=None):
        env = dict(os.environ, KUBECTL=self.kubectl_binary, **(env or {}))
        result = subprocess.run([str(self.scripts / name), str(self.workdir), *args], env=env,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{name} {self.workdir} {' '.join(args)} failed "
                               f"({result.returncode}):\n{result.stderr}")
        return result.stdout

    def start(self, timeout=1800):
        """Starts whatever is not running and waits for /readyz. The first call
        may build the binaries (build.sh), hence the long default timeout."""
        self._script("start.sh", timeout=timeout)
        return self

    def stop(self, *names, kill=False):
        """Stops the named processes ("kube-apiserver", "etcd"), default both;
        with kill, by SIGKILL (a crash) rather than SIGTERM."""
        self._script("stop.sh", *names, timeout=60, env={"STOP_SIGNAL": "KILL" if kill else "TERM"})

    def restart_apiserver(self, kill=False):
        self.stop("kube-apiserver", kill=kill)
        return self.start()

    def restart_etcd(self, kill=False):
        """A graceful etcd stop takes ~7 s while the apiserver is connected;
        kill=True takes none and loses no data (see stop.sh)."""
        self.stop("etcd", kill=kill)
        return self.start()

    @property
    def server(self):
        """The apiserver's URL, https://127.0.0.1:PORT."""
        ports = dict(line.split("=", 1) for line in (self.workdir / "ports").read_text().split())
        return f"https://127.0.0.1:{ports['APISERVER_PORT']}"

    def kubectl(self, *args, check=True, input=None, timeout=60):
        """Runs kubectl as the admin (system:masters); returns the
        CompletedProcess, raising with its stderr when check and it failed."""
        result = subprocess.run([self.kubectl_binary, f"--kubeconfig={self.kubeconfig}", *map(str, args)],
                                capture_output=True, text=True, input=input, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(map(str, args))} failed ({result.returncode}):\n"
                               f"{result.stderr}")
        return result

    def logs(self, name):
        """The log of "etcd" or "kube-apiserver" so far."""
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
