"""pkilint and zlint over every kind of artifact revoca signs: an ECDSA root
signing with SHA-384, its P-256 intermediate and an RSA root; server and
client certificates of each; each CA's CRL before and after revocations;
OCSP answers good, revoked and unknown, for SHA-1 and SHA-256 CertIDs, with
and without a nonce.

pkilint runs its RFC 5280 and RFC 6960 linters (and checks each certificate
against its issuer); zlint runs all its lints, the CA/Browser Forum's and the
root programs' among them. Every finding fails the suite (those of RFC 5280,
RFC 6960 and every other RFC always), except one of a CA/Browser Forum,
Mozilla, Apple, Chrome or ETSI rule that does not bind a private CA and that
e2e/linters/allowlist.toml lists with the reason."""
import os
import signal
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from conftest import Standalone, free_port, http, wait_for
import pki_linters

DECLARATIONS = Path(__file__).resolve().parent / "linted"
CAS = ("lint-root", "lint-intermediate", "lint-rsa")
PARENT = {"lint-intermediate": "lint-root"}  # the others are roots


class Artifacts:
    """The files to lint, each with what it is (and a certificate's issuer)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir()
        self.certificates = []  # (path, artifact, issuer's path)
        self.crls = []          # (path, artifact)
        self.ocsp = []          # (path, artifact)

    def write(self, name, der):
        path = self.directory / name
        path.write_bytes(der)
        return path


def first_certificate(pem):
    return x509.load_pem_x509_certificates(pem.encode())[0]


def der_of(certificate):
    return certificate.public_bytes(serialization.Encoding.DER)


def ca_certificate(instance, ca):
    def ready():
        answer = instance.ctl("get-ca-cert", "--ca", ca, check=False)
        return isinstance(answer, dict) and first_certificate(answer["cert"])
    return wait_for(ready, what=f"{ca} to be ready")


def crl_listing(instance, ca, serial=None):
    """The DER CRL of version 1, once it lists `serial` (any CRL without one)."""
    def published():
        status, _, body = http("GET", f"{instance.base}/crl/default/{ca}/1")
        assert status == 200, body
        crl = x509.load_der_x509_crl(body)
        return body if serial is None or crl.get_revoked_certificate_by_serial_number(serial) else None
    return wait_for(published, timeout=5, what=f"the CRL of {ca} to list {serial}")


def ocsp_request(certificate, issuer, hash_name, nonce, serial=None):
    """A request about `certificate`, or with `serial`, about a serial its
    issuer never signed, under the same issuer name and key hashes."""
    algorithm = hashes.SHA1() if hash_name == "sha1" else hashes.SHA256()
    builder = ocsp.OCSPRequestBuilder()
    if serial is None:
        builder = builder.add_certificate(certificate, issuer, algorithm)
    else:
        probe = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm).build()
        builder = builder.add_certificate_by_hash(probe.issuer_name_hash, probe.issuer_key_hash, serial, algorithm)
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(os.urandom(16)), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("linters")
    instance = Standalone(workdir, DECLARATIONS, free_port()).start()
    out = Artifacts(workdir / "artifacts")
    try:
        cas = collect_certificates(instance, out)
        collect_crls(instance, out, cas)
        collect_ocsp(instance, out, cas)
    finally:
        instance.kill(signal.SIGTERM)
    return out


def collect_certificates(instance, out):
    """Each CA's certificate, a server and a client certificate from each, and
    the VaultSecret's; returns {ca: (its certificate, {kind: leaf})}."""
    certificates = {ca: ca_certificate(instance, ca) for ca in CAS}
    paths = {ca: out.write(f"{ca}.der", der_of(cert)) for ca, cert in certificates.items()}
    for ca in CAS:
        out.certificates.append((paths[ca], f"{ca} CA certificate", paths[PARENT.get(ca, ca)]))
    cas = {}
    for ca in CAS:
        leaves = {}
        for kind in ("server", "client"):
            issued = instance.ctl("issue-cert", "--ca", ca, "--host", f"{kind}.{ca}.example", "--ttl", "7d",
                                  "--cert-type", kind)
            leaves[kind] = first_certificate(issued["cert"])
            out.certificates.append((out.write(f"{ca}-{kind}.der", der_of(leaves[kind])),
                                     f"{ca} {kind} certificate", paths[ca]))
        cas[ca] = (certificates[ca], leaves)
    broker = instance.deployment_dir("broker") / "cert.pem"
    wait_for(broker.exists, what="the VaultSecret's certificate")
    out.certificates.append((out.write("broker.der", der_of(first_certificate(broker.read_text()))),
                             "VaultSecret server certificate", paths["lint-intermediate"]))
    return cas


def collect_crls(instance, out, cas):
    """Each CA's CRL with no entry, then after revoking its client
    certificate: with a reason, with none (unspecified), and through a
    CertificateRevocation with an invalidity date."""
    for ca in CAS:
        out.crls.append((out.write(f"{ca}-crl-before.der", crl_listing(instance, ca)), f"{ca} CRL before revocations"))
    serial = {ca: format(leaves["client"].serial_number, "X") for ca, (_, leaves) in cas.items()}
    instance.ctl("revoke-cert", "--ca", "lint-intermediate", "--reason", "keyCompromise", serial["lint-intermediate"])
    instance.ctl("revoke-cert", "--ca", "lint-root", serial["lint-root"])
    an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    (instance.declarations / "revocation.yaml").write_text(f"""\
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: rsa-client}}
spec: {{ca: lint-rsa, serial: "{serial['lint-rsa']}", reason: affiliationChanged, invalidityDate: "{an_hour_ago}"}}
""")
    for ca in CAS:
        der = crl_listing(instance, ca, cas[ca][1]["client"].serial_number)
        out.crls.append((out.write(f"{ca}-crl-after.der", der), f"{ca} CRL after revocations"))


def collect_ocsp(instance, out, cas):
    """Each CA's answers: good (the root: for its intermediate), revoked (the
    client certificate) and unknown, for both CertID hashes, with and without
    a nonce."""
    uuid = instance.tenant_uuid()
    for ca in CAS:
        issuer, leaves = cas[ca]
        good = cas["lint-intermediate"][0] if ca == "lint-root" else leaves["server"]
        for status, certificate, serial in (("good", good, None), ("revoked", leaves["client"], None),
                                            ("unknown", good, 0x7E57)):
            for hash_name in ("sha1", "sha256"):
                for nonce in (False, True):
                    code, _, body = http("POST", f"{instance.base}/ocsp/{uuid}/{ca}",
                                         ocsp_request(certificate, issuer, hash_name, nonce, serial),
                                         {"Content-Type": "application/ocsp-request"})
                    what = f"{ca} OCSP {status}, {hash_name.upper()} CertID, {'with' if nonce else 'no'} nonce"
                    assert code == 200, (what, body)
                    answer = ocsp.load_der_ocsp_response(body)
                    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL, (what, answer.response_status)
                    assert answer.certificate_status.name.lower() == status, (what, answer.certificate_status)
                    name = f"{ca}-ocsp-{status}-{hash_name}{'-nonce' if nonce else ''}.der"
                    out.ocsp.append((out.write(name, body), what))


@pytest.fixture(scope="module")
def findings(artifacts):
    found = []
    for path, artifact, issuer in artifacts.certificates:
        found += pki_linters.pkilint_certificate(path, artifact, issuer)
    for path, artifact in artifacts.crls:
        found += pki_linters.pkilint_crl(path, artifact)
    for path, artifact in artifacts.ocsp:
        found += pki_linters.pkilint_ocsp_response(path, artifact)
    zlinted = [(path, artifact) for path, artifact, _ in artifacts.certificates] + artifacts.crls + artifacts.ocsp
    return found + pki_linters.zlint(zlinted)


def listing(findings):
    return "\n".join(sorted(map(str, findings)))


def test_every_kind_of_artifact_is_linted(artifacts):
    # Three CAs, a server and a client certificate of each and the
    # VaultSecret's; two CRLs a CA; 3 statuses x 2 CertID hashes x nonce or not.
    assert len(artifacts.certificates) == 3 + 3 * 2 + 1
    assert len(artifacts.crls) == 3 * 2
    assert len(artifacts.ocsp) == 3 * 3 * 2 * 2


def test_no_rfc_5280_or_6960_finding(findings):
    binding = [finding for finding in findings
               if not pki_linters.binds_public_trust_only(finding.linter, finding.source)]
    assert not binding, "fix these in what revoca signs:\n" + listing(binding)


def test_every_public_trust_finding_is_allowed_with_its_reason(findings):
    allowed = {(entry.linter, entry.code) for entry in pki_linters.allowlist()}
    unlisted = [finding for finding in findings
                if pki_linters.binds_public_trust_only(finding.linter, finding.source)
                and (finding.linter, finding.code) not in allowed]
    assert not unlisted, (f"fix these, or list them in {pki_linters.ALLOWLIST} with the reason they do not "
                          "bind a private CA:\n" + listing(unlisted))


def test_the_allowlist_holds_only_public_trust_rules_that_still_occur(findings):
    sources = pki_linters.zlint_sources()
    found = {(finding.linter, finding.code) for finding in findings}
    problems = []
    for entry in pki_linters.allowlist():
        source = sources.get(entry.code, "?") if entry.linter == "zlint" else entry.code.split(".", 1)[0]
        if not entry.reason:
            problems.append(f"{entry.code}: give the reason")
        if not pki_linters.binds_public_trust_only(entry.linter, source):
            problems.append(f"{entry.code} ({source}) binds every CA: fix it instead of allowing it")
        elif (entry.linter, entry.code) not in found:
            problems.append(f"{entry.code} no longer occurs: remove it")
    assert not problems, f"{pki_linters.ALLOWLIST}:\n" + "\n".join(problems)


def test_each_ca_signs_with_its_own_digest(artifacts):
    """The P-384 root signs its intermediate with SHA-384 as it signs its
    leaves and CRLs; the intermediate signs with its own SHA-256."""
    def algorithm(path):
        data = path.read_bytes()
        document = x509.load_der_x509_crl(data) if "crl" in path.name else x509.load_der_x509_certificate(data)
        return document.signature_hash_algorithm.name
    signed = {path.name: algorithm(path) for path, *_ in artifacts.certificates + artifacts.crls}
    for name in ("lint-root.der", "lint-intermediate.der", "lint-root-server.der", "lint-root-crl-after.der"):
        assert signed[name] == "sha384", (name, signed[name])
    for name in ("lint-intermediate-server.der", "broker.der", "lint-intermediate-crl-after.der"):
        assert signed[name] == "sha256", (name, signed[name])
