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
  and a root CA (mqtt-ca here) puts its certificate in the response, so nginx
  serves revoca's bare cert.pem as written; without it nginx logs
  `OCSP_basic_verify() failed (... signer certificate not found)` and never
  staples. (An intermediate's answers carry no certificate; its leaves'
  cert.pem holds it: e2e/brokers/test_ocsp_verifiers.py.)
* nginx never staples a response it fetched whose status is not `good`: it logs
  `certificate status "revoked" in the OCSP response` and sends no staple (and
  tries again 5 minutes later). A `revoked` staple is only ever sent from
  `ssl_stapling_file`, so the last test serves revoca's response that way.
"""
import shutil
import signal

import pytest

from conftest import ROOT, Standalone, free_port, openssl, serial_of, wait_for
from nginx_peer import NGINX, Nginx, staple_of

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")


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
    nginx.wait_until_it_verifies_a_revoked_answer(nginx.ca)  # a reloaded nginx never staples good again
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
