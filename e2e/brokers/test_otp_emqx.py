"""What EMQX 5 does with revoca's outputs, on Erlang/OTP's ssl and public_key
(Debian's erlang packages), through otp/emqx_tls.escript, which follows
EMQX's emqx_crl_cache, emqx_ssl_crl_cache and emqx_ocsp_cache."""
import shutil
import signal

import pytest

from conftest import ROOT, Standalone, free_port, serial_of, wait_for
from otp_peer import OtpListener, escript


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
    crl_url = f"{emqx_files.base}/crl-pem/default/mqtt-ca/1"
    with OtpListener(files, [crl_url]) as listener:
        assert listener.handshake("client-1") == "accepted"
        revoke(emqx_files, files / "client-1.pem")
        verdict = listener.handshake("client-1")
        assert verdict.startswith("refused") and "revoked" in verdict, verdict


def test_the_ocsp_request_emqx_builds_gets_a_verified_answer(emqx_files):
    files = emqx_files.files
    url = next(value for name, value in emqx_files.env.items() if name.endswith("OCSP__RESPONDER_URL"))
    assert url.endswith("/")  # EMQX appends the base64 request to it
    assert escript("ocsp", url, files / "server-ca-cert.pem", files / "server-cert.pem") == "good"
    revoke(emqx_files, files / "server-cert.pem")
    assert escript("ocsp", url, files / "server-ca-cert.pem", files / "server-cert.pem") == "revoked keyCompromise"
