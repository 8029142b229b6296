"""What EMQX 5 does with revoca's outputs, on Erlang/OTP's ssl and public_key
(Debian's erlang packages), through otp/emqx_tls.escript, which follows
EMQX's emqx_crl_cache, emqx_ssl_crl_cache and emqx_ocsp_cache."""
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT, Standalone, free_port, serial_of, wait_for
from otp_peer import EMQX_TLS, escript


@pytest.fixture(scope="module")
def emqx_files(tmp_path_factory):
    """A revoca on the examples, with a copy of the server certificate (revoking it
    makes revoca issue another) and two client certificates."""
    workdir = tmp_path_factory.mktemp("otp")
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port()).start()
    emqx = instance.deployment_dir()
    wait_for(lambda: (emqx / "emqx.env").exists() and (emqx / "cert.pem").exists(), what="emqx files")
    for name in ("cert.pem", "cert.key", "ca-cert.pem"):
        shutil.copyfile(emqx / name, workdir / f"server-{name}")
    for client in ("client-1", "client-2"):
        issued = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", client, "--ttl", "1d", "--cert-type", "client")
        (workdir / f"{client}.pem").write_text(issued["cert"])
        (workdir / f"{client}.key").write_text(issued["private-key"])
    env = dict(line.split("=", 1) for line in (emqx / "emqx.env").read_text().splitlines()
               if line and not line.startswith("#"))
    instance.files = workdir
    instance.env = {name: value.strip('"') for name, value in env.items()}  # HOCON quotes off
    yield instance
    instance.kill(signal.SIGTERM)


def revoke(instance, cert):
    instance.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial_of(cert))


def test_the_crl_from_the_distribution_point_validates_with_public_key(emqx_files):
    files = emqx_files.files
    # client-2 is revoked here; client-1 is left for the TLS test.
    assert escript("crl", files / "client-2.pem", files / "server-ca-cert.pem") == "valid"
    revoke(emqx_files, files / "client-2.pem")
    assert escript("crl", files / "client-2.pem", files / "server-ca-cert.pem") == "revoked keyCompromise"


def test_an_otp_ssl_listener_with_crl_check_refuses_a_revoked_client(emqx_files):
    files = emqx_files.files
    port = free_port()
    crl_url = f"{emqx_files.base}/crl-pem/default/mqtt-ca/1"
    log = files / "otp-server.log"
    server = subprocess.Popen(["escript", str(EMQX_TLS), "server", str(port), str(files / "server-cert.pem"),
                               str(files / "server-cert.key"), str(files / "server-ca-cert.pem"), crl_url],
                              stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "listening" in log.read_text() or server.poll() is not None, timeout=30, what="OTP listener")
        assert server.poll() is None, log.read_text()

        def verdicts():
            return [line for line in log.read_text().splitlines() if line.startswith(("accepted", "refused"))]

        def handshake(client):
            before = len(verdicts())
            subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2",
                            "-cert", str(files / f"{client}.pem"), "-key", str(files / f"{client}.key"),
                            "-CAfile", str(files / "server-ca-cert.pem")],
                           input="", capture_output=True, text=True, timeout=30)
            wait_for(lambda: len(verdicts()) > before, timeout=20, what="the server's verdict")
            return verdicts()[-1]

        assert handshake("client-1") == "accepted"
        revoke(emqx_files, files / "client-1.pem")
        verdict = handshake("client-1")
        assert verdict.startswith("refused") and "revoked" in verdict, verdict
    finally:
        server.kill()
        server.wait()


def test_the_ocsp_request_emqx_builds_gets_a_verified_answer(emqx_files):
    files = emqx_files.files
    url = next(value for name, value in emqx_files.env.items() if name.endswith("OCSP__RESPONDER_URL"))
    assert url.endswith("/")  # EMQX appends the base64 request to it
    assert escript("ocsp", url, files / "server-ca-cert.pem", files / "server-cert.pem") == "good"
    revoke(emqx_files, files / "server-cert.pem")
    assert escript("ocsp", url, files / "server-ca-cert.pem", files / "server-cert.pem") == "revoked keyCompromise"
