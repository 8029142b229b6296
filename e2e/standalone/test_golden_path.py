"""The README's golden path, steps 1 to 6, on one machine with no cluster:
revoca standalone on manifests/examples, checked with the real OpenSSL tools
only."""
import base64
import hashlib
import shutil
import signal
import time
import urllib.parse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import ROOT, Standalone, free_port, http, openssl, serial_of, wait_for
from emqx_rules import broken_emqx_rules
from tls_peers import SServer


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("golden")
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port()).start()
    emqx = instance.deployment_dir()
    wait_for(lambda: (emqx / "emqx.env").exists() and (emqx / "cert.pem").exists(), what="emqx files")
    # Keep the first server certificate: revoking it later makes revoca issue another.
    for name in ("cert.pem", "cert.key", "ca-cert.pem"):
        shutil.copyfile(emqx / name, workdir / f"server-{name}")
    instance.files = workdir
    client = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", "mqtt-client.example", "--ttl", "1d",
                          "--cert-type", "client")
    (workdir / "client.pem").write_text(client["cert"])
    (workdir / "client.key").write_text(client["private-key"])
    instance.client_serial = client["serial"]
    (workdir / "mqtt-ca.pem").write_text(instance.ctl("get-ca-cert", "--ca", "mqtt-ca")["cert"])
    yield instance
    instance.kill(signal.SIGTERM)


def crl_pem_url(instance, tenant="default"):
    return f"{instance.base}/crl-pem/{tenant}/mqtt-ca/1"


def fetch_crl_pem(instance):
    status, headers, body = http("GET", crl_pem_url(instance))
    assert status == 200, body
    path = instance.files / f"crl-{time.monotonic_ns()}.pem"
    path.write_bytes(body)
    return path


def crl_server(instance, crl_path):
    files = instance.files
    return SServer(files, "-cert", files / "server-cert.pem", "-key", files / "server-cert.key",
                   "-CAfile", files / "server-ca-cert.pem", "-Verify", "1", "-verify_return_error",
                   "-crl_check", "-CRL", crl_path)


def client_handshake(server, instance, *extra):
    files = instance.files
    return server.client("-CAfile", files / "mqtt-ca.pem", "-cert", files / "client.pem", "-key", files / "client.key",
                         "-servername", "mqtt.emqx.internal", "-verify_return_error", *extra)


def ocsp_url(instance):
    return f"{instance.base}/ocsp/{instance.tenant_uuid()}/mqtt-ca"


def ocsp_post(instance, serial, issuer=None):
    issuer = issuer or instance.files / "mqtt-ca.pem"
    return openssl("ocsp", "-issuer", issuer, "-serial", "0x" + serial, "-url", ocsp_url(instance),
                   "-CAfile", instance.files / "mqtt-ca.pem", "-resp_text", check=False)


def ocsp_get(instance, serial):
    request = instance.files / f"req-{serial}.der"
    openssl("ocsp", "-issuer", instance.files / "mqtt-ca.pem", "-serial", "0x" + serial, "-no_nonce",
            "-reqout", request)
    encoded = urllib.parse.quote(base64.b64encode(request.read_bytes()).decode(), safe="")
    status, headers, body = http("GET", ocsp_url(instance) + "/" + encoded)
    assert status == 200
    assert headers["Content-Type"] == "application/ocsp-response"
    response = instance.files / f"resp-{serial}.der"
    response.write_bytes(body)
    return openssl("ocsp", "-respin", response, "-issuer", instance.files / "mqtt-ca.pem",
                   "-CAfile", instance.files / "mqtt-ca.pem", "-resp_text", check=False), headers


def test_1_valid_client_passes_the_crl_check(golden):
    with crl_server(golden, fetch_crl_pem(golden)) as server:
        output = client_handshake(server, golden)
    assert "Verify return code: 0 (ok)" in output, output


def test_2_stapled_ocsp_response_is_good(golden):
    files = golden.files
    with SServer(files, "-cert", files / "server-cert.pem", "-key", files / "server-cert.key",
                 "-CAfile", files / "server-ca-cert.pem", "-status", "-status_url", ocsp_url(golden)) as server:
        output = server.client("-CAfile", files / "mqtt-ca.pem", "-status", "-servername", "mqtt.emqx.internal")
    assert "OCSP Response Status: successful" in output, output
    assert "Cert Status: good" in output, output


def test_3_revoking_a_client_reaches_crl_ocsp_and_handshake_within_a_second(golden):
    serial = golden.client_serial
    good = ocsp_post(golden, serial)
    assert "Cert Status: good" in good.stdout, good.stdout + good.stderr

    golden.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial)
    revoked_at = time.monotonic()

    def der_crl_lists_serial():
        status, headers, body = http("GET", f"{golden.base}/crl/default/mqtt-ca/1")
        assert status == 200 and headers["Content-Type"] == "application/pkix-crl"
        path = golden.files / "crl.der"
        path.write_bytes(body)
        text = openssl("crl", "-inform", "DER", "-in", path, "-noout", "-text").stdout
        return serial in text.replace(":", "").upper() and text
    text = wait_for(der_crl_lists_serial, timeout=1.0, what="the DER CRL to list the serial")
    assert time.monotonic() - revoked_at <= 1.0
    assert "Key Compromise" in text

    pem_text = openssl("crl", "-in", fetch_crl_pem(golden), "-noout", "-text").stdout
    assert serial in pem_text.replace(":", "").upper() and "Key Compromise" in pem_text

    post = ocsp_post(golden, serial)
    assert "Response verify OK" in post.stderr + post.stdout
    assert "Cert Status: revoked" in post.stdout and "keyCompromise" in post.stdout, post.stdout
    get, headers = ocsp_get(golden, serial)
    assert "Cert Status: revoked" in get.stdout, get.stdout + get.stderr
    for header in ("Cache-Control", "ETag", "Last-Modified", "Expires"):
        assert header in headers, headers

    # TLS 1.2: the server's alert ends the handshake itself (`SSL alert number 44`)
    # (with TLS 1.3 it arrives after the client's Finished).
    with crl_server(golden, fetch_crl_pem(golden)) as server:
        output = client_handshake(server, golden, "-tls1_2")
    assert "SSL alert number 44" in output and "certificate revoked" in output, output


def crl_number(instance):
    text = openssl("crl", "-in", fetch_crl_pem(instance), "-noout", "-crlnumber").stdout
    return int(text.strip().split("=", 1)[1], 16)


REVOCATION = """\
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: {name}}}
spec: {{ca: mqtt-ca, serial: "{serial}", reason: superseded}}
"""


def revocation_crl_number(instance, name):
    def number():
        entry = instance.status("CertificateRevocation", name)
        return entry and entry["ready"] and entry["facts"].get("crlNumber")
    return int(wait_for(number, timeout=10, what=f"status.crlNumber of CertificateRevocation {name}"))


def test_3b_a_revocation_keeps_the_number_of_the_first_crl_that_listed_it(golden):
    serials = [golden.ctl("issue-cert", "--ca", "mqtt-ca", "--host", f"revoked-{n}.example", "--ttl", "1d",
                          "--cert-type", "client")["serial"] for n in (1, 2)]
    (golden.declarations / "revocation-1.yaml").write_text(REVOCATION.format(name="revoked-1", serial=serials[0]))
    first = revocation_crl_number(golden, "revoked-1")
    assert crl_number(golden) == first

    (golden.declarations / "revocation-2.yaml").write_text(REVOCATION.format(name="revoked-2", serial=serials[1]))
    second = revocation_crl_number(golden, "revoked-2")
    time.sleep(2)  # passes go on reconciling both
    assert revocation_crl_number(golden, "revoked-1") == first
    assert first < second <= crl_number(golden)
    text = openssl("crl", "-in", fetch_crl_pem(golden), "-noout", "-text").stdout.replace(":", "").upper()
    assert serials[0] in text and serials[1] in text
    golden.first_crl_numbers = {"revoked-1": first, "revoked-2": second}


def test_4_revoking_the_server_certificate_makes_the_staple_revoked(golden):
    files = golden.files
    server_serial = serial_of(files / "server-cert.pem")
    golden.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "superseded", server_serial)
    with SServer(files, "-cert", files / "server-cert.pem", "-key", files / "server-cert.key",
                 "-CAfile", files / "server-ca-cert.pem", "-status", "-status_url", ocsp_url(golden)) as server:
        output = server.client("-CAfile", files / "mqtt-ca.pem", "-status", "-servername", "mqtt.emqx.internal")
    assert "Cert Status: revoked" in output, output
    # revoca replaces a revoked server certificate with a new one.
    emqx = golden.deployment_dir()
    wait_for(lambda: serial_of(emqx / "cert.pem") != server_serial, timeout=5, what="a new server certificate")


def test_5_unknown_unauthorized_malformed_and_oversized(golden):
    unknown = ocsp_post(golden, "1234ABCD")
    assert "Cert Status: unknown" in unknown.stdout, unknown.stdout + unknown.stderr

    stranger = golden.files / "stranger"
    stranger.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=stranger",
            "-keyout", stranger / "key.pem", "-out", stranger / "ca.pem", "-days", "1")
    unauthorized = ocsp_post(golden, "01", issuer=stranger / "ca.pem")
    assert "unauthorized" in (unauthorized.stdout + unauthorized.stderr).lower()

    status, headers, body = http("POST", ocsp_url(golden), body=b"this is not DER",
                                 headers={"Content-Type": "application/ocsp-request"})
    assert status == 200 and body == bytes([0x30, 0x03, 0x0A, 0x01, 0x01])  # malformedRequest

    status, _, _ = http("POST", ocsp_url(golden), body=b"\x30" * (11 * 1024),
                        headers={"Content-Type": "application/ocsp-request"})
    assert status == 413
    assert http("GET", golden.base + "/healthz")[0] == 200
    assert "Cert Status: good" in ocsp_post(golden, serial_of(golden.deployment_dir() / "cert.pem")).stdout




def test_6_sigkill_and_restart_keeps_key_serials_revocations_and_grows_crl_number(golden):
    key_file = golden.state / "cas" / "default" / "mqtt-ca" / "versions" / "1" / "key.pem"
    key_digest = hashlib.sha256(key_file.read_bytes()).hexdigest()
    ca_cert = golden.ctl("get-ca-cert", "--ca", "mqtt-ca")["cert"]
    number_before = crl_number(golden)
    server_serial = serial_of(golden.deployment_dir() / "cert.pem")

    golden.kill(signal.SIGKILL)
    golden.start()

    assert hashlib.sha256(key_file.read_bytes()).hexdigest() == key_digest
    assert golden.ctl("get-ca-cert", "--ca", "mqtt-ca")["cert"] == ca_cert
    assert crl_number(golden) > number_before
    # A new CRL after the restart, and the revocations keep their first one.
    time.sleep(1)
    for name, number in getattr(golden, "first_crl_numbers", {}).items():
        assert revocation_crl_number(golden, name) == number, name
    assert "Cert Status: revoked" in ocsp_post(golden, golden.client_serial).stdout
    assert "Cert Status: good" in ocsp_post(golden, server_serial).stdout
    crl_text = openssl("crl", "-in", fetch_crl_pem(golden), "-noout", "-text").stdout.replace(":", "").upper()
    assert golden.client_serial in crl_text
    # The server certificate was not issued again.
    assert serial_of(golden.deployment_dir() / "cert.pem") == server_serial


def test_emqx_env_is_rendered_like_the_seed(golden):
    env = dict(line.split("=", 1) for line in (golden.deployment_dir() / "emqx.env").read_text().splitlines()
               if line and not line.startswith("#"))
    prefix = "EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__"
    assert env["EMQX_LISTENERS__SSL__DEFAULT__BIND"] == '"0.0.0.0:8883"'
    assert env[prefix + "CERTFILE"] == '"/etc/emqx-certs/cert.pem"'
    assert env[prefix + "VERIFY"] == "verify_peer"
    assert env[prefix + "ENABLE_CRL_CHECK"] == "true"
    assert env["EMQX_CRL_CACHE__REFRESH_INTERVAL"] == "5m"
    assert env[prefix + "OCSP__RESPONDER_URL"] == f'"{ocsp_url(golden)}/"'
    assert env[prefix + "OCSP__ISSUER_PEM"] == '"/etc/emqx-certs/ca-cert.pem"'
    assert broken_emqx_rules(env) == []


def test_ca_bundle_is_the_ca_cert_pem_revoca_wrote(golden):
    url = f"{golden.base}/ca/{golden.tenant_uuid()}/mqtt-ca"
    status, headers, body = http("GET", url)
    assert status == 200, body
    assert headers["Content-Type"] == "application/pem-certificate-chain"
    assert body == (golden.deployment_dir() / "ca-cert.pem").read_bytes()
    ca = golden.ctl("get-ca-cert", "--ca", "mqtt-ca")
    assert body.decode() == ca["bundle"]
    newest = x509.load_pem_x509_certificates(body)[0]
    assert newest.public_bytes(serialization.Encoding.PEM).decode() == ca["cert"]
    assert http("GET", url, headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert http("GET", f"{golden.base}/ca/{golden.tenant_uuid()}/no-such-ca")[0] == 404
