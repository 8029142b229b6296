"""revoca's OCSP answers, from root CAs and from intermediate CAs they signed
(ECDSA and RSA), checked by every mainstream verifier, each of which must
accept a `good` and a `revoked` answer of each CA and refuse the same answer
changed after signing or checked against another CA:

* `openssl ocsp`, asking revoca itself and reading the saved answers;
* nginx's `ssl_stapling_verify`, with `openssl s_client -status` reading what
  nginx staples (and what `openssl s_server` staples from a file);
* Go's golang.org/x/crypto/ocsp ParseResponseForCert (e2e/tools/ocspcheck);
* Erlang/OTP's public_key:pkix_ocsp_validate (otp/ocsp_validate.escript;
  before OTP 27 it cannot read EC keys nor answers without certificates, and
  the script makes the same checks with public_key's primitives instead);
* Python cryptography's OCSP reader, the signature checked with the issuer's key.

Go is the reason the two kinds of CA answer differently: it takes the first
certificate in an answer's `certs` for a delegated responder the issuer must
have signed (golang/go#59641), so an intermediate's answers carry none, while
a root's carry the root, which nginx needs and which Go accepts (the root
signed itself).
"""
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, Standalone, free_port, openssl, wait_for
from nginx_peer import NGINX, Nginx, SERVER_NAME, staple_of
from tls_peers import SServer

ESCRIPT = ROOT / "e2e" / "brokers" / "otp" / "ocsp_validate.escript"
OCSPCHECK_BUILD = ROOT / "e2e" / "tools" / "ocspcheck" / "build.sh"

# Each key type (the default ECDSA, and RSA) as a root and as an intermediate
# under that root: (name, its issuer or None, the key's declaration).
CAS = [
    ("ec-root", None, "certKeyType: ecdsa, certKeyCurve: secp256r1, digest: sha256"),
    ("ec-intermediate", "ec-root", "certKeyType: ecdsa, certKeyCurve: secp384r1, digest: sha384"),
    ("rsa-root", None, "certKeyType: rsa, certKeySize: 2048, digest: sha256"),
    ("rsa-intermediate", "rsa-root", "certKeyType: rsa, certKeySize: 2048, digest: sha256"),
]


def declaration(name, issuer, key):
    # 127.0.0.1:4664 becomes the test's port (conftest.Standalone).
    return f"""
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {{name: {name}, namespace: default}}
spec: {{{f"issuingCa: {issuer}, " if issuer else ""}ttl: 200d, {key},
  crlDistUrls: ["http://127.0.0.1:4664/crl-pem/${{SYS_TENANT_NAME}}/${{SYS_CA_NAME}}/${{SYS_CA_VERSION}}"],
  ocspResponderUrls: ["http://127.0.0.1:4664/ocsp/${{SYS_TENANT_UUID}}/${{SYS_CA_NAME}}"]}}
"""


class Case:
    """One CA's side: its certificate, the root, a good and a revoked server
    certificate (each with its chain, as revoca issues it), and revoca's
    answer about each, fetched once with `openssl ocsp` and not verified, so
    that every verifier judges the same bytes."""

    def __init__(self, revoca, ca, root, workdir: Path):
        self.ca = ca
        self.is_root = ca == root
        self.dir = workdir
        self.url = f"{revoca.base}/ocsp/{revoca.tenant_uuid()}/{ca}"
        self.issuer = self.write("issuer.pem", revoca.ctl("get-ca-cert", "--ca", ca)["cert"])
        self.root = self.write("root.pem", revoca.ctl("get-ca-cert", "--ca", root)["cert"])
        self.certs, self.keys, self.responses = {}, {}, {}
        for status in ("good", "revoked"):
            issued = revoca.ctl("issue-cert", "--ca", ca, "--host", SERVER_NAME, "--ttl", "1d",
                                "--cert-type", "server")
            self.certs[status] = self.write(f"{status}.pem", issued["cert"])
            self.keys[status] = self.write(f"{status}.key", issued["private-key"])
            if status == "revoked":
                revoca.ctl("revoke-cert", "--ca", ca, "--reason", "keyCompromise", issued["serial"])
            self.responses[status] = self.dir / f"{status}.der"
            openssl("ocsp", "-issuer", self.issuer, "-cert", self.certs[status], "-url", self.url, "-no_nonce",
                    "-noverify", "-respout", self.responses[status], "-timeout", "5")
        self.forged = self.dir / "forged.der"
        self.forged.write_bytes(a_second_later(self.responses["good"].read_bytes()))

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return path


def a_second_later(answer: bytes) -> bytes:
    """The answer with its producedAt moved on by a second, after signing."""
    # ResponseData opens with responderID byKey, [2] { OCTET STRING (20) },
    # then producedAt, GeneralizedTime (15) YYYYMMDDHHMMSSZ.
    at = answer.index(b"\xa2\x16\x04\x14") + 24
    assert answer[at:at + 2] == b"\x18\x0f", answer.hex()
    second = at + 2 + 13
    return answer[:second] + str((int(chr(answer[second])) + 1) % 10).encode() + answer[second + 1:]


@pytest.fixture(scope="module")
def revoca(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ocsp-verifiers")
    (workdir / "declarations").mkdir()
    (workdir / "declarations" / "cas.yaml").write_text("---".join(declaration(*ca) for ca in CAS))
    instance = Standalone(workdir / "revoca", workdir / "declarations", free_port()).start()
    wait_for(lambda: all((instance.status("CertificateAuthority", name) or {}).get("ready") for name, _, _ in CAS),
             timeout=60, what="every CA ready")
    yield instance
    instance.kill(signal.SIGTERM)


@pytest.fixture(scope="module", params=CAS, ids=[name for name, _, _ in CAS])
def case(request, revoca, tmp_path_factory):
    name, issuer, _ = request.param
    return Case(revoca, name, issuer or name, tmp_path_factory.mktemp(name))


def test_the_root_carries_its_certificate_and_the_intermediate_none(case):
    text = openssl("ocsp", "-respin", case.responses["good"], "-resp_text", "-noverify").stdout
    carried = text.count("-----BEGIN CERTIFICATE-----")
    assert carried == (1 if case.is_root else 0), text


@pytest.mark.parametrize("status", ["good", "revoked"])
def test_openssl_ocsp(case, status):
    # Asked afresh, with a nonce, and verified against the root alone: the
    # intermediate is found as the -issuer given.
    result = openssl("ocsp", "-issuer", case.issuer, "-cert", case.certs[status], "-url", case.url,
                     "-CAfile", case.root, "-timeout", "5", check=False)
    output = result.stdout + result.stderr
    assert "Response verify OK" in output, output
    assert f": {status}" in result.stdout, output
    # And the answer every other verifier reads.
    result = openssl("ocsp", "-respin", case.responses[status], "-issuer", case.issuer, "-cert", case.certs[status],
                     "-CAfile", case.root, check=False)
    assert "Response verify OK" in result.stdout + result.stderr, result.stdout + result.stderr
    assert f": {status}" in result.stdout, result.stdout


def test_openssl_ocsp_refuses_a_changed_answer_and_another_issuers(case, stranger):
    for answer, issuer, anchor in ((case.forged, case.issuer, case.root), (case.responses["good"], stranger, stranger)):
        result = openssl("ocsp", "-respin", answer, "-issuer", issuer, "-cert", case.certs["good"], "-CAfile", anchor,
                         check=False)
        assert "Response verify OK" not in result.stdout + result.stderr, result.stdout + result.stderr


def expected(status):
    return "good" if status == "good" else "revoked keyCompromise"


def go_verdict(ocspcheck, response, cert, issuer):
    result = subprocess.run([ocspcheck, response, cert, issuer], capture_output=True, text=True, timeout=30)
    return result.stdout.strip() if result.returncode == 0 else "refused: " + result.stdout + result.stderr


def otp_verdict(response, cert, issuer):
    result = subprocess.run(["escript", str(ESCRIPT), response, cert, issuer], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def python_verdict(response_path, cert_path, issuer_path):
    """Python cryptography reads the answer; its signature is checked with the
    issuer's key, as its documentation leaves to the caller."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.x509 import ocsp

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    issuer = x509.load_pem_x509_certificate(Path(issuer_path).read_bytes())
    response = ocsp.load_der_ocsp_response(Path(response_path).read_bytes())
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return f"refused: {response.response_status}"
    # Signed by the issuer: named by its key hash, and its key verifies the signature.
    asked = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    if response.responder_key_hash != asked.issuer_key_hash:
        return "refused: signed by another responder"
    key = issuer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm))
        else:
            key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(),
                       response.signature_hash_algorithm)
    except InvalidSignature:
        return "refused: bad signature"
    if (response.serial_number, response.issuer_key_hash, response.issuer_name_hash) != \
            (cert.serial_number, asked.issuer_key_hash, asked.issuer_name_hash):
        return "refused: about another certificate"
    if response.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        return f"revoked {response.revocation_reason.value}"
    return response.certificate_status.name.lower()


@pytest.fixture(scope="module", params=["go-x-crypto-ocsp", "erlang-public-key", "python-cryptography"])
def verifier(request):
    """verdict(response, cert, issuer): "good", "revoked <reason>", or why not."""
    if request.param == "go-x-crypto-ocsp":
        if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
            pytest.skip("Go is not installed (ocspcheck is built from e2e/tools/ocspcheck)")
        built = subprocess.run([str(OCSPCHECK_BUILD)], capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stdout + built.stderr
        return lambda *files: go_verdict(built.stdout.strip(), *files)
    if request.param == "erlang-public-key":
        if shutil.which("escript") is None:
            pytest.skip("escript is not installed (scripts/install-deps.sh installs erlang-base)")
        return otp_verdict
    pytest.importorskip("cryptography", reason="scripts/install-deps.sh installs cryptography")
    return python_verdict


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """A CA certificate that issued nothing here."""
    path = tmp_path_factory.mktemp("stranger") / "stranger.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            path.with_suffix(".key"), "-out", path, "-subj", "/CN=stranger", "-days", "1")
    return path


@pytest.mark.parametrize("status", ["good", "revoked"])
def test_the_verifier_accepts_the_answer(case, verifier, status):
    assert verifier(case.responses[status], case.certs[status], case.issuer) == expected(status)


def test_the_verifier_refuses_a_changed_answer_and_another_issuers(case, verifier, stranger):
    # So that a pass above means a checked signature.
    for verdict in (verifier(case.forged, case.certs["good"], case.issuer),
                    verifier(case.responses["good"], case.certs["good"], stranger)):
        assert not verdict.startswith(("good", "revoked")), verdict


@pytest.fixture(scope="module")
def nginx(case):
    """nginx serving the CA's good certificate (with its chain, as revoca
    issued it) and stapling revoca's answer, verified."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    prefix = case.dir / "nginx"
    prefix.mkdir()
    server = Nginx(prefix)
    server.write_config(case.certs["good"], case.keys["good"], case.root, responder=case.url)
    server.start()
    yield server
    server.stop()


def test_nginx_staples_the_good_answer_it_verified_and_s_client_reads_it(case, nginx):
    def stapled():
        output = nginx.handshake(case.root)
        assert "Verify return code: 0 (ok)" in output, output
        return "OCSP Response Status: successful" in output and output
    # The first handshake only starts nginx's request to the responder.
    output = wait_for(stapled, timeout=15, interval=0.3, what="nginx to staple an OCSP response:\n" + nginx.logs())
    staple = staple_of(output)
    assert "Cert Status: good" in staple, staple
    assert "OCSP_basic_verify() failed" not in nginx.logs()
    assert "[error]" not in nginx.logs(), nginx.logs()


def test_nginx_verifies_the_revoked_answer_before_refusing_to_staple_it(case, nginx):
    nginx.write_config(case.certs["revoked"], case.keys["revoked"], case.root, responder=case.url)
    nginx.reload()
    nginx.wait_until_it_verifies_a_revoked_answer(case.root)


def test_s_client_reads_the_revoked_answer_s_server_staples(case):
    # nginx never staples a revoked answer; openssl s_server sends one from a file.
    with SServer(case.dir, "-cert", case.certs["revoked"], "-key", case.keys["revoked"], "-cert_chain", case.issuer,
                 "-status_file", case.responses["revoked"]) as server:
        output = server.client("-servername", SERVER_NAME, "-status", "-CAfile", case.root, "-verify_return_error")
    assert "Verify return code: 0 (ok)" in output, output
    staple = staple_of(output)
    assert "Cert Status: revoked" in staple and "Revocation Reason: keyCompromise" in staple, staple
