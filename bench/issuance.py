#!/usr/bin/env python3
"""Certificate issuance (in process), revoca against
the openssl command line in the same run on this machine:

  revoca   AuthorityService::issue in process (bench/revoca_bench.cc), the
           path of a VaultSecret and `revocactl issue-cert`: a P-256 key,
           the leaf signed by the example CA (manifests/examples/mqtt-ca.yaml),
           PEM of both, and the serial appended to the CA's ledger in a
           FileStateStore (fsync'd), N times; then each step alone.
  openssl  the same leaf with the CLI: `openssl req -new -newkey ec ...`
           piped to `openssl x509 -req -CA ... -CAkey ...` with the same
           extensions, by the same CA key, plus a line appended to a file.

Prints certificates/s for each and the ratio. A benchmark, not a test: it
never fails on a figure. Usage: bench/issuance.py [--count 2000]
[--openssl-count 200] (revoca_bench from $REVOCA_BUILD or ./build, built
with `cmake --build build --target revoca_bench`)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("REVOCA_BUILD", ROOT / "build"))

# What revoca puts in a client leaf (pki/issue.cc), for the openssl peer.
EXTENSIONS = """[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:$ENV::LEAF_NAME
crlDistributionPoints = URI:http://127.0.0.1:4664/crl-pem/default/mqtt-ca/1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:4664/ocsp/00000000-0000-4000-8000-000000000000/mqtt-ca
"""


def bench_binary():
    binary = BUILD / "bin" / "revoca_bench"
    if not binary.exists():
        subprocess.run(["cmake", "--build", str(BUILD), "--target", "revoca_bench"], check=True)
    return binary


def example_ca(work):
    """A declaration directory holding the example CA."""
    declarations = work / "declarations"
    declarations.mkdir()
    shutil.copy(ROOT / "manifests" / "examples" / "mqtt-ca.yaml", declarations)
    return declarations


def revoca_rate(work, count):
    out = subprocess.run([bench_binary(), "issue", "--declarations", example_ca(work), "--state", work / "state",
                          "--count", str(count)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def openssl_rate(work, count):
    """Seconds per certificate with the CLI, signed by the CA revoca created."""
    version = work / "state" / "cas" / "default" / "mqtt-ca" / "versions" / "1"
    d = work / "openssl"
    d.mkdir()
    (d / "ext.cnf").write_text(EXTENSIONS)
    ledger = d / "ledger"
    script = ("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$LEAF_NAME "
              "-keyout $DIR/key.pem 2>/dev/null | openssl x509 -req -CA $CA/cert.pem -CAkey $CA/key.pem "
              "-days 1 -extfile $DIR/ext.cnf -extensions leaf -out $DIR/cert.pem 2>/dev/null && "
              "echo \"$(openssl x509 -in $DIR/cert.pem -noout -serial | cut -d= -f2) 1 0 $LEAF_NAME\" >> $DIR/ledger")
    environment = dict(os.environ, DIR=str(d), CA=str(version))
    started = time.monotonic()
    for i in range(count):
        environment["LEAF_NAME"] = f"client-{i}.bench"
        subprocess.run(["sh", "-c", script], env=environment, check=True)
    seconds = time.monotonic() - started
    if len(ledger.read_text().splitlines()) != count:
        raise SystemExit("openssl: the ledger misses lines")
    return count / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--openssl-count", type=int, default=200)
    options = parser.parse_args()
    if not shutil.which("openssl"):
        raise SystemExit("openssl is missing: run bench/install-peers.sh")
    work = Path(tempfile.mkdtemp(prefix="revoca-bench-"))
    try:
        revoca = revoca_rate(work, options.count)
        peer = openssl_rate(work, options.openssl_count)
        steps = revoca["stepMicroseconds"]
        print(f"{'':36} {'certs/s':>10} {'us/cert':>10}")
        print(f"{'revoca in process (N=%d)' % options.count:36} {revoca['certsPerSecond']:10.0f} "
              f"{1e6 / revoca['certsPerSecond']:10.0f}")
        print(f"{'  on its CPU time (user + sys)':36} {1e6 / revoca['cpuMicroseconds']:10.0f} "
              f"{revoca['cpuMicroseconds']:10.0f}")
        print(f"{'openssl req | x509 + append (N=%d)' % options.openssl_count:36} {peer:10.0f} {1e6 / peer:10.0f}")
        print("\nrevoca's steps alone, us/cert:")
        for name, label in (("keygen", "P-256 key generation"),
                            ("sign", "build, sign, DER and PEM (signCertificate)"),
                            ("pem", "PKCS#8 PEM of the key"), ("ledger", "ledger append, fsync'd")):
            print(f"  {label:44} {steps[name]:8.0f}")
        print(f"\nratio revoca/openssl CLI: {revoca['certsPerSecond'] / peer:.1f} "
              f"(on CPU time alone {1e6 / revoca['cpuMicroseconds'] / peer:.1f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
