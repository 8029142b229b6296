"""Hostile declarations and revocactl arguments against a real standalone
revoca (SECURITY.md, "Who may write what"): declarations may come from
tenants, and nothing one says may crash revoca, make it write outside OUTPUT
and STATE, sign a name that is not a host, or disturb what it already issued.

One instance serves the whole module (start-up is the slow part), with a
baseline: the examples' mqtt-ca, mqtt-vault, server-cert and the emqx
EmqxDeployment (CRL checks and OCSP stapling on), plus a spare vault and
certificate the hostile objects may name. Every test writes its hostile
declarations into a file of their own, waits until revoca has judged them,
removes the file and checks, through `Hostile.assert_intact`:

- the process is alive and /healthz answers 200;
- STATE/status.json is valid UTF-8 and valid JSON;
- OUTPUT/default/emqx/{cert.pem,cert.key,emqx.env} are the baseline's bytes
  and OCSP still answers `good` for the baseline certificate;
- nothing exists beside OUTPUT and STATE (a sentinel directory next to
  OUTPUT stays empty; hostile paths aim at it and above it), and OUTPUT
  holds only OUTPUT/<namespace>/<deployment>/<file> (and revoca's own
  ..data / ..version-* directory).

Refusals reach the log as one line of UTF-8 (text and JSON formats), and
revocactl refuses hostile arguments with one line and a non-zero exit.
Memory is measured on instances of their own (VmHWM, the peak RSS), and
property-based tests (hypothesis, when installed; skipped otherwise) put
arbitrary text into one declaration field, or one revocactl argument, at a
time.
"""
import ipaddress
import itertools
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (REVOCA, REVOCACTL, ROOT, Standalone, assert_no_sanitizer_report, free_port, http, openssl,
                      serial_of, wait_for)

API = "revoca.io/v1alpha1"
FORGED = "FORGED-LOG-LINE"  # what a newline in a value would start a log line with
MEMORY_BOUND_MB = 200
# scripts/test.sh runs this suite on the ASan+UBSan build too, where shadow
# memory and the allocator's quarantine make RSS and time bound nothing:
# there the memory tests check only that the input is refused or judged.
SANITIZED = b"__asan_init" in REVOCA.read_bytes()

# Beside the examples: a vault and certificate the hostile objects name, so
# that each hostile document is valid but for the one field under test (and
# would publish something if that field were wrongly accepted).
SPARE = f"""\
apiVersion: {API}
kind: Vault
metadata: {{name: spare-vault}}
spec: {{distribute: {{deployments: [spare]}}}}
---
apiVersion: {API}
kind: VaultSecret
metadata: {{name: spare-cert}}
spec:
  vault: spare-vault
  autoCert: {{issuingCa: mqtt-ca, host: spare.example, certType: server, ttl: 30d, refreshThreshold: 15d}}
"""

# A serial no CA of this instance issued (they are 16 random bytes).
UNISSUED_SERIAL = "0BADC0DE0BADC0DE"


# --- writing YAML with any bytes in it --------------------------------------------------------------

def yaml_quote(text):
    """A YAML double-quoted scalar holding exactly `text` (str), with every
    character YAML does not allow raw written as an escape; bytes are put
    between the quotes as they are (for invalid UTF-8)."""
    if isinstance(text, bytes):
        return b'"' + text + b'"'
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0xFEFF, 0xFFFE, 0xFFFF) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out).encode("utf-8", "surrogatepass")


def scalar(value):
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    return yaml_quote(value)


def emit(mapping, indent=0):
    lines = []
    pad = b"  " * indent
    for key, value in mapping.items():
        key = yaml_quote(key) if isinstance(key, bytes) or not re.fullmatch(r"[A-Za-z]+", key) else key.encode()
        if isinstance(value, dict):
            lines.append(pad + key + (b":" if value else b": {}"))
            lines.extend(emit(value, indent + 1))
        elif isinstance(value, list):
            lines.append(pad + key + b": [" + b", ".join(scalar(item) for item in value) + b"]")
        else:
            lines.append(pad + key + b": " + scalar(value))
    return lines


def document(kind, name, spec, namespace=None):
    metadata = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return b"\n".join(emit({"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec})) + b"\n"


def documents(*docs):
    return b"---\n".join(docs)


# --- the string fields of every kind, each with a valid value --------------------------------------

def base_spec(kind, port):
    """A spec that is valid, but for what a test puts into it."""
    if kind == "CertificateAuthority":
        return {"ttl": "1y", "certKeyType": "ecdsa", "certKeyCurve": "secp256r1", "digest": "sha256",
                "subject": {"commonName": "Hostile CA", "organization": "Example", "organizationalUnit": "Tests",
                            "country": "SE"},
                "issuingCa": "mqtt-ca",
                "crlDistUrls": [f"http://127.0.0.1:{port}/crl-pem/${{SYS_TENANT_NAME}}/${{SYS_CA_NAME}}/${{SYS_CA_VERSION}}"],
                "ocspResponderUrls": [f"http://127.0.0.1:{port}/ocsp/${{SYS_TENANT_UUID}}/${{SYS_CA_NAME}}"],
                "renewThreshold": "30d", "crl": {"validity": "1d", "cacheMaxAge": "5m"}, "ocsp": {"validity": "1h"},
                "distribute": {"deployments": ["spare"]}}
    if kind == "Vault":
        return {"distribute": {"deployments": ["spare-two"]}}
    if kind == "VaultSecret":
        return {"vault": "spare-vault", "allowImageAccess": ["emqx/emqx"],
                "autoCert": {"issuingCa": "mqtt-ca", "host": "hostile.example", "altNames": ["localhost"],
                             "certType": "server", "ttl": "30d", "refreshThreshold": "15d"},
                "fileOwnership": "1000:1000", "fileMode": "0400"}
    if kind == "CertificateRevocation":
        return {"ca": "mqtt-ca", "serial": UNISSUED_SERIAL, "reason": "keyCompromise",
                "invalidityDate": "2026-01-02T03:04:05Z"}
    if kind == "EmqxDeployment":
        return {"listener": {"name": "hostile", "bind": "0.0.0.0:8883"}, "vault": "spare-vault", "secret": "spare-cert",
                "certDir": "/etc/emqx-certs",
                "crl": {"enabled": True, "refreshInterval": "5m", "httpTimeout": "15s"},
                "ocspStapling": {"enabled": True, "refreshInterval": "5m", "refreshHttpTimeout": "15s",
                                 "responderUrl": f"http://127.0.0.1:{port}/ocsp/tenant/mqtt-ca/"},
                "verify": "verify_peer", "failIfNoPeerCert": True, "deploymentName": "spare"}
    raise ValueError(kind)


# (kind, path into the spec): every string a declaration of each kind holds.
STRING_FIELDS = [
    ("CertificateAuthority", ("ttl",)), ("CertificateAuthority", ("certKeyType",)),
    ("CertificateAuthority", ("certKeyCurve",)), ("CertificateAuthority", ("digest",)),
    ("CertificateAuthority", ("subject", "commonName")), ("CertificateAuthority", ("subject", "organization")),
    ("CertificateAuthority", ("subject", "organizationalUnit")), ("CertificateAuthority", ("subject", "country")),
    ("CertificateAuthority", ("issuingCa",)), ("CertificateAuthority", ("crlDistUrls", 0)),
    ("CertificateAuthority", ("ocspResponderUrls", 0)), ("CertificateAuthority", ("renewThreshold",)),
    ("CertificateAuthority", ("crl", "validity")), ("CertificateAuthority", ("crl", "cacheMaxAge")),
    ("CertificateAuthority", ("ocsp", "validity")), ("CertificateAuthority", ("distribute", "deployments", 0)),
    ("Vault", ("distribute", "deployments", 0)),
    ("VaultSecret", ("vault",)), ("VaultSecret", ("allowImageAccess", 0)),
    ("VaultSecret", ("autoCert", "issuingCa")), ("VaultSecret", ("autoCert", "host")),
    ("VaultSecret", ("autoCert", "altNames", 0)), ("VaultSecret", ("autoCert", "certType")),
    ("VaultSecret", ("autoCert", "ttl")), ("VaultSecret", ("autoCert", "refreshThreshold")),
    ("VaultSecret", ("fileOwnership",)), ("VaultSecret", ("fileMode",)),
    ("CertificateRevocation", ("ca",)), ("CertificateRevocation", ("serial",)),
    ("CertificateRevocation", ("reason",)), ("CertificateRevocation", ("invalidityDate",)),
    ("EmqxDeployment", ("listener", "name")), ("EmqxDeployment", ("listener", "bind")),
    ("EmqxDeployment", ("vault",)), ("EmqxDeployment", ("secret",)), ("EmqxDeployment", ("certDir",)),
    ("EmqxDeployment", ("crl", "refreshInterval")), ("EmqxDeployment", ("crl", "httpTimeout")),
    ("EmqxDeployment", ("ocspStapling", "refreshInterval")),
    ("EmqxDeployment", ("ocspStapling", "refreshHttpTimeout")),
    ("EmqxDeployment", ("ocspStapling", "responderUrl")), ("EmqxDeployment", ("verify",)),
    ("EmqxDeployment", ("deploymentName",)),
]


def field_name(path):
    """("autoCert", "altNames", 0) -> "spec.autoCert.altNames" (the index is left to the product)."""
    return "spec." + ".".join(part for part in path if isinstance(part, str))


def get_path(spec, path):
    for part in path[:-1]:
        spec = spec[part]
    return spec[path[-1]]


def set_path(spec, path, value):
    for part in path[:-1]:
        spec = spec[part]
    spec[path[-1]] = value


def spliced(valid, bad):
    """`bad` in the middle of a valid value, so no trimming at either end cures it."""
    at = max(1, len(valid) // 2)
    if isinstance(bad, bytes):
        raw = valid.encode()
        return raw[:at] + bad + raw[at:]
    return valid[:at] + bad + valid[at:]


# Text no string field may hold: what a line-based file, a log, a NUL-ended
# C string or a UTF-8 reader would read differently from revoca.
HOSTILE_TEXT = {
    "nul": "\0",
    "newline": "\n" + FORGED + " ",
    "carriage-return": "\r",
    "tab": "\t",
    "escape": "\x1b[2J",
    "delete": "\x7f",
    "c1-next-line": "\x85",
    "raw-nul-byte": b"\0",
    "raw-invalid-utf8": b"\xff\xfe",
    "overlong-utf8-slash": b"\xc0\xaf",
    "over-4096-bytes": "a" * 5000,
}


# --- the module's instance ----------------------------------------------------------------------------

class Hostile:
    def __init__(self, workdir, root):
        self.root = root  # hostile paths aim at root/... through OUTPUT/<ns>/<deployment>/../..
        self.instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port())
        (self.instance.declarations / "spare.yaml").write_text(SPARE)
        self.sentinel = workdir / "sentinel"
        self.sentinel.mkdir()
        self.names = itertools.count(1)

    # what a test writes
    def unique(self, prefix):
        return f"{prefix}-{next(self.names)}"

    def declare(self, content, stem=None):
        path = self.instance.declarations / f"zz-{stem or self.unique('hostile')}.yaml"
        self.place(path, lambda out: out.write(content if isinstance(content, bytes) else content.encode()))
        return path

    def place(self, path, write):
        """Writes a file revoca sees whole: a hidden name (never read) renamed
        into place, so no pass meets a half-written file."""
        hidden = path.with_name("." + path.name + ".part")
        with open(hidden, "wb") as out:
            write(out)
        hidden.rename(path)
        return path

    def remove(self, *paths):
        for path in paths:
            path.unlink(missing_ok=True)

    # what revoca says
    def statuses(self):
        """status.json, read strictly: a byte that is not UTF-8 or JSON fails the caller."""
        path = self.instance.state / "status.json"
        raw = path.read_bytes()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise AssertionError(f"status.json is not valid UTF-8 JSON ({error}):\n{raw[:2000]!r}")

    def status(self, kind, name):
        for entry in self.statuses():
            if entry["kind"] == kind and entry["name"] == name:
                return entry
        return None

    def wait_status(self, kind, name, timeout=20):
        return wait_for(lambda: self.status(kind, name), timeout=timeout, interval=0.03,
                        what=f"a status for {kind} {name}")

    def log(self):
        return self.instance.log.read_bytes().decode("utf-8", errors="replace")

    def refusals(self, path):
        """The log's "declaration refused" lines about the file `path`."""
        return [line for line in self.log().splitlines() if "declaration refused" in line and path.name in line]

    def wait_refused(self, path, needle=None, timeout=20):
        def found():
            lines = self.refusals(path)
            return [line for line in lines if needle is None or needle in line]
        return wait_for(found, timeout=timeout, interval=0.03,
                        what=f"'declaration refused' naming {path.name}" + (f" and {needle!r}" if needle else ""))

    # what must hold after anything
    def vm(self, field):
        for line in Path(f"/proc/{self.instance.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024  # kB -> MB
        raise AssertionError(f"no {field} in /proc/{self.instance.process.pid}/status")

    def baseline(self):
        emqx = self.instance.deployment_dir()
        wait_for(lambda: all((emqx / f).exists() for f in ("cert.pem", "cert.key", "emqx.env")),
                 timeout=60, what="the baseline's files in OUTPUT/default/emqx")
        self.files = {name: (emqx / name).read_bytes() for name in ("cert.pem", "cert.key", "emqx.env")}
        self.serial = serial_of(emqx / "cert.pem")
        self.ca_pem = self.root / "mqtt-ca.pem"
        self.ca_pem.write_text(self.instance.ctl("get-ca-cert", "--ca", "mqtt-ca")["cert"])
        self.ocsp_url = f"{self.instance.base}/ocsp/{self.instance.tenant_uuid()}/mqtt-ca"
        self.ledger = self.instance.state / "cas" / "default" / "mqtt-ca" / "ledger"

    def ocsp_status(self, serial):
        result = openssl("ocsp", "-issuer", self.ca_pem, "-serial", "0x" + serial, "-url", self.ocsp_url,
                         "-CAfile", self.ca_pem, "-resp_text", check=False)
        for status in ("good", "revoked", "unknown"):
            if f"Cert Status: {status}" in result.stdout:
                return status
        return result.stdout + result.stderr

    def assert_alive(self):
        process = self.instance.process
        assert process.poll() is None, f"revoca exited with {process.returncode}:\n{self.log()[-4000:]}"
        assert http("GET", self.instance.base + "/healthz")[0] == 200, "/healthz does not answer 200"

    def assert_intact(self):
        self.assert_alive()
        self.statuses()
        emqx = self.instance.deployment_dir()
        for name, content in self.files.items():
            assert (emqx / name).read_bytes() == content, f"OUTPUT/default/emqx/{name} changed"
        assert self.ocsp_status(self.serial) == "good", "the baseline certificate's OCSP answer is no longer good"
        assert not any(line.startswith(FORGED) for line in self.log().splitlines()), "a value added a line to the log"
        self.assert_nothing_outside()
        self.assert_output_shape()

    def assert_nothing_outside(self):
        workdir = self.instance.workdir
        ours = {workdir / name for name in ("declarations", "state", "output", "sentinel", "revoca.log")}
        expected = {self.root / "mqtt-ca.pem", *ours, *workdir.parents}
        for directory, subdirectories, files in os.walk(self.root):
            here = Path(directory)
            subdirectories[:] = [d for d in subdirectories if here / d not in ours]
            for name in subdirectories + files:
                path = here / name
                assert path in expected or path == workdir, f"revoca wrote outside OUTPUT and STATE: {path}"
        assert not any(self.sentinel.iterdir()), f"something appeared in {self.sentinel}: {list(self.sentinel.iterdir())}"

    def assert_output_shape(self):
        output = self.instance.output
        for directory, subdirectories, files in os.walk(output):
            for name in subdirectories + files:
                parts = (Path(directory) / name).relative_to(output).parts
                assert all(part not in (".", "..", "") for part in parts), parts
                if len(parts) == 1:
                    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", parts[0]), f"namespace directory {parts}"
                elif len(parts) == 2:
                    assert is_deployment_name(parts[1]), f"deployment directory {parts}"
                elif len(parts) == 3:
                    ok = (parts[2] in ("cert.pem", "cert.key", "ca-cert.pem", "emqx.env", "..data")
                          or re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\.ca\.pem", parts[2])
                          or parts[2].startswith("..version-") or ".tmp-" in parts[2])
                    assert ok, f"an unexpected file in OUTPUT: {'/'.join(parts)}"
                else:
                    assert len(parts) == 4 and parts[2].startswith("..version-"), \
                        f"a path deeper than OUTPUT/<namespace>/<deployment>/<file>: {'/'.join(parts)}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    h = Hostile(root / "up-one" / "up-two" / "revoca", root)
    h.instance.start()
    try:
        h.baseline()
        yield h
    finally:
        h.instance.kill(signal.SIGTERM)
        assert_no_sanitizer_report(h.instance.log)  # the ASan+UBSan build runs this suite too


# --- the rules, as a relying party reads them (for the assertions and the property test) -----------

LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


def is_object_name(text):
    return len(text) <= 63 and re.fullmatch(LABEL, text) is not None


def is_deployment_name(text):
    return len(text) <= 253 and re.fullmatch(rf"{LABEL}(\.{LABEL})*", text) is not None


def is_host(text, wildcard):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    labels = text.split(".")
    if wildcard and len(labels) >= 3 and labels[0] == "*":
        labels = labels[1:]
    return len(text) <= 253 and all(re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?", label)
                                    for label in labels)


def has_control(text):
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%{}]*")


def clearly_invalid(kind, path, text, spec):
    """True when `text` in this field breaks a rule no reading of the CRDs
    could allow: then revoca must refuse it at that field. (Values this
    says nothing about may be refused for reasons of their own.)"""
    if has_control(text) or len(text.encode()) > 4096:
        return True
    last = path[-1] if isinstance(path[-1], str) else path[-2]
    if last in ("issuingCa", "vault", "secret", "ca"):
        return not is_object_name(text)
    if last in ("deployments", "deploymentName"):
        return not is_deployment_name(text)
    if last in ("host", "altNames"):
        return not is_host(text, wildcard=spec["autoCert"]["certType"] == "server")
    if last in ("crlDistUrls", "ocspResponderUrls", "responderUrl"):
        return not text.startswith("http://") or URL_CHARACTERS.fullmatch(text) is None
    if last in ("ttl", "renewThreshold", "validity", "cacheMaxAge", "refreshThreshold", "refreshInterval",
                "httpTimeout", "refreshHttpTimeout"):
        return re.fullmatch(r"[0-9A-Za-zµ. +-]*", text) is None
    if last == "certDir":
        return (not text.startswith("/") or re.fullmatch(r"[A-Za-z0-9._/-]*", text) is None
                or any(part in (".", "..") for part in text.split("/")))
    if last == "bind":
        return re.fullmatch(r"[0-9A-Fa-f.:\[\]]*", text) is None
    if last in ("commonName", "organization", "organizationalUnit"):
        return len(text.encode()) > 64 or (last == "commonName" and text == "")
    if last == "country":
        return re.fullmatch(r"[A-Z]{2}", text) is None
    if last == "name":  # listener.name
        return re.fullmatch(r"[a-z0-9_]+", text) is None
    choices = {"certKeyType": {"ecdsa", "rsa"}, "digest": {"sha256", "sha384", "sha512"},
               "certKeyCurve": {"secp256r1", "prime256v1", "P-256", "secp384r1", "P-384", "secp521r1", "P-521"},
               "certType": {"server", "client"}, "verify": {"verify_peer", "verify_none"},
               "reason": {"unspecified", "keyCompromise", "cACompromise", "caCompromise", "affiliationChanged",
                          "superseded", "cessationOfOperation",
                          "privilegeWithdrawn", "aACompromise", "aaCompromise"}}
    if last in choices:
        return text not in choices[last]
    if last == "serial":
        return re.fullmatch(r"[0-9A-Fa-f:]*", text) is None
    if last == "fileMode":
        return re.fullmatch(r"[0-7oO]*", text) is None
    if last == "fileOwnership":
        return re.fullmatch(r"[0-9:]*", text) is None
    if last == "invalidityDate":
        return re.fullmatch(r"[0-9TZtz:+.-]*", text) is None
    return False


def refused_at(h, kind, name, field, reason="InvalidSpec"):
    """The object's status: not Ready, `reason`, the message naming `field`."""
    entry = h.wait_status(kind, name)
    assert entry["ready"] is False, f"{kind} {name} is Ready with a hostile {field}: {entry}"
    assert entry["reason"] == reason, f"{kind} {name}: {entry['reason']}, not {reason}: {entry['message']}"
    assert field in entry["message"], f"{kind} {name}: the message does not name {field}: {entry['message']}"
    # `revocactl status` prints it on a terminal: one line, nothing that drives the terminal.
    assert not has_control(entry["message"]), f"{kind} {name}: a control character in {entry['message']!r}"
    return entry


def judge_many(h, cases, content):
    """Writes the documents of `cases` [(kind, name, field)] as one file and
    checks each is refused at its field; the file is removed after."""
    path = h.declare(content)
    try:
        failures = []
        for kind, name, field in cases:
            try:
                refused_at(h, kind, name, field)
            except AssertionError as error:
                failures.append(str(error).splitlines()[0][:600])
        assert not failures, f"{len(failures)} of {len(cases)} hostile values were not refused at their field:\n" + \
            "\n".join(failures)
    finally:
        h.remove(path)
    return path


class Cases:
    """Hostile documents for one file, each a kind's base spec with one
    field set, and the field it must be refused at."""

    def __init__(self, h, prefix):
        self.h, self.prefix, self.cases, self.docs = h, prefix, [], []

    def add(self, kind, path, value, also=()):
        spec = base_spec(kind, self.h.instance.port)
        for other_path, other_value in also:
            set_path(spec, other_path, other_value)
        set_path(spec, path, value)
        name = self.h.unique(self.prefix)
        self.cases.append((kind, name, field_name(path)))
        self.docs.append(document(kind, name, spec))

    def judge(self):
        """Each refused at its field, and the baseline intact after; the file's path."""
        path = judge_many(self.h, self.cases, documents(*self.docs))
        self.h.assert_intact()
        return path


# --- the baseline ------------------------------------------------------------------------------------

def test_the_baseline_is_ready_and_its_certificate_answers_ocsp_good(hostile):
    for kind, name in (("CertificateAuthority", "mqtt-ca"), ("VaultSecret", "server-cert"),
                       ("EmqxDeployment", "emqx"), ("VaultSecret", "spare-cert")):
        assert hostile.wait_status(kind, name)["ready"], hostile.status(kind, name)
    assert b"CRL_CACHE" in hostile.files["emqx.env"] and b"OCSP__ENABLE_OCSP_STAPLING" in hostile.files["emqx.env"]
    hostile.assert_intact()


def test_the_hostile_documents_base_specs_are_valid_so_each_refusal_is_the_hostile_fields(hostile):
    """Without a hostile value, no base spec is refused as invalid (the
    VaultSecret meets spare-cert in spare-vault, the revocation a serial
    never issued: other reasons, which are not InvalidSpec)."""
    names = {kind: hostile.unique("base") for kind in
             ("CertificateAuthority", "Vault", "VaultSecret", "CertificateRevocation", "EmqxDeployment")}
    path = hostile.declare(documents(*(document(kind, name, base_spec(kind, hostile.instance.port))
                                       for kind, name in names.items())))
    try:
        for kind, name in names.items():
            entry = hostile.wait_status(kind, name)
            assert entry["reason"] != "InvalidSpec", entry
    finally:
        hostile.remove(path)
    hostile.assert_intact()


# --- every string field of every kind -------------------------------------------------------------

@pytest.mark.parametrize("what", list(HOSTILE_TEXT))
def test_every_string_field_of_every_kind_is_refused_at_its_field_when_it_holds(hostile, what):
    """NUL, a newline, other C0/C1 controls, raw bytes that are not UTF-8
    and text over 4096 bytes, in each string field of each kind in turn."""
    cases = Cases(hostile, "f")
    for kind, path in STRING_FIELDS:
        cases.add(kind, path, spliced(get_path(base_spec(kind, hostile.instance.port), path), HOSTILE_TEXT[what]))
    cases.judge()


@pytest.mark.parametrize("what", ["nul", "newline", "raw-invalid-utf8", "over-4096-bytes"])
def test_hostile_text_in_a_name_or_envelope_is_only_logged_on_one_line(hostile, what):
    """metadata.name, metadata.namespace, kind, apiVersion and a field's key:
    the document is refused, in the log as one line naming the file, and no
    Ready object comes of it."""
    bad = HOSTILE_TEXT[what]
    spec = base_spec("Vault", hostile.instance.port)
    name = hostile.unique("envelope")
    docs = [document("Vault", spliced("hostile-name", bad), spec),
            document("Vault", name + "-ns", spec, namespace=spliced("default", bad)),
            b"\n".join(emit({"apiVersion": API, "kind": spliced("Vault", bad), "metadata": {"name": name + "-kind"},
                             "spec": spec})) + b"\n",
            # After the group, so the document stays one of revoca.io's (others are skipped).
            b"\n".join(emit({"apiVersion": API.encode() + bad if isinstance(bad, bytes) else API + bad, "kind": "Vault",
                             "metadata": {"name": name + "-api"}, "spec": spec})) + b"\n",
            b"\n".join(emit({"apiVersion": API, "kind": "Vault", "metadata": {"name": name + "-key"},
                             "spec": {**spec, spliced("field", bad): "x"}})) + b"\n"]
    path = hostile.declare(documents(*docs))
    try:
        # Each document is refused: in the log (names) or at a field of the object's status.
        for number in range(1, 6):
            wait_for(lambda: any(f"(document {number})" in line for line in hostile.refusals(path)),
                     interval=0.03, what=f"document {number} of {path.name} to be refused in the log")
        for line in hostile.refusals(path):
            assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in line), f"a control character: {line!r}"
        for entry in hostile.statuses():
            if path.name in entry.get("source", ""):
                assert entry["ready"] is False, f"a Ready object from a refused document: {entry}"
    finally:
        hostile.remove(path)
    hostile.assert_intact()


@pytest.mark.parametrize("escape", [b"\x1b", b"\xb0", b"\x07", b"\xc2\x9b"])
def test_a_yaml_syntax_error_is_logged_as_one_line_of_utf8_without_control_characters(hostile, escape):
    """yaml-cpp's message for an unknown escape quotes the character after
    the backslash: an ESC there would drive the terminal of whoever reads
    the log, a byte that is not UTF-8 would break a JSON log reader."""
    name = hostile.unique("esc")
    path = hostile.declare(f"apiVersion: {API}\nkind: Vault\nmetadata: {{name: {name}}}\n".encode()
                           + b'spec: {distribute: {deployments: ["a\\' + escape + b'b"]}}\n')
    try:
        hostile.wait_refused(path)
        raw = [line for line in hostile.instance.log.read_bytes().split(b"\n")
               if b"declaration refused" in line and path.name.encode() in line]
        for line in raw:
            text = line.decode("utf-8", errors="strict") if is_utf8(line) else None
            assert text is not None, f"a log line that is not UTF-8: {line!r}"
            assert not has_control(text), f"a control character in the log: {line!r}"
    finally:
        hostile.remove(path)
    hostile.assert_intact()


def is_utf8(raw):
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_the_json_log_stays_one_json_object_a_line_under_hostile_input(tmp_path):
    """--log-format json: every line a log shipper reads must parse, whatever
    bytes the declarations hold (refused names, fields, YAML errors)."""
    instance = Standalone(tmp_path / "j", ROOT / "manifests" / "examples", free_port(),
                          extra_args=["--log-format", "json", "--log-level", "debug"])
    spec = base_spec("Vault", instance.port)
    docs = [document("Vault", spliced("bad-name", bad), spec) for bad in HOSTILE_TEXT.values()]
    docs += [document("Vault", f"field-{i}", {"distribute": {"deployments": [spliced("emqx", bad)]}})
             for i, bad in enumerate(HOSTILE_TEXT.values())]
    docs += [f"apiVersion: {API}\nkind: Vault\nmetadata: {{name: yaml-error}}\n".encode()
             + b'spec: {distribute: {deployments: ["a\\\x1b\xb0b"]}}\n']
    hostile_file = instance.declarations / "zz-hostile.yaml"
    hostile_file.write_bytes(documents(*docs))
    instance.start()
    try:
        wait_for(lambda: instance.log.read_bytes().count(b"declaration refused") >= len(docs), timeout=60,
                 what="every hostile document to be refused")
        assert instance.process.poll() is None
        bad_lines = []
        for number, line in enumerate(instance.log.read_bytes().splitlines(), 1):
            try:
                entry = json.loads(line.decode("utf-8"))
                assert isinstance(entry, dict)
            except (UnicodeDecodeError, ValueError, AssertionError) as error:
                bad_lines.append(f"line {number}: {type(error).__name__}: {line[:300]!r}")
        assert not bad_lines, f"{len(bad_lines)} log lines are not one JSON object of UTF-8:\n" + "\n".join(bad_lines[:10])
    finally:
        instance.kill(signal.SIGTERM)
        assert_no_sanitizer_report(instance.log)


# --- names that become paths ------------------------------------------------------------------------

TRAVERSALS = ["..", ".", "../../sentinel", "../../../../escaped", "a/b", "./x", "..data", "..version-1",
              "/etc", "sentinel/..", "UPPER", "a" * 254, "emqx/../../../sentinel", "%2e%2e"]


def test_a_deployment_name_with_dotdot_writes_nothing_outside_output(hostile):
    """In Vault and CertificateAuthority distribute.deployments and in
    EmqxDeployment deploymentName. Each hostile vault holds a VaultSecret
    and each CA distributes its bundle, so an accepted name would write."""
    port = hostile.instance.port
    cases, docs = [], []
    for bad in TRAVERSALS:
        vault, secret, ca, emqx = (hostile.unique(p) for p in ("tv", "ts", "tca", "temqx"))
        docs.append(document("Vault", vault, {"distribute": {"deployments": [bad]}}))
        cases.append(("Vault", vault, "spec.distribute.deployments"))
        vs = base_spec("VaultSecret", port)
        vs["vault"] = vault
        docs.append(document("VaultSecret", secret, vs))
        ca_spec = base_spec("CertificateAuthority", port)
        ca_spec["distribute"]["deployments"] = [bad]
        docs.append(document("CertificateAuthority", ca, ca_spec))
        cases.append(("CertificateAuthority", ca, "spec.distribute.deployments"))
        emqx_spec = base_spec("EmqxDeployment", port)
        emqx_spec["deploymentName"] = bad
        docs.append(document("EmqxDeployment", emqx, emqx_spec))
        cases.append(("EmqxDeployment", emqx, "spec.deploymentName"))
    judge_many(hostile, cases, documents(*docs))
    assert not (hostile.instance.output / "cert.pem").exists() and not (hostile.instance.output / "default" / "cert.pem").exists()
    hostile.assert_intact()


# --- names that get signed -----------------------------------------------------------------------------

NOT_HOSTS = ["a b.example", "evil.example\0.good.example", "\0evil.example", "evil.example/path", "user@evil.example",
             "evil.example:443", "-lead.example", "trail-.example", "a..b.example", "trailing.dot.example.",
             ".lead.example", "under_score.example", "é.example", "xn--é.example", "a" * 64 + ".example",
             ".".join(["a" * 60] * 5), "", " ", "*", "*.com", "a.*.example", "*a.example.com", "**.example.com",
             "<script>.example", "evil.example\nX-Injected: 1", "1.2.3.4/24", "[::1]", "::1%eth0"]


@pytest.mark.parametrize("where", ["host", "altNames"])
def test_a_host_that_is_not_a_dns_name_or_ip_is_never_signed(hostile, where):
    issued_before = hostile.ledger.read_bytes()
    cases = Cases(hostile, "host")
    for bad in NOT_HOSTS:
        cases.add("VaultSecret", ("autoCert", where), bad if where == "host" else ["ok.example", bad])
    cases.judge()
    assert hostile.ledger.read_bytes() == issued_before, "mqtt-ca issued a certificate for a hostile host"


def test_a_wildcard_host_is_refused_for_client_certificates(hostile):
    cases = Cases(hostile, "wild")
    client = [(("autoCert", "certType"), "client")]
    cases.add("VaultSecret", ("autoCert", "host"), "*.mqtt.example", also=client)
    cases.add("VaultSecret", ("autoCert", "altNames"), ["*.mqtt.example"], also=client)
    cases.judge()


# --- URLs, paths, addresses ---------------------------------------------------------------------------

def bad_urls(port):
    base = f"http://127.0.0.1:{port}"
    return [f'{base}/crl"onload="x', f"{base}/<script>", f"{base}/a>b", "http:///crl/${SYS_CA_NAME}", "http://",
            "http://:80/crl", f"https://127.0.0.1:{port}/crl", "ftp://127.0.0.1/crl", "javascript:alert(1)",
            "file:///etc/passwd", f"{base}/a b", f"{base}/a\\b", f"{base}/a`b", f"{base}/a^b", f"{base}/a|b",
            f"{base}/${{SYS_NOT_A_VARIABLE}}", f"{base}/${{SYS_CA_NAME", "http://evil example/crl",
            "http://[::1/crl", "//127.0.0.1/crl", "/crl", "", f"{base}/\u00e9"]


def test_a_url_template_with_quotes_angle_brackets_or_no_host_is_refused(hostile):
    cases = Cases(hostile, "url")
    for bad in bad_urls(hostile.instance.port):
        for key in ("crlDistUrls", "ocspResponderUrls"):
            cases.add("CertificateAuthority", (key,), [bad])
        if "${" not in bad:
            cases.add("EmqxDeployment", ("ocspStapling", "responderUrl"), bad)
    cases.judge()


def test_a_cert_dir_that_is_not_an_absolute_plain_path_is_refused(hostile):
    cases = Cases(hostile, "certdir")
    for bad in ["relative/certs", "../../etc", "/etc/../root", "/etc/./emqx", "/etc//emqx/..", "/etc/emqx certs",
                "/etc/emqx\ncerts", "/etc/$(id)", "/etc/`id`", '/etc/"x', "/etc/emqx;rm", "", "~/certs"]:
        cases.add("EmqxDeployment", ("certDir",), bad)
    cases.judge()


def test_a_listener_bind_that_is_not_an_ip_and_port_is_refused(hostile):
    cases = Cases(hostile, "bind")
    for bad in ["emqx.example:8883", "0.0.0.0:8883\nEMQX_NODE__COOKIE=x", "0.0.0.0:99999", "0.0.0.0:", "0.0.0.0:-1",
                "999.0.0.1:8883", "0.0.0.0:8883 extra", '0.0.0.0:8883"', "[::1:8883", "", "localhost"]:
        cases.add("EmqxDeployment", ("listener", "bind"), bad)
    cases.judge()


# --- durations and subjects ----------------------------------------------------------------------------

DURATION_FIELDS = [("CertificateAuthority", ("ttl",)), ("CertificateAuthority", ("renewThreshold",)),
                   ("CertificateAuthority", ("crl", "validity")), ("CertificateAuthority", ("crl", "cacheMaxAge")),
                   ("CertificateAuthority", ("ocsp", "validity")), ("VaultSecret", ("autoCert", "ttl")), ("VaultSecret", ("autoCert", "refreshThreshold")),
                   ("EmqxDeployment", ("crl", "refreshInterval")), ("EmqxDeployment", ("crl", "httpTimeout")),
                   ("EmqxDeployment", ("ocspStapling", "refreshInterval")),
                   ("EmqxDeployment", ("ocspStapling", "refreshHttpTimeout"))]


@pytest.mark.parametrize("duration", ["9999y", "300y", "101y", "36901d", "885601h", "100y1s"])
def test_a_duration_longer_than_100y_is_refused_naming_the_field(hostile, duration):
    cases = Cases(hostile, "long")
    for kind, path in DURATION_FIELDS:
        cases.add(kind, path, duration)
    path = cases.judge()
    for entry in hostile.statuses():
        if path.name in entry["source"]:
            assert "longer than 100y" in entry["message"], entry["message"]


def test_a_duration_that_overflows_is_refused_without_a_crash(hostile):
    cases = Cases(hostile, "overflow")
    for bad in ["99999999999999999999d", "9223372036854775807s", "9223372036854775808h", "1e308s", "-1d", "0s"]:
        cases.add("CertificateAuthority", ("ttl",), bad)
    cases.judge()


def test_a_subject_field_over_64_bytes_is_refused(hostile):
    cases = Cases(hostile, "subject")
    for key, value in (("commonName", "c" * 65), ("organization", "o" * 65), ("organizationalUnit", "u" * 65),
                       ("organization", "é" * 33), ("commonName", ""), ("country", "Sweden"), ("country", "se")):
        cases.add("CertificateAuthority", ("subject", key), value)
    cases.judge()


# --- revocations ------------------------------------------------------------------------------------------

def test_a_revocation_of_a_serial_the_ca_never_issued_is_not_ready_with_serial_not_issued(hostile):
    name = hostile.unique("never")
    spec = base_spec("CertificateRevocation", hostile.instance.port)
    path = hostile.declare(document("CertificateRevocation", name, spec))
    try:
        entry = refused_at(hostile, "CertificateRevocation", name, "spec.serial", reason="SerialNotIssued")
        assert entry["message"].startswith("spec.serial:"), entry["message"]
    finally:
        hostile.remove(path)
    crl = openssl("crl", "-noout", "-text", input=hostile.instance.ctl("get-crl", "--ca", "mqtt-ca")["crl"]).stdout
    assert UNISSUED_SERIAL not in crl.replace(":", "").upper(), "a serial never issued reached the CRL"
    hostile.assert_intact()


# --- size and shape of the file -------------------------------------------------------------------------

def test_an_8_mib_document_is_refused_before_parsing_and_asks_to_split_it(hostile):
    spec = base_spec("VaultSecret", hostile.instance.port)
    spec["allowImageAccess"] = ["x" * 4000] * 2100  # 8.4 MB in one document
    path = hostile.declare(document("VaultSecret", hostile.unique("big"), spec))
    try:
        assert path.stat().st_size > 8 << 20
        hostile.wait_refused(path, "split it", timeout=60)
    finally:
        hostile.remove(path)
    hostile.assert_intact()


def test_a_20_mib_declaration_file_is_refused_unread_and_asks_to_split_it(hostile):
    one = document("Vault", "x", {"distribute": {"deployments": ["y"]}})

    def write(out):
        for i in range((20 << 20) // len(one) + 1):
            out.write(one.replace(b"name: \"x\"", f"name: \"v{i}\"".encode()) + b"---\n")
    path = hostile.place(hostile.instance.declarations / "zz-twenty-mib.yaml", write)
    try:
        assert path.stat().st_size > 20 << 20
        hostile.wait_refused(path, "split it", timeout=60)
    finally:
        hostile.remove(path)
    hostile.assert_intact()


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(hostile):
    lines = [f"apiVersion: {API}", "kind: Vault", "metadata: {name: bomb}", "spec:",
             '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    lines.append("  distribute: {deployments: [*l9]}")
    path = hostile.declare("\n".join(lines) + "\n")
    try:
        hostile.wait_refused(path)
        assert hostile.status("Vault", "bomb") is None or not hostile.status("Vault", "bomb")["ready"]
    finally:
        hostile.remove(path)
    hostile.assert_intact()
    peak = hostile.vm("VmHWM")
    print(f"peak RSS of the module's revoca after the big files and the alias bomb: {peak} MB")
    assert SANITIZED or peak < MEMORY_BOUND_MB, f"the module's revoca peaked at {peak} MB (bound {MEMORY_BOUND_MB} MB)"


@pytest.mark.parametrize("depth", [100, 1990, 5000, 100000])
def test_deeply_nested_flow_is_refused_without_a_crash(hostile, depth):
    text = f"apiVersion: {API}\nkind: Vault\nmetadata: {{name: deep}}\nspec: {{distribute: " + \
        "[" * depth + "]" * depth + "}\n"
    path = hostile.declare(text)
    try:
        hostile.wait_refused(path, timeout=60)
    finally:
        hostile.remove(path)
    hostile.assert_intact()


# --- revocactl ---------------------------------------------------------------------------------------------

def revocactl(hostile, *args):
    """revocactl's raw bytes: an error must be one line of UTF-8 whatever it quotes."""
    result = subprocess.run([str(REVOCACTL), "--state", str(hostile.instance.state), *args],
                            capture_output=True, timeout=30)
    return result.returncode, result.stdout, result.stderr


def assert_one_line_error(code, out, err, usage_may_follow=False):
    assert code != 0, f"revocactl accepted it: {out!r}"
    if usage_may_follow and b"\nusage: " in err:  # a missing value: the one line, then the usage
        err = err[:err.index(b"\nusage: ") + 1]
    assert err.count(b"\n") == 1 and err.endswith(b"\n"), f"not one line: {err!r}"
    err.decode("utf-8")  # raises on a byte that is not UTF-8
    assert not has_control(err.decode()[:-1]), f"a control character in the error: {err!r}"


def test_revocactl_get_tenant_uuid_refuses_a_namespace_path_and_writes_nothing(hostile):
    tenants = hostile.instance.state / "tenants"
    before = sorted(p.name for p in tenants.iterdir())
    target = Path("/tmp") / f"revoca-hostile-{os.getpid()}"
    existed = target.exists()
    for namespace in ("../../tmp/" + target.name, "..", "a/b", "Default", "x" * 64, "ns\nforged"):
        code, out, err = revocactl(hostile, "--namespace", namespace, "get-tenant-uuid")
        assert_one_line_error(code, out, err)
    assert sorted(p.name for p in tenants.iterdir()) == before, "a tenant was created"
    assert existed or not target.exists(), f"{target} was created"
    hostile.assert_intact()


def test_revocactl_issue_cert_refuses_a_host_that_is_not_a_host(hostile):
    issued_before = hostile.ledger.read_bytes()
    for host in ("a b", "evil.example\0x", "-x.example", "*.example", "a/b", "é" * 200):
        try:
            code, out, err = revocactl(hostile, "issue-cert", "--ca", "mqtt-ca", "--host", host, "--cert-type", "client")
        except ValueError:  # a NUL cannot be an argument of a process at all
            continue
        assert_one_line_error(code, out, err)
    assert hostile.ledger.read_bytes() == issued_before, "a certificate was issued for a hostile host"
    hostile.assert_intact()


def test_revocactl_refuses_a_ca_name_that_is_a_path(hostile):
    cas = hostile.instance.state / "cas" / "default"
    before = sorted(p.name for p in cas.iterdir())
    for ca in ("../../x", "..", "mqtt-ca/../mqtt-ca", "MQTT-CA"):
        code, out, err = revocactl(hostile, "issue-cert", "--ca", ca, "--host", "ok.example", "--cert-type", "client")
        assert_one_line_error(code, out, err)
        code, out, err = revocactl(hostile, "get-ca-cert", "--ca", ca)
        assert_one_line_error(code, out, err)
    assert sorted(p.name for p in cas.iterdir()) == before
    hostile.assert_intact()


def test_revocactl_refuses_to_revoke_a_serial_the_ca_never_issued(hostile):
    revocations = hostile.instance.state / "cas" / "default" / "mqtt-ca" / "revocations"
    before = revocations.read_bytes() if revocations.exists() else b""
    code, out, err = revocactl(hostile, "revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise",
                               "7E57AB1E7E57AB1E7E57AB1E")
    assert_one_line_error(code, out, err)
    assert b"never issued serial" in err.lower(), err
    assert (revocations.read_bytes() if revocations.exists() else b"") == before, "the revocation was recorded"
    hostile.assert_intact()


def test_revocactl_refuses_a_long_non_ascii_serial_and_revoca_survives(hostile):
    revocations = hostile.instance.state / "cas" / "default" / "mqtt-ca" / "revocations"
    before = revocations.read_bytes() if revocations.exists() else b""
    for serial in ("é" * 200, "0" * 5000, "DEAD\nBEEF", "-1", "0x", "' OR 1=1 --"):
        code, out, err = revocactl(hostile, "revoke-cert", "--ca", "mqtt-ca", serial)
        assert_one_line_error(code, out, err)
        hostile.assert_alive()
    assert (revocations.read_bytes() if revocations.exists() else b"") == before
    hostile.assert_intact()


# --- arbitrary text, one field at a time (hypothesis) -------------------------------------------------

def test_arbitrary_text_in_any_string_field_never_crashes_revoca_or_makes_a_rule_breaker_ready(hostile):
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    port = hostile.instance.port
    file = hostile.instance.declarations / "zz-hypothesis.yaml"
    edges = st.sampled_from(["\0", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "..", "/", "*.",
                             "${SYS_CA_NAME}", '"', "'", "<", ">", " ", "é", "\U0001F600", "%00", "\\", ":", "@"])
    texts = st.one_of(st.text(max_size=40),
                      st.lists(st.one_of(edges, st.text(max_size=4)), max_size=6).map("".join),
                      st.integers(min_value=4090, max_value=4200).map(lambda n: "a" * n))
    judged = {"refused": 0, "other": 0}

    # No shrinking: a failure is reported as generated, and the test stays within its time.
    @hypothesis.settings(max_examples=60, deadline=None, database=None,
                         phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(field=st.sampled_from(STRING_FIELDS), text=texts, splice=st.booleans())
    def check(field, text, splice):
        kind, path = field
        spec = base_spec(kind, port)
        value = spliced(get_path(spec, path), text) if splice else text
        set_path(spec, path, value)
        name = hostile.unique("hyp")
        hostile.place(file, lambda out: out.write(document(kind, name, spec)))
        entry = hostile.wait_status(kind, name)  # reads status.json strictly, as JSON and UTF-8
        hostile.assert_alive()
        if clearly_invalid(kind, path, value, spec):
            judged["refused"] += 1
            assert entry["ready"] is False, f"{kind}.{field_name(path)} = {value!r} is Ready: {entry}"
            assert entry["reason"] == "InvalidSpec" and field_name(path) in entry["message"], \
                f"{kind}.{field_name(path)} = {value!r}: {entry['reason']}: {entry['message']}"
        else:
            judged["other"] += 1

    try:
        check()
    finally:
        hostile.remove(file)
    print(f"hypothesis: {judged['refused']} values that break a rule (all refused at their field), "
          f"{judged['other']} others")
    hostile.assert_intact()


def test_arbitrary_revocactl_arguments_are_answered_or_refused_on_one_line_and_revoca_survives(hostile):
    """Any text as --namespace, --ca, --host, --ttl or a serial: revocactl
    answers JSON or refuses with one line of UTF-8 and a non-zero exit; a
    host that is not a host is never signed; revoca stays up."""
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    edges = st.sampled_from(["..", "/", "*.", "\n", "\x1b", "\x85", " ", "é", "-", "mqtt-ca", "default", "%2e"])
    texts = st.one_of(st.text(max_size=30), st.lists(st.one_of(edges, st.text(max_size=3)), max_size=5).map("".join),
                      st.from_regex(r"[a-z0-9.*:-]{1,24}", fullmatch=True))  # near-valid names, hosts, serials
    verbs = st.sampled_from(["namespace", "ca", "host", "ttl", "serial"])
    issued_for = []

    @hypothesis.settings(max_examples=60, deadline=None, database=None,
                         phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(where=verbs, text=texts)
    def check(where, text):
        hypothesis.assume("\0" not in text and text.upper() != hostile.serial)  # no NUL in argv; keep the baseline
        if where == "namespace":
            args = ["--namespace", text, "get-tenant-uuid"]
        elif where == "ca":
            args = ["get-ca-cert", "--ca", text]
        elif where == "host":
            args = ["issue-cert", "--ca", "mqtt-ca", "--host", text, "--ttl", "1h", "--cert-type", "client"]
        elif where == "ttl":
            args = ["issue-cert", "--ca", "mqtt-ca", "--host", "ttl.example", "--ttl", text, "--cert-type", "client"]
        else:
            args = ["revoke-cert", "--ca", "mqtt-ca", "--reason", "superseded", text]
        code, out, err = revocactl(hostile, *args)
        if code == 0:
            json.loads(out.decode("utf-8"))
            if where == "host":
                issued_for.append(text)
                assert is_host(text, wildcard=False), f"revocactl issued a certificate for {text!r}"
        else:
            assert_one_line_error(code, out, err, usage_may_follow=text == "")
        hostile.assert_alive()

    check()
    print(f"revocactl: issued for {len(issued_for)} generated hosts: {issued_for[:5]}")
    hostile.assert_intact()


# --- memory on big files ---------------------------------------------------------------------------------

MARKER = f"apiVersion: {API}\nkind: Vault\nmetadata: {{name: marker}}\nspec: {{distribute: {{deployments: [m]}}}}\n"


def vm_hwm_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no VmHWM for {pid}")


def peak_rss_after(tmp_path, name, write, timeout=120):
    """Starts revoca on a directory holding a big file (written by `write`)
    and a marker file read after it; returns (VmHWM in MB, file size,
    seconds) once the marker has a status, that is once the big file has
    been read and judged; seconds is None if that took over `timeout`
    (VmHWM is then the peak so far)."""
    # A short directory: the admin socket's path has at most 107 bytes.
    instance = Standalone(tmp_path / "m", tmp_path / "no-examples", free_port())
    big = instance.declarations / "big.yaml"
    write(big)
    (instance.declarations / "zz-marker.yaml").write_text(MARKER)
    started = time.monotonic()
    instance.process = subprocess.Popen(
        [str(REVOCA), "standalone", "--declarations", str(instance.declarations),
         "--state", str(instance.state), "--output", str(instance.output), "--listen", f"127.0.0.1:{instance.port}"],
        stdout=open(instance.log, "ab"), stderr=subprocess.STDOUT)
    status = instance.state / "status.json"
    judged = False
    try:
        try:
            wait_for(lambda: instance.process.poll() is not None
                     or status.exists() and b'"marker"' in status.read_bytes(), timeout=timeout, interval=0.1)
            judged = True
        except AssertionError:
            pass
        assert instance.process.poll() is None, f"revoca exited ({instance.process.returncode}) on {name}"
        assert http("GET", instance.base + "/healthz")[0] == 200
        return vm_hwm_mb(instance.process.pid), big.stat().st_size, time.monotonic() - started if judged else None
    finally:
        # One still reading the file does not see SIGTERM until it is done.
        instance.kill(signal.SIGTERM if judged else signal.SIGKILL)
        assert_no_sanitizer_report(instance.log)


def configmap_with_a_huge_string(size):
    def write(path):
        with open(path, "wb") as out:
            out.write(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: huge}\ndata:\n  blob: \"")
            out.write(b"x" * size)
            out.write(b"\"\n")
    return write


def many_small_documents(size):
    def write(path):
        chunk = b"".join(b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {k: v}\n" % i
                         for i in range(1000))
        with open(path, "wb") as out:
            for _ in range(size // len(chunk) + 1):
                out.write(chunk)
    return write


@pytest.mark.parametrize("name, write", [
    ("8-MiB-configmap-with-one-huge-string", configmap_with_a_huge_string(8 << 20)),
    ("8-MiB-of-small-configmaps", many_small_documents(8 << 20)),
    ("50-MB-of-small-configmaps", many_small_documents(50_000_000)),
])
def test_peak_memory_on_a_big_declaration_file_stays_under_200_mb(tmp_path, name, write):
    (tmp_path / "no-examples").mkdir()
    peak, size, seconds = peak_rss_after(tmp_path, name, write)
    message = f"{name}: {size / 1e6:.1f} MB file, peak RSS (VmHWM) {peak} MB, read in {seconds:.1f} s"
    print(message)
    assert SANITIZED or peak < MEMORY_BOUND_MB, message


def small_vaults(count):
    def write(path):
        with open(path, "w") as out:
            for i in range(count):
                out.write(f"---\napiVersion: {API}\nkind: Vault\nmetadata: {{name: v{i}}}\n"
                          f"spec: {{distribute: {{deployments: [d{i % 100}]}}}}\n")
    return write


# What an object revoca reconciles costs, whatever the size of its document:
# its declaration, its status (kept and written to status.json) and its
# metrics. Measured at 80,000 Vaults on the 2-core machine (2026-12-06):
# 256 MB peak, about 3.1 KB an object above the process's own 15 to 20 MB.
MEMORY_PER_OBJECT_KB = 3.5
BASE_MEMORY_MB = 20


def test_an_8_mib_file_of_small_revoca_documents_is_judged_within_30_s_in_memory_linear_in_its_objects(tmp_path):
    """80,000 Vaults of 110 bytes (8.9 MB): half of what a file may hold,
    each document far below every limit, and the same size as the files of
    the test above. One tenant's file must not stall the engine (renewals,
    revocations and SIGTERM of every tenant wait for it): it once took 92 s,
    each new object compared with every earlier one of its kind. Memory
    grows with the objects declared, never faster (MEMORY_PER_OBJECT_KB)."""
    if SANITIZED:
        pytest.skip("time and memory bound nothing on the sanitizer build")
    (tmp_path / "no-examples").mkdir()
    objects = 80000
    peak, size, seconds = peak_rss_after(tmp_path, "80000 Vaults", small_vaults(objects), timeout=30)
    message = (f"80,000 small Vault documents: {size / 1e6:.1f} MB file, peak RSS (VmHWM) {peak} MB, "
               + (f"judged in {seconds:.1f} s" if seconds is not None else "not judged within 30 s"))
    print(message)
    bound = BASE_MEMORY_MB + objects * MEMORY_PER_OBJECT_KB / 1024
    assert seconds is not None and peak < bound, f"{message}; the bound is {bound:.0f} MB"
