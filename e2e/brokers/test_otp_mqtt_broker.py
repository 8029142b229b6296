"""The OTP MQTT broker (otp/mqtt_broker.escript) that stands in for EMQX where
the cluster suites need a broker holding connections: on revoca's server
certificate, with mosquitto's clients on revoca's client certificates. It
relays a message, refuses a client without a certificate, and refuses a
revoked client with certificate_revoked once its periodic CRL refresh has
fetched revoca's new CRL, as EMQX's emqx_crl_cache does. Then the same in its
image (e2e/node/build-broker-image.sh), run as a pod would run it."""
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT, Standalone, free_port, serial_of, wait_for

BROKER = ROOT / "e2e" / "brokers" / "otp" / "mqtt_broker.escript"
NODE = ROOT / "e2e" / "node"
TOPIC = "revoca/otp"
REFRESH_SECONDS = 2

pytestmark = pytest.mark.skipif(
    None in (shutil.which("escript"), shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")),
    reason="escript or mosquitto-clients is not installed (scripts/install-deps.sh)")


@pytest.fixture(scope="module")
def revoca(tmp_path_factory):
    """revoca standalone on the examples; FILES holds the EMQX deployment's
    server certificate under the broker's default names, and client-1..3."""
    workdir = tmp_path_factory.mktemp("otp-mqtt")
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port()).start()
    emqx = instance.deployment_dir()
    wait_for(lambda: (emqx / "cert.pem").exists() and (emqx / "ca-cert.pem").exists(), what="emqx files")
    files = workdir / "tls"
    files.mkdir()
    for name in ("cert.pem", "cert.key", "ca-cert.pem"):
        shutil.copyfile(emqx / name, files / f"server-{name}")
        os.chmod(files / f"server-{name}", 0o644)  # readable by the container's uid 65532
    for client in ("client-1", "client-2", "client-3"):
        issued = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", client, "--ttl", "1d", "--cert-type", "client")
        (files / f"{client}.pem").write_text(issued["cert"])
        (files / f"{client}.key").write_text(issued["private-key"])
    instance.files = files
    yield instance
    instance.kill(signal.SIGTERM)


class Broker:
    """A running broker (a process, or a container) whose stdout is LOG."""

    def __init__(self, files, port, log, stop):
        self.files, self.port, self.log, self.stop = files, port, log, stop

    def lines(self):
        return self.log.read_text(errors="replace").splitlines()

    def wait_for_line(self, pattern, after=0, timeout=30):
        def found():
            return next((line for line in self.lines()[after:] if re.fullmatch(pattern, line)), None)
        return wait_for(found, timeout=timeout, what=f"a line {pattern!r} from the broker:\n{self.log.read_text()}")

    def tls_args(self, client):
        args = ["-h", "127.0.0.1", "-p", str(self.port), "--cafile", str(self.files / "server-ca-cert.pem"),
                "-i", client or "anonymous"]
        if client:
            args += ["--cert", str(self.files / f"{client}.pem"), "--key", str(self.files / f"{client}.key")]
        return args

    def publish(self, client, message):
        return subprocess.run(["mosquitto_pub", *self.tls_args(client), "-t", TOPIC, "-m", message, "-q", "1"],
                              capture_output=True, text=True, timeout=30)

    def relays(self, subscriber, publisher, message):
        """Whether MESSAGE, published by PUBLISHER, reaches SUBSCRIBER."""
        before = len(self.lines())
        sub = subprocess.Popen(["mosquitto_sub", *self.tls_args(subscriber), "-t", "revoca/#", "-C", "1", "-W", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            self.wait_for_line(f"connected {subscriber} [0-9A-F]+", after=before)
            published = self.publish(publisher, message)
            assert published.returncode == 0, published.stdout + published.stderr
            out, _ = sub.communicate(timeout=30)
        finally:
            sub.kill()
            sub.wait()
        return out.strip() == message

    def verdict(self, client):
        """The broker's line on CLIENT connecting and publishing: "connected ..." or "refused ..."."""
        before = len(self.lines())
        self.publish(client, "hello")
        return self.wait_for_line(rf"(connected {client or 'anonymous'} .*|refused .*)", after=before)


def start_on_host(files, port, log):
    env = dict(os.environ, BROKER_PORT=str(port), BROKER_CRL_REFRESH_SECONDS=str(REFRESH_SECONDS),
               BROKER_PEM_CACHE_CLEAN_MS="5000")
    process = subprocess.Popen(["escript", str(BROKER), str(files)], env=env, stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT)

    def stop():
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    return Broker(files, port, log, stop)


def check_relay_and_revocation(revoca, broker):
    broker.wait_for_line(f"listening {broker.port} crl_refresh_ms {REFRESH_SECONDS * 1000}")
    files = revoca.files
    assert broker.relays("client-1", "client-2", "through OTP")
    assert broker.verdict("client-1") == f"connected client-1 {serial_of(files / 'client-1.pem')}"
    # The first handshake put the CRL of client-1's distribution point in the cache.
    crl_url = f"{revoca.base}/crl-pem/default/mqtt-ca/1"
    crl_line = rf"crl {re.escape(crl_url)} (\d+)"
    broker.wait_for_line(crl_line)

    refusal = broker.verdict(None)
    assert refusal.startswith(("refused certificate_required ", "refused handshake_failure ")), refusal

    revoked = int(re.fullmatch(crl_line, [line for line in broker.lines() if re.fullmatch(crl_line, line)][-1])[1])
    revoca.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial_of(files / "client-1.pem"))
    # Within one refresh the broker holds revoca's new CRL, and refuses client-1 for it.
    broker.wait_for_line(rf"crl {re.escape(crl_url)} {revoked + 1}", timeout=REFRESH_SECONDS * 5)
    assert broker.verdict("client-1").startswith("refused certificate_revoked "), broker.log.read_text()
    assert broker.relays("client-3", "client-2", "still through")
    closed = [line for line in broker.lines() if line.startswith("closed ")]
    assert closed and all(line.endswith(" disconnect") for line in closed), closed


def test_the_broker_relays_and_refuses_a_revoked_client_after_its_crl_refresh(revoca, tmp_path):
    broker = start_on_host(revoca.files, free_port(), tmp_path / "broker.log")
    try:
        check_relay_and_revocation(revoca, broker)
        status = subprocess.run(["mosquitto_sub", *broker.tls_args("client-2"), "-t",
                                 "$SYS/broker/clients/connected", "-C", "1", "-W", "10"],
                                capture_output=True, text=True, timeout=30)
        assert status.stdout.strip() == "1", status.stdout + status.stderr  # itself
    finally:
        broker.stop()


def podman(*args, timeout=120):
    env = dict(os.environ, CONTAINERS_CONF=str(NODE / "containers.conf"))
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def image():
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("buildah", "podman", "debootstrap")):
        pytest.skip("needs root, buildah, podman and debootstrap (scripts/install-deps.sh)")
    built = subprocess.run([NODE / "build-broker-image.sh"], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout + built.stderr
    return built.stdout.strip().splitlines()[-1]


def test_the_image_runs_the_broker_as_65532_on_a_read_only_root(revoca, image, tmp_path):
    # New certificates: client-1's may be revoked by the test above.
    files = revoca.files
    for client in ("client-1", "client-2", "client-3"):
        issued = revoca.ctl("issue-cert", "--ca", "mqtt-ca", "--host", client, "--ttl", "1d", "--cert-type", "client")
        (files / f"{client}.pem").write_text(issued["cert"])
        (files / f"{client}.key").write_text(issued["private-key"])
    port = free_port()
    name = f"mqtt-broker-{port}"
    log = tmp_path / "container.log"
    # In the foreground, its output straight into LOG.
    container = subprocess.Popen(
        ["podman", "run", "--rm", "--name", name, "--network", "host", "--read-only", "--user", "65532",
         "--cap-drop=ALL", "--security-opt", "no-new-privileges", "-v", f"{files}:/tls:ro",
         "-e", f"BROKER_PORT={port}", "-e", f"BROKER_CRL_REFRESH_SECONDS={REFRESH_SECONDS}", image],
        env=dict(os.environ, CONTAINERS_CONF=str(NODE / "containers.conf")), stdout=open(log, "wb"),
        stderr=subprocess.STDOUT)

    def stop():
        podman("rm", "-f", name)
        container.wait(timeout=60)
    broker = Broker(files, port, log, stop)
    try:
        check_relay_and_revocation(revoca, broker)
        identity = podman("exec", name, "sh", "-c", "id -u; touch /x 2>&1 || true")
        assert identity.stdout.splitlines()[0] == "65532", identity.stdout
        assert "Read-only file system" in identity.stdout, identity.stdout
    finally:
        stop()
