"""Changing a CA's crlDistUrls strands no certificate. The host of the URL
changes (127.0.0.1 to localhost, as docs/emqx.md has users change it to the
Service name), then its path (the tenant's name to its UUID); a certificate
of each CA version is then revoked. OpenSSL (`openssl verify -crl_check`,
which refuses a CRL of "different CRL scope") and EMQX's stack (OTP's
public_key:pkix_crls_validate, and an ssl listener with crl_check, which
find "no_relevant_crls") accept the good certificates issued before and
after each change and refuse the revoked ones: each CA version keeps the
URLs it was made with, and its CRL names them."""
import re
import shutil
import signal
import urllib.request

import pytest

from conftest import ROOT, Standalone, free_port, openssl, serial_of, wait_for
from otp_peer import OtpListener, escript

PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", re.S)

# Which CA version signs each client: 1 before the changes, 2 after the host
# changed, 3 after the path changed. The "revoked" ones are revoked at the end.
CLIENTS = {"v1-good": 1, "v1-revoked": 1, "v2-good": 2, "v2-revoked": 2, "v3-good": 3, "v3-revoked": 3}


def distribution_point(cert):
    text = openssl("x509", "-in", cert, "-noout", "-ext", "crlDistributionPoints").stdout
    return re.search(r"URI:(\S+)", text).group(1)


def ca_version(instance):
    status = instance.status("CertificateAuthority", "mqtt-ca")
    return int(status["facts"]["version"]) if status and status["ready"] else 0


def signing_version(instance):
    status = instance.status("CertificateAuthority", "mqtt-ca")
    return int(status["facts"]["clientSigningVersion"]) if status and status["ready"] else 0


def change_crl_url(instance, old, new, version):
    """Edits the CA's crlDistUrls and waits for the CA version it makes to sign."""
    declaration = instance.declarations / "mqtt-ca.yaml"
    text = declaration.read_text()
    line = next(line for line in text.splitlines() if "/crl-pem/" in line)
    assert old in line
    declaration.write_text(text.replace(line, line.replace(old, new)))
    wait_for(lambda: ca_version(instance) == version, what=f"CA version {version}")
    # A new version is only trusted at first (spec.rotation): it signs after 2 s here.
    wait_for(lambda: signing_version(instance) == version, timeout=30, interval=0.2,
             what=f"CA version {version} signing")


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("crl-url-change")
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port())
    declaration = instance.declarations / "mqtt-ca.yaml"
    text = declaration.read_text()
    assert "  renewThreshold: 30d\n" in text
    declaration.write_text(text.replace("  renewThreshold: 30d\n", "  renewThreshold: 30d\n"
                                        "  rotation: {propagationDelay: 2s, trustRolloutPeriod: 2s}\n"))
    instance.start()
    emqx = instance.deployment_dir()
    wait_for(lambda: (emqx / "cert.pem").exists() and ca_version(instance) == 1, what="CA version 1")
    port = instance.port

    def issue_clients(version):
        # The CA's bundle lists its live versions newest first: the first signs now.
        bundle = (emqx / "mqtt-ca.ca.pem").read_text()
        (workdir / f"issuer-v{version}.pem").write_text(PEM_BLOCK.findall(bundle)[0])
        for name in (name for name, signer in CLIENTS.items() if signer == version):
            issued = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", name, "--ttl", "1d",
                                  "--cert-type", "client")
            (workdir / f"{name}.pem").write_text(issued["cert"])
            (workdir / f"{name}.key").write_text(issued["private-key"])

    issue_clients(1)
    change_crl_url(instance, f"http://127.0.0.1:{port}/", f"http://localhost:{port}/", 2)
    issue_clients(2)
    change_crl_url(instance, "/crl-pem/${SYS_TENANT_NAME}/", "/crl-pem/${SYS_TENANT_UUID}/", 3)
    issue_clients(3)
    # Each revocation re-signs the CRL of the version that signed the certificate.
    for name in CLIENTS:
        if name.endswith("revoked"):
            instance.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", serial_of(workdir / f"{name}.pem"))
    instance.files = workdir
    yield instance
    instance.kill(signal.SIGTERM)


def test_each_version_carries_the_urls_it_was_made_with_and_its_status_says_so(changed):
    files, port, uuid = changed.files, changed.port, changed.tenant_uuid()
    assert distribution_point(files / "v1-good.pem") == f"http://127.0.0.1:{port}/crl-pem/default/mqtt-ca/1"
    assert distribution_point(files / "v2-good.pem") == f"http://localhost:{port}/crl-pem/default/mqtt-ca/2"
    assert distribution_point(files / "v3-good.pem") == f"http://localhost:{port}/crl-pem/{uuid}/mqtt-ca/3"
    status = changed.status("CertificateAuthority", "mqtt-ca")
    assert status["facts"]["crlUrl"] == f"http://localhost:{port}/crl-pem/{uuid}/mqtt-ca/3"
    assert status["facts"]["liveVersions"] == "3"
    assert "took effect with version 3" in status["message"], status["message"]
    assert "versions 1, 2 keep the CRL URLs they carry" in status["message"], status["message"]


@pytest.mark.parametrize("client", CLIENTS)
def test_openssl_checks_each_certificate_against_the_crl_its_distribution_point_serves(changed, client):
    files = changed.files
    cert = files / f"{client}.pem"
    crl = files / f"{client}-crl.pem"
    with urllib.request.urlopen(distribution_point(cert), timeout=5) as response:
        crl.write_bytes(response.read())
    # Every live version in the trust file, as in the broker's ca-cert.pem.
    result = openssl("verify", "-crl_check", "-CAfile", changed.deployment_dir() / "ca-cert.pem", "-CRLfile", crl,
                     cert, check=False)
    output = result.stdout + result.stderr
    if client.endswith("good"):
        assert result.returncode == 0 and f"{cert}: OK" in output, output
    else:
        assert result.returncode != 0 and "certificate revoked" in output, output
    assert "different CRL scope" not in output


@pytest.mark.parametrize("client", CLIENTS)
def test_public_key_validates_each_certificate_with_the_crl_of_its_distribution_point(changed, client):
    verdict = escript("crl", changed.files / f"{client}.pem", changed.files / f"issuer-v{CLIENTS[client]}.pem")
    assert verdict == ("valid" if client.endswith("good") else "revoked keyCompromise")


def test_an_otp_listener_with_crl_check_accepts_the_good_and_refuses_the_revoked_of_every_version(changed):
    files, emqx = changed.files, changed.deployment_dir()
    for name in ("cert.pem", "cert.key", "ca-cert.pem"):
        shutil.copyfile(emqx / name, files / f"server-{name}")
    # As EMQX's CRL cache holds them: every distribution point its clients name.
    crl_urls = sorted({distribution_point(files / f"{client}.pem") for client in CLIENTS})
    assert len(crl_urls) == 3
    with OtpListener(files, crl_urls) as listener:
        for client in CLIENTS:
            verdict = listener.handshake(client)
            if client.endswith("good"):
                assert verdict == "accepted", (client, verdict)
            else:
                assert verdict.startswith("refused") and "revoked" in verdict, (client, verdict)


def test_the_ocsp_request_emqx_builds_for_its_own_certificate_is_still_answered_good(changed):
    # The broker's certificate is version 1's; EMQX asks about it under the
    # first certificate of ca-cert.pem, which must be version 1, not the newest.
    emqx = changed.deployment_dir()
    env = dict(line.split("=", 1) for line in (emqx / "emqx.env").read_text().splitlines()
               if line and not line.startswith("#"))
    url = next(value.strip('"') for name, value in env.items() if name.endswith("OCSP__RESPONDER_URL"))
    assert escript("ocsp", url, emqx / "ca-cert.pem", emqx / "cert.pem") == "good"
