"""mosquitto checking client certificates against revoca's CRL: a TLS listener
with `require_certificate true` and `crlfile` written from revoca's
/crl-pem/<tenant>/<ca>/<version>. A client certificate issued with revocactl
connects and publishes; once revoked (and mosquitto restarted on the new CRL,
since it reads crlfile only when it starts) it is refused, while another
client still gets through."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, Standalone, free_port, http, openssl, wait_for

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)
MOSQUITTO_PUB = shutil.which("mosquitto_pub")
MOSQUITTO_SUB = shutil.which("mosquitto_sub")
TOPIC = "revoca/e2e"

pytestmark = pytest.mark.skipif(
    None in (MOSQUITTO, MOSQUITTO_PUB, MOSQUITTO_SUB),
    reason="mosquitto or mosquitto-clients is not installed (apt-get install mosquitto mosquitto-clients)")


class Mosquitto:
    """A mosquitto broker in the foreground with one TLS listener on 127.0.0.1."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.process = None
        # Started as root, mosquitto switches to its `user` (default "mosquitto")
        # before it reads cafile and certfile, and could not read the test's files:
        # name the user running the test (ignored when that is not root).
        self.conf.write_text(f"""
user {pwd.getpwuid(os.geteuid()).pw_name}
persistence false
log_dest file {self.log}
log_type all
allow_anonymous true
listener {self.port} 127.0.0.1
cafile {workdir}/ca-cert.pem
certfile {workdir}/cert.pem
keyfile {workdir}/cert.key
require_certificate true
crlfile {workdir}/crl.pem
""")

    def start(self):
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=open(self.workdir / "stdout.log", "ab"),
                                        stderr=subprocess.STDOUT)

        def listening():
            if self.process.poll() is not None:
                raise AssertionError(f"mosquitto exited with {self.process.returncode}:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False
        wait_for(listening, timeout=15, what="mosquitto's listener")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self):
        self.stop()
        return self.start()

    def logs(self):
        # log_dest file is written line by line; stdout would be block-buffered.
        return "".join(path.read_text(errors="replace") for path in (self.log, self.workdir / "stdout.log")
                       if path.exists())

    def tls_options(self, client):
        # -h 127.0.0.1 matches the server certificate's IP altName: no --insecure.
        return ["-h", "127.0.0.1", "-p", str(self.port), "--cafile", str(self.workdir / "ca-cert.pem"),
                "--cert", str(self.workdir / f"{client}.pem"), "--key", str(self.workdir / f"{client}.key")]

    def publish(self, client, message):
        """A retained QoS 1 message: mosquitto_pub exits 0 only once the broker acknowledged it."""
        return subprocess.run([MOSQUITTO_PUB, *self.tls_options(client), "-i", f"{client}-pub", "-t", TOPIC,
                               "-m", message, "-q", "1", "-r"], capture_output=True, text=True, timeout=20)

    def receive(self, client):
        """The retained message of TOPIC, read by a subscriber."""
        result = subprocess.run([MOSQUITTO_SUB, *self.tls_options(client), "-i", f"{client}-sub", "-t", TOPIC,
                                 "-C", "1", "-W", "10"], capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, result.stdout + result.stderr + self.logs()
        return result.stdout.strip()


def write_crl(instance, path):
    status, headers, body = http("GET", f"{instance.base}/crl-pem/default/mqtt-ca/1")
    assert status == 200, body
    path.write_bytes(body)
    return openssl("crl", "-in", path, "-noout", "-text").stdout.replace(":", "").upper()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mosquitto")
    revoca = Standalone(workdir / "revoca", ROOT / "manifests" / "examples", free_port()).start()
    emqx = revoca.deployment_dir()
    wait_for(lambda: (emqx / "cert.pem").exists() and (emqx / "ca-cert.pem").exists(), what="the server certificate")
    files = workdir / "broker"
    files.mkdir()
    for name in ("cert.pem", "cert.key", "ca-cert.pem"):
        shutil.copyfile(emqx / name, files / name)
    serials = {}
    for client in ("client-1", "client-2"):
        issued = revoca.ctl("issue-cert", "--ca", "mqtt-ca", "--host", client, "--cert-type", "client")
        (files / f"{client}.pem").write_text(issued["cert"])
        (files / f"{client}.key").write_text(issued["private-key"])
        serials[client] = issued["serial"]
    write_crl(revoca, files / "crl.pem")
    broker = Mosquitto(files).start()
    broker.revoca = revoca
    broker.serials = serials
    yield broker
    broker.stop()
    revoca.kill(signal.SIGTERM)


def test_1_clients_of_revocas_ca_publish_through_the_crl_check(setup):
    broker = setup
    published = broker.publish("client-1", "hello from client-1")
    assert published.returncode == 0, published.stdout + published.stderr + broker.logs()
    assert broker.receive("client-2") == "hello from client-1"


def test_2_a_revoked_client_is_refused_after_mosquitto_reads_the_new_crl(setup):
    broker = setup
    serial = broker.serials["client-1"]
    result = broker.revoca.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial)
    assert result["revoked"] is True, result
    wait_for(lambda: serial in write_crl(broker.revoca, broker.workdir / "crl.pem"), timeout=5,
             what="the CRL to list the revoked serial")

    broker.restart()
    refused = broker.publish("client-1", "hello again from client-1")
    assert refused.returncode != 0, refused.stdout + refused.stderr + broker.logs()
    assert "certificate verify failed" in broker.logs(), broker.logs()

    # The reason, as a TLS 1.2 client sees it: the broker's alert 44.
    handshake = openssl("s_client", "-connect", f"127.0.0.1:{broker.port}", "-tls1_2",
                        "-CAfile", broker.workdir / "ca-cert.pem", "-cert", broker.workdir / "client-1.pem",
                        "-key", broker.workdir / "client-1.key", check=False, input="")
    output = handshake.stdout + handshake.stderr
    assert "certificate revoked" in output and "SSL alert number 44" in output, output

    # Not a broken CRL: the other client still connects, publishes and receives.
    published = broker.publish("client-2", "hello from client-2")
    assert published.returncode == 0, published.stdout + published.stderr + broker.logs()
    assert broker.receive("client-2") == "hello from client-2"
