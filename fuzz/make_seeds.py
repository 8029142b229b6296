#!/usr/bin/env python3
"""Regenerates the seed corpora under fuzz/corpus/ from real inputs.

  python3 fuzz/make_seeds.py

OCSP requests come from `openssl ocsp -reqout` for the fuzz CA embedded in
fuzz/fuzz_authority.cc (so they reach the answering code): with and without
a nonce, SHA-1 and SHA-256 CertIDs, good / revoked / unknown serials,
several certificates in one request, a signed request, a foreign issuer.
The GET and HTTP seeds wrap those requests as clients send them; the YAML
seeds are the repository's example declarations and the unit tests'
documents; the durations are the ones the docs and CRDs use. Nonces and
signatures are random, so a rerun changes those files.
"""
import base64
import pathlib
import re
import shutil
import subprocess
import tempfile
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def embedded_pem(name):
    source = (HERE / "fuzz_authority.cc").read_text()
    match = re.search(r'constexpr const char\* %s = R"\(\n(.*?)\)";' % name, source, re.S)
    return match.group(1).strip() + "\n"


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def ocsp_requests(work):
    """name -> DER of an OCSPRequest, all made by openssl."""
    (work / "ca.pem").write_text(embedded_pem("kCaCertPem"))
    (work / "ca.key").write_text(embedded_pem("kCaKeyPem"))
    for serial in ("1001", "1004"):
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"leaf{serial}.key", "-subj", f"/CN=leaf-{serial}.fuzz", "-out", f"leaf{serial}.csr",
                cwd=work)
        openssl("x509", "-req", "-in", f"leaf{serial}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", f"0x{serial}", "-days", "30", "-out", f"leaf{serial}.pem", cwd=work)
    # A CA revoca does not know, for the unauthorized path.
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "other.key", "-subj", "/CN=someone else", "-days", "30", "-out", "other.pem", cwd=work)

    shapes = {
        "good-sha1-nonce": ["-issuer", "ca.pem", "-serial", "0x1001"],
        "good-sha1-no-nonce": ["-no_nonce", "-issuer", "ca.pem", "-serial", "0x1001"],
        "good-sha256-nonce": ["-issuer", "ca.pem", "-sha256", "-serial", "0x1001"],
        "good-sha256-no-nonce": ["-no_nonce", "-issuer", "ca.pem", "-sha256", "-serial", "0x1001"],
        "good-from-cert": ["-no_nonce", "-issuer", "ca.pem", "-cert", "leaf1001.pem"],
        "revoked-keycompromise": ["-no_nonce", "-issuer", "ca.pem", "-serial", "0x1002"],
        "revoked-unspecified-sha256": ["-issuer", "ca.pem", "-sha256", "-serial", "0x1003"],
        "unknown-from-cert": ["-no_nonce", "-issuer", "ca.pem", "-cert", "leaf1004.pem"],
        "revoked-never-issued": ["-no_nonce", "-issuer", "ca.pem", "-serial", "0x1005"],
        "three-certs-nonce": ["-issuer", "ca.pem", "-serial", "0x1001", "-serial", "0x1002", "-serial", "0x1004"],
        "mixed-hashes": ["-no_nonce", "-issuer", "ca.pem", "-serial", "0x1001", "-sha256", "-serial", "0x1003"],
        "signed-request": ["-issuer", "ca.pem", "-serial", "0x1001", "-signer", "leaf1001.pem",
                           "-signkey", "leaf1001.key"],
        "foreign-issuer": ["-no_nonce", "-issuer", "other.pem", "-serial", "0x1001"],
        "big-serial": ["-no_nonce", "-issuer", "ca.pem", "-serial", "0x7fffffffffffffffffffffffffffffffffffffff"],
    }
    requests = {}
    for name, args in shapes.items():
        openssl("ocsp", *args, "-reqout", f"{name}.der", cwd=work)
        requests[name] = (work / f"{name}.der").read_bytes()
    return requests


def get_forms(der):
    """The ways clients put a request in a GET URL."""
    standard = base64.b64encode(der).decode()
    return {
        "urlencoded": urllib.parse.quote(standard, safe=""),
        "raw-base64": standard,
        "urlsafe-unpadded": base64.urlsafe_b64encode(der).decode().rstrip("="),
        "wrapped": "\n".join(standard[i:i + 64] for i in range(0, len(standard), 64)),
    }


def http_seeds(requests):
    good = requests["good-sha1-no-nonce"]
    nonce = requests["good-sha256-nonce"]
    get_path = "/ocsp/default/fuzz-ca/" + urllib.parse.quote(base64.b64encode(good).decode(), safe="")
    uuid = "0c7d2a4e-5b1f-4e8a-9c3d-6f0e1a2b3c4d"

    def post(path, body, extra=""):
        return (f"POST {path} HTTP/1.1\r\nHost: ocsp.fuzz\r\nContent-Type: application/ocsp-request\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body

    chunked_body = b"".join(b"%x\r\n" % len(part) + part + b"\r\n" for part in (nonce[:20], nonce[20:])) + b"0\r\n\r\n"
    return {
        "get-ocsp": f"GET {get_path} HTTP/1.1\r\nHost: ocsp.fuzz\r\n\r\n".encode(),
        "get-ocsp-http10": f"GET {get_path} HTTP/1.0\r\n\r\n".encode(),
        "get-ocsp-if-none-match": f"GET {get_path} HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"abc\", W/\"def\"\r\n\r\n".encode(),
        "head-ocsp": f"HEAD {get_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        "post-ocsp": post("/ocsp/default/fuzz-ca", nonce),
        "post-ocsp-uuid-tenant": post(f"/ocsp/{uuid}/fuzz-ca", good),
        "post-ocsp-expect-continue": post("/ocsp/default/fuzz-ca", good, "Expect: 100-continue\r\n"),
        "post-ocsp-chunked": (b"POST /ocsp/default/fuzz-ca HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Type: application/ocsp-request\r\nTransfer-Encoding: chunked\r\n\r\n"
                              + chunked_body),
        "post-ocsp-wrong-type": post("/ocsp/default/fuzz-ca", good).replace(b"ocsp-request", b"json"),
        "post-ocsp-unknown-ca": post("/ocsp/default/no-such-ca", good),
        "keep-alive-pipelined": (f"GET {get_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                                 + post("/ocsp/default/fuzz-ca", nonce)
                                 + b"GET /crl/default/fuzz-ca/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        "get-crl": b"GET /crl/default/fuzz-ca/1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "get-crl-pem-uuid": f"GET /crl-pem/{uuid}/fuzz-ca/1 HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        "get-crl-percent": b"GET /crl/def%61ult/fuzz%2Dca/1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "get-ca-bundle": b"GET /ca/default/fuzz-ca HTTP/1.1\r\nHost: x\r\n\r\n",
        "get-crl-absolute-form": b"GET http://ocsp.fuzz:4664/crl/default/fuzz-ca/1?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "get-healthz-readyz-metrics": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                                       b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
        "delete-crl": b"DELETE /crl/default/fuzz-ca/1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "oversized-header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n",
        "oversized-body": b"POST /ocsp/default/fuzz-ca HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" + b"0" * 64,
        "truncated-body": post("/ocsp/default/fuzz-ca", good)[:-10],
        "bad-request-line": b"GET\x00/ HTTP/9.9\r\n\r\n",
    }


def main():
    if CORPUS.exists():
        for target in ("ocsp_request", "ocsp_get", "http_request"):
            shutil.rmtree(CORPUS / target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        requests = ocsp_requests(pathlib.Path(tmp))
    for name, der in requests.items():
        write("ocsp_request", f"{name}.der", der)
        for form, text in get_forms(der).items():
            write("ocsp_get", f"{name}.{form}", text)
    for name, data in http_seeds(requests).items():
        write("http_request", f"{name}.http", data)

    shutil.rmtree(CORPUS / "declarations", ignore_errors=True)
    for path in sorted((ROOT / "manifests" / "examples").glob("*.yaml")):
        write("declarations", f"manifests-{path.name}", path.read_bytes())
    for path in sorted((ROOT / "e2e").rglob("*.yaml")):
        write("declarations", "e2e-" + "-".join(path.relative_to(ROOT / "e2e").parts), path.read_bytes())
    # The documents the unit tests parse, broken ones included.
    for path in sorted((ROOT / "tests" / "declarations").glob("*_test.cc")):
        documents = [d for d in re.findall(r'R"\((.*?)\)"', path.read_text(), re.S) if "apiVersion" in d]
        for number, document in enumerate(documents, 1):
            write("declarations", f"{path.stem}-{number}.yaml", document.lstrip("\n"))

    # The examples as the apiserver sends them back: JSON, with server fields and a status.
    import json
    import yaml
    shutil.rmtree(CORPUS / "apiserver_object", ignore_errors=True)
    for path in sorted((ROOT / "manifests" / "examples").glob("*.yaml")):
        for number, document in enumerate(yaml.safe_load_all(path.read_text()), 1):
            document["metadata"].update({"uid": "0d9d1c1e-8c3a-4a43-9a4e-0d3f1b1f1c1a", "generation": 3,
                                         "resourceVersion": "4242", "managedFields": [{"manager": "kubectl"}]})
            document["status"] = {"observedGeneration": 3, "conditions": [{"type": "Ready", "status": "True"}]}
            write("apiserver_object", f"{path.stem}-{number}.json", json.dumps(document))

    shutil.rmtree(CORPUS / "duration", ignore_errors=True)
    for text in ("1y350d", "30d", "15d", "5m", "5s", "12h", "720h", "1h30m", "2w", "0s",
                 "90061s", "1d1h1m1s", "", "5", "h", "1x", "9223372036854775807s", "106751991167300d"):
        write("duration", (text or "empty").replace("/", "_"), text)


if __name__ == "__main__":
    main()
