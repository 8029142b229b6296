"""Shared fixtures of the end-to-end suites: revoca's binaries, a standalone
instance on a copy of manifests/examples, and small wrappers around the real
OpenSSL command-line tools."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("REVOCA_BUILD", ROOT / "build"))
REVOCA = BUILD / "bin" / "revoca"
REVOCACTL = BUILD / "bin" / "revocactl"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http(method, url, body=None, headers=None, timeout=5):
    """Returns (status, headers, body) and never raises on HTTP errors."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sample(text, series, **labels):
    """The value of SERIES{labels...} on a Prometheus page, or None."""
    for line in text.splitlines():
        if not line.startswith(series + "{") and not line.startswith(series + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def run(args, check=True, input=None, timeout=30):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, input=input, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Standalone:
    """A `revoca standalone` process on its own declarations, state and output."""

    def __init__(self, workdir: Path, declarations_from: Path, port: int, extra_args=()):
        self.workdir = workdir
        self.extra_args = [str(a) for a in extra_args]
        self.declarations = workdir / "declarations"
        self.state = workdir / "state"
        self.output = workdir / "output"
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.process = None
        self.log = workdir / "revoca.log"
        self.declarations.mkdir(parents=True, exist_ok=True)
        for source in sorted(declarations_from.glob("*.yaml")):
            # The examples name port 4664; each test instance has its own port.
            text = source.read_text().replace("127.0.0.1:4664", f"127.0.0.1:{port}")
            (self.declarations / source.name).write_text(text)

    def start(self):
        self.process = subprocess.Popen(
            [str(REVOCA), "standalone", "--declarations", str(self.declarations), "--state", str(self.state),
             "--output", str(self.output), "--listen", f"127.0.0.1:{self.port}", *self.extra_args],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: self.ready(), what="revoca /readyz")
        return self

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"revoca exited with {self.process.returncode}:\n{self.log.read_text()}")
        try:
            return http("GET", self.base + "/readyz", timeout=1)[0] == 200
        except OSError:
            return False

    def kill(self, sig=signal.SIGKILL):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)

    def ctl(self, *args, check=True):
        result = run([REVOCACTL, "--state", self.state, *args], check=check)
        return json.loads(result.stdout) if result.returncode == 0 else result

    def status(self, kind, name):
        for entry in self.ctl("status"):
            if entry["kind"] == kind and entry["name"] == name:
                return entry
        return None

    def deployment_dir(self, deployment="emqx", namespace="default"):
        return self.output / namespace / deployment

    def tenant_uuid(self):
        return self.ctl("get-tenant-uuid")["uuid"]


@pytest.fixture
def standalone_factory(tmp_path):
    instances = []

    def make(declarations_from=ROOT / "manifests" / "examples", name="revoca", extra_args=()):
        instance = Standalone(tmp_path / name, Path(declarations_from), free_port(), extra_args)
        instances.append(instance)
        return instance

    yield make
    for instance in instances:
        instance.kill(signal.SIGTERM)
    for instance in instances:
        assert_no_sanitizer_report(instance.log)


# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print
# when they find something. The sanitizer build (REVOCA_BUILD=build-asan)
# runs these suites too; a leak is only reported when the process exits, so
# it shows in the log rather than as a crash.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def assert_no_sanitizer_report(log: Path):
    if not log.exists():
        return
    text = log.read_text(errors="replace")
    for marker in SANITIZER_MARKERS:
        at = text.find(marker)
        if at >= 0:
            raise AssertionError(f"{log} holds a sanitizer report:\n{text[max(0, at - 200):at + 4000]}")


def openssl(*args, check=True, input=None, timeout=30):
    return run(["openssl", *args], check=check, input=input, timeout=timeout)


def serial_of(cert_path):
    return openssl("x509", "-in", cert_path, "-noout", "-serial").stdout.strip().split("=", 1)[1]


def pytest_configure(config):
    if not REVOCA.exists():
        raise pytest.UsageError(f"{REVOCA} is missing: build first (cmake -S . -B build && cmake --build build)")
    if shutil.which("openssl") is None:
        raise pytest.UsageError("the openssl command is missing: apt-get install openssl")
