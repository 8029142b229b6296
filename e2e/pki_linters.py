"""pkilint and zlint over what revoca signs, as a list of findings.

A Finding names the linter, its code, its severity and the source of the rule
(an RFC, the CA/Browser Forum ...). What zlint reports as a warning or worse
is a finding (as Boulder counts them); so is what pkilint reports as a notice
or worse, since its notices say what it could not check (an algorithm it does
not know, a key identifier it cannot recompute). Informational results are
not findings."""
import contextlib
import io
import json
import subprocess
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pkilint.bin import lint_crl, lint_ocsp_response, lint_pkix_cert, lint_pkix_signer_signee_cert_chain

from conftest import ROOT

ZLINT_BUILD = ROOT / "e2e" / "linters" / "build-zlint.sh"
ALLOWLIST = ROOT / "e2e" / "linters" / "allowlist.toml"

PKILINT_SEVERITIES = {"NOTICE", "WARNING", "ERROR", "FATAL"}
ZLINT_SEVERITIES = {"warn", "error", "fatal"}


@dataclass(frozen=True)
class Finding:
    linter: str    # "pkilint" or "zlint"
    code: str      # pkilint's finding code or zlint's lint name
    severity: str  # as the linter spells it
    source: str    # zlint's lint source (RFC5280, CABF_BR ...); pkilint's code prefix (pkix, cabf ...)
    artifact: str  # what was linted, e.g. "lint-rsa client certificate"
    detail: str = ""  # pkilint's node path, zlint's details

    def __str__(self):
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.artifact}: {self.linter} {self.severity} {self.code} ({self.source}){detail}"


def _pkilint(main, args, artifact):
    """Runs one of pkilint's command-line tools in this process (the same
    code its console script runs, without starting Python each time)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["lint", "--format", "JSON", "--severity", "NOTICE", *map(str, args)])
    findings = []
    for result in json.loads(out.getvalue())["results"]:
        for described in result["finding_descriptions"]:
            if described["severity"] in PKILINT_SEVERITIES:
                code = described["code"]
                findings.append(Finding("pkilint", code, described["severity"], code.split(".", 1)[0], artifact,
                                        result["node_path"]))
    return findings


def pkilint_certificate(path: Path, artifact: str, issuer: Path = None):
    findings = _pkilint(lint_pkix_cert.main, [path], artifact)
    if issuer is not None:
        # What only the pair shows: names and key identifiers that must
        # agree, the signature made by the issuer's key.
        findings += _pkilint(lint_pkix_signer_signee_cert_chain.main, [issuer, path], artifact)
    return findings


def pkilint_crl(path: Path, artifact: str):
    return _pkilint(lint_crl.main, ["--type", "CRL", "--profile", "PKIX", path], artifact)


def pkilint_ocsp_response(path: Path, artifact: str):
    return _pkilint(lint_ocsp_response.main, [path], artifact)


# Whose rules may be allowed: those that bind publicly-trusted CAs only.
# zlint names a lint's source; pkilint's codes start with theirs.
PUBLIC_TRUST_ZLINT_SOURCES = {"CABF_BR", "CABF_EV", "CABF_SMIME_BR", "CABF_CS_BR", "Mozilla", "Apple", "Chrome",
                              "ETSI_ESI"}
PUBLIC_TRUST_PKILINT_PREFIXES = {"cabf", "etsi"}


def binds_public_trust_only(linter, source):
    """True when the rule is the CA/Browser Forum's, a root program's or
    ETSI's; `source` as a Finding carries it."""
    if linter == "zlint":
        return source in PUBLIC_TRUST_ZLINT_SOURCES
    return source in PUBLIC_TRUST_PKILINT_PREFIXES


@dataclass(frozen=True)
class Allowed:
    linter: str
    code: str
    reason: str


def allowlist():
    """e2e/linters/allowlist.toml, one Allowed per code."""
    entries = tomllib.loads(ALLOWLIST.read_text())["allowed"]
    return [Allowed(entry["linter"], code, entry["reason"].strip()) for entry in entries for code in entry["codes"]]


@cache
def zlint_binary():
    """zlint built from its pinned Go module (cached outside the repository)."""
    built = subprocess.run([str(ZLINT_BUILD)], capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        raise AssertionError(f"{ZLINT_BUILD} failed:\n{built.stderr}")
    return built.stdout.strip()


@cache
def zlint_sources():
    listing = subprocess.run([zlint_binary(), "-list-lints-json"], capture_output=True, text=True, check=True)
    lints = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    return {lint["name"]: lint["source"] for lint in lints}


def zlint(paths_and_artifacts):
    """zlint over certificates, CRLs and OCSP responses (DER), in one run."""
    paths = [str(path) for path, _ in paths_and_artifacts]
    result = subprocess.run([zlint_binary(), "-format", "der", *paths], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"zlint failed ({result.returncode}):\n{result.stderr}")
    reports = result.stdout.splitlines()
    assert len(reports) == len(paths), result.stdout + result.stderr
    sources = zlint_sources()
    findings = []
    for (path, artifact), report in zip(paths_and_artifacts, reports):
        outcomes = json.loads(report)
        # Nothing passed: zlint read the file as something else and ran none of its lints.
        assert any(outcome["result"] == "pass" for outcome in outcomes.values()), f"zlint linted nothing in {path}"
        for name, outcome in outcomes.items():
            if outcome["result"] in ZLINT_SEVERITIES:
                findings.append(Finding("zlint", name, outcome["result"], sources.get(name, "?"), artifact,
                                        outcome.get("details", "")))
    return findings
