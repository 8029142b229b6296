"""nginx as the TLS server that staples revoca's OCSP answers for its own
certificate: `ssl_stapling on; ssl_stapling_verify on;` with revoca as the
responder, then the certificate revoked and nginx reloaded.

nginx fetches the staple itself, asynchronously, on the first handshake that
needs it (that handshake goes without one), verifies the response, and keeps
it until shortly before nextUpdate. Two nginx behaviours shape this suite:

* nginx looks for the OCSP response's signer only in the response's own
  `certs` and in the certificate chain of `ssl_certificate`
  (`ssl_trusted_certificate` is the trust store, not a place to find the
  signer), even with `ssl_stapling_verify off`. revoca signs with the CA key
  and puts the CA certificate in the response, so nginx serves revoca's bare
  cert.pem as written; without it nginx logs `OCSP_basic_verify() failed
  (... signer certificate not found)` and never staples.
* nginx never staples a response it fetched whose status is not `good`: it logs
  `certificate status "revoked" in the OCSP response` and sends no staple (and
  tries again 5 minutes later). A `revoked` staple is only ever sent from
  `ssl_stapling_file`, so the last test serves revoca's response that way.
"""
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, Standalone, free_port, openssl, serial_of, wait_for

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
SERVER_NAME = "mqtt.emqx.internal"

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


def children(pid):
    """The pids of pid's child processes (nginx's workers), read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


class Nginx:
    """An nginx master process in the foreground, on its own prefix, port and logs."""

    def __init__(self, prefix: Path):
        self.prefix = prefix
        self.port = free_port()
        self.conf = prefix / "nginx.conf"
        self.error_log = prefix / "error.log"
        self.process = None

    def write_config(self, certificate, key, trusted, responder=None, stapling_file=None):
        p = self.prefix
        stapling = ["ssl_stapling on;", "ssl_stapling_verify on;", f"ssl_trusted_certificate {trusted};"]
        if responder:
            # An IP address: no `resolver` needed.
            stapling.append(f"ssl_stapling_responder {responder};")
        if stapling_file:
            stapling.append(f"ssl_stapling_file {stapling_file};")
        # No `user` directive: as root the workers run as nobody, which is fine,
        # since only the master reads certificates, keys and staple files.
        self.conf.write_text(f"""
worker_processes 1;
pid {p}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/client_body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name {SERVER_NAME};
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        {' '.join(stapling)}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")

    def command(self, *args):
        return [NGINX, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e", str(self.error_log), *args]

    def start(self):
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stdout=open(self.prefix / "stdout.log", "ab"),
                                        stderr=subprocess.STDOUT)
        wait_for(lambda: self.alive() and children(self.process.pid), timeout=10, what="nginx workers")
        return self

    def alive(self):
        if self.process.poll() is not None:
            raise AssertionError(f"nginx exited with {self.process.returncode}:\n{self.logs()}")
        return True

    def reload(self):
        """`nginx -s reload`, then waits until only new workers serve the port."""
        old = children(self.process.pid)
        result = subprocess.run(self.command("-s", "reload"), capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr + self.logs()

        def only_new_workers():
            self.alive()
            now = children(self.process.pid)
            return now and not (now & old)
        wait_for(only_new_workers, timeout=10, what="nginx to replace its workers")

    def handshake(self, ca):
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", SERVER_NAME, "-status",
             "-CAfile", str(ca), "-verify_return_error"],
            input="", capture_output=True, text=True, timeout=20)
        return result.stdout + result.stderr

    def logs(self):
        text = self.error_log.read_text() if self.error_log.exists() else ""
        stdout = self.prefix / "stdout.log"
        return text + (stdout.read_text() if stdout.exists() else "")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def staple_of(output):
    """The s_client `-status` section: from `OCSP response:` to the certificate chain."""
    start = output.find("OCSP response:")
    assert start >= 0, output
    end = output.find("Certificate chain", start)
    return output[start:end if end >= 0 else len(output)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nginx")
    revoca = Standalone(workdir / "revoca", ROOT / "manifests" / "examples", free_port()).start()
    emqx = revoca.deployment_dir()
    wait_for(lambda: (emqx / "cert.pem").exists() and (emqx / "ca-cert.pem").exists(), what="the server certificate")
    prefix = workdir / "nginx"
    prefix.mkdir()
    # nginx's own copies: revoking the certificate makes revoca write a new one to
    # OUTPUT, and this suite decides which certificate nginx serves.
    for name in ("cert.pem", "cert.key", "ca-cert.pem"):
        shutil.copyfile(emqx / name, prefix / name)
    nginx = Nginx(prefix)
    nginx.revoca = revoca
    nginx.serial = serial_of(prefix / "cert.pem")
    nginx.ca = prefix / "ca-cert.pem"
    nginx.responder = f"{revoca.base}/ocsp/{revoca.tenant_uuid()}/mqtt-ca"
    nginx.write_config(prefix / "cert.pem", prefix / "cert.key", nginx.ca, responder=nginx.responder)
    nginx.start()
    yield nginx
    nginx.stop()
    revoca.kill(signal.SIGTERM)


def test_1_nginx_staples_revocas_verified_good_response(setup):
    nginx = setup

    def stapled():
        output = nginx.handshake(nginx.ca)
        assert "Verify return code: 0 (ok)" in output, output
        return "OCSP Response Status: successful" in output and output
    # The first handshake only starts nginx's request to the responder.
    output = wait_for(stapled, timeout=15, interval=0.3, what="nginx to staple an OCSP response:\n" + nginx.logs())
    staple = staple_of(output)
    assert "Cert Status: good" in staple, staple
    assert f"Serial Number: {nginx.serial}" in staple, staple
    # nginx verified the response (ssl_stapling_verify on) before stapling it.
    assert "OCSP_basic_verify() failed" not in nginx.logs()
    assert "[error]" not in nginx.logs(), nginx.logs()


def test_2_after_revocation_and_reload_nginx_refuses_revocas_revoked_answer(setup):
    nginx = setup
    revoca = nginx.revoca
    result = revoca.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", nginx.serial)
    assert result["revoked"] is True, result
    # revoca issues the VaultSecret a new certificate; nginx still has the revoked copy.
    emqx = revoca.deployment_dir()
    wait_for(lambda: serial_of(emqx / "cert.pem") != nginx.serial, timeout=5, what="a new server certificate")

    nginx.reload()
    marker = 'certificate status "revoked" in the OCSP response'

    def fetched_revoked():
        output = nginx.handshake(nginx.ca)
        assert "Cert Status: good" not in output, "a reloaded nginx still stapled good:\n" + output
        return marker in nginx.error_log.read_text()
    wait_for(fetched_revoked, timeout=15, interval=0.3, what=f"nginx to log {marker!r}:\n{nginx.logs()}")
    # The signature was verified first: that failure would be logged instead.
    assert "OCSP_basic_verify() failed" not in nginx.logs()
    for _ in range(3):
        output = nginx.handshake(nginx.ca)
        assert "OCSP response: no response sent" in output, output
        assert serial_of_served(output) == nginx.serial


def serial_of_served(output):
    """The serial of the certificate nginx served, from s_client's `Server certificate`
    (the staple printed before it holds revoca's CA certificate)."""
    start = output.index("-----BEGIN CERTIFICATE-----", output.index("Server certificate"))
    end = output.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    return openssl("x509", "-noout", "-serial", input=output[start:end] + "\n").stdout.strip().split("=", 1)[1]


def test_3_revocas_revoked_response_as_ssl_stapling_file_is_stapled_revoked(setup):
    nginx = setup
    staple_file = nginx.prefix / "staple.der"
    fetched = openssl("ocsp", "-issuer", nginx.ca, "-cert", nginx.prefix / "cert.pem", "-url", nginx.responder,
                      "-CAfile", nginx.ca, "-no_nonce", "-respout", staple_file, check=False)
    assert "Response verify OK" in fetched.stdout + fetched.stderr, fetched.stdout + fetched.stderr
    assert ": revoked" in fetched.stdout, fetched.stdout

    nginx.write_config(nginx.prefix / "cert.pem", nginx.prefix / "cert.key", nginx.ca,
                       responder=nginx.responder, stapling_file=staple_file)
    nginx.reload()
    output = nginx.handshake(nginx.ca)
    staple = staple_of(output)
    assert "OCSP Response Status: successful" in staple, output
    assert "Cert Status: revoked" in staple, staple
    assert "Revocation Reason: keyCompromise" in staple, staple
    assert f"Serial Number: {nginx.serial}" in staple, staple
    assert serial_of_served(output) == nginx.serial
