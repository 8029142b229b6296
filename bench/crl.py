#!/usr/bin/env python3
"""CRLs at Vault's breaking size: 100,000 revoked entries
(Vault took 2 to 3 s per revocation at 17,000, hashicorp/vault#9176).

  in process  pki::signCrl over the example CA's 100,000 revocations, read
              from a state directory as a restart reads them
              (bench/revoca_bench.cc), against `openssl ca -gencrl` over an
              index.txt of the same entries, by the same CA key, in the same
              run. Then one more revocation through AuthorityService::revoke
              (durable append, registry, new CRL). Target: < 0.5 s a CRL.
  end to end  revoca standalone on the examples with that state: its startup
              (until /readyz, until the CRL is served), then
              `revocactl revoke-cert` of a freshly issued certificate and the
              time until the CRL served over HTTP lists its serial and until
              OCSP answers "revoked". Target: < 1 s.

The state is written directly in standalone/file_state_store's line format
(a ledger line and a revocation line per serial): issuing 100,000
certificates first would only make the run longer. Prints the figures, the
CRL's size and the ratios. A benchmark, not a test: it never fails on a
figure. Usage: bench/crl.py [--entries 100000] (revoca, revocactl and
revoca_bench from $REVOCA_BUILD or ./build)."""
import argparse
import json
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ocsp_responder import BUILD, ROOT, free_port, sh, start  # noqa: E402
from issuance import bench_binary  # noqa: E402

CA = "mqtt-ca"
REASONS = ["unspecified", "keyCompromise", "superseded", "cessationOfOperation"]
OPENSSL_REASONS = {"unspecified": "", "keyCompromise": ",keyCompromise", "superseded": ",superseded",
                   "cessationOfOperation": ",cessationOfOperation"}


def get(url, body=None, timeout=10, etag=None):
    """(status, bytes, ETag) of one request; status 0 when nothing answers."""
    headers = {"Content-Type": "application/ocsp-request"} if body else {}
    if etag:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("ETag")
    except urllib.error.HTTPError as error:
        return error.code, b"", etag
    except OSError:
        return 0, b"", etag


def integer_der(serial_hex):
    """The serial as a DER INTEGER: how it appears in a CRL entry and an OCSP CertID."""
    content = bytes.fromhex(serial_hex.rjust(len(serial_hex) + len(serial_hex) % 2, "0"))
    if content[0] & 0x80:
        content = b"\0" + content
    return bytes([0x02, len(content)]) + content


class Revoca:
    """revoca standalone on the examples, on a state directory of its own."""

    def __init__(self, work):
        self.work, self.port = work, free_port()
        self.declarations, self.state, self.out = work / "declarations", work / "state", work / "out"
        self.declarations.mkdir(parents=True)
        for source in (ROOT / "manifests" / "examples").glob("*.yaml"):
            (self.declarations / source.name).write_text(
                source.read_text().replace("127.0.0.1:4664", f"127.0.0.1:{self.port}"))
        self.base = f"http://127.0.0.1:{self.port}"
        self.crl_url = f"{self.base}/crl/default/{CA}/1"
        self.process = None

    def start(self):
        self.process = start([BUILD / "bin" / "revoca", "standalone", "--declarations", self.declarations, "--state",
                              self.state, "--output", self.out, "--listen", f"127.0.0.1:{self.port}",
                              "--log-level", "warn"], self.work / "revoca.log")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)

    def ctl(self, *args):
        return json.loads(sh(BUILD / "bin" / "revocactl", "--state", self.state, *args))

    def wait_until(self, condition, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return time.monotonic()
            if self.process.poll() is not None:
                raise SystemExit(f"revoca exited: see {self.work / 'revoca.log'}")
            time.sleep(0.005)
        raise SystemExit(f"revoca: not within {timeout}s")


def history(entries, now):
    """`entries` revoked certificates: (serial hex, revoked at, reason, notAfter)."""
    rng = random.Random(9176)
    rows = []
    for i in range(entries):
        serial = format(rng.getrandbits(127) | 1 << 120, "X")  # newSerialHex: 16 bytes, first bit clear
        rows.append((serial, now - rng.randrange(86400 * 300), REASONS[i % len(REASONS)], now + 86400 * 30))
    return rows


def write_state(revoca, rows):
    """Appends the rows to the CA's ledger and revocations in file_state_store's format."""
    directory = revoca.state / "cas" / "default" / CA
    with open(directory / "ledger", "a") as ledger:
        ledger.writelines(f"{s} 1 {not_after} client-{i}.bench\n" for i, (s, _, _, not_after) in enumerate(rows))
    with open(directory / "revocations", "a") as revocations:
        revocations.writelines(f"{s} {at} {reason} -\n" for s, at, reason, _ in rows)


def openssl_gencrl(work, version_dir, rows, repeat):
    """`openssl ca -gencrl` over an index.txt of the rows: median seconds, DER bytes."""
    d = work / "openssl-ca"
    d.mkdir()
    stamp = lambda t: time.strftime("%y%m%d%H%M%SZ", time.gmtime(t))
    with open(d / "index.txt", "w") as index:
        # openssl wants an even number of hex digits.
        index.writelines(f"R\t{stamp(not_after)}\t{stamp(at)}{OPENSSL_REASONS[reason]}\t"
                         f"{serial.rjust(len(serial) + len(serial) % 2, '0')}\tunknown\t"
                         f"/CN=client-{i}.bench\n" for i, (serial, at, reason, not_after) in enumerate(rows))
    (d / "index.txt.attr").write_text("unique_subject = no\n")
    (d / "crlnumber").write_text("01\n")
    (d / "ca.cnf").write_text(f"""[ca]
default_ca = bench
[bench]
database = {d}/index.txt
crlnumber = {d}/crlnumber
certificate = {version_dir}/cert.pem
private_key = {version_dir}/key.pem
default_md = sha256
default_crl_days = 1
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid
""")
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        sh("openssl", "ca", "-gencrl", "-config", d / "ca.cnf", "-out", d / "crl.pem")
        times.append(time.monotonic() - started)
    sh("openssl", "crl", "-in", d / "crl.pem", "-outform", "DER", "-out", d / "crl.der")
    return statistics.median(times), (d / "crl.der").stat().st_size


def end_to_end(revoca, entries):
    """Startup with the big state, then one revocation: seconds for each step."""
    figures = {}
    started = time.monotonic()
    revoca.start()
    figures["readyz"] = revoca.wait_until(lambda: get(revoca.base + "/readyz", timeout=1)[0] == 200) - started
    figures["crl served"] = revoca.wait_until(
        lambda: len(get(revoca.crl_url)[1]) > entries * 30) - started

    leaf = revoca.ctl("issue-cert", "--ca", CA, "--host", "revoked.bench")
    cert = revoca.work / "revoked.pem"
    cert.write_text(leaf["cert"])
    url = re.search(r"OCSP - URI:(\S+)", sh("openssl", "x509", "-in", cert, "-noout", "-text")).group(1)
    request = revoca.work / "revoked.req"
    sh("openssl", "ocsp", "-issuer", revoca.out / "default" / "emqx" / "ca-cert.pem", "-cert", cert,
       "-reqout", request, "-no_nonce")
    body = request.read_bytes()
    serial = integer_der(leaf["serial"])
    if serial + b"\x80\x00" not in get(url, body)[1]:  # "good", and now cached
        raise SystemExit("OCSP does not say good before the revocation")

    seen = {}

    def watch(name, fetch, revoked):
        while name not in seen and time.monotonic() - started < 60:
            if revoked(fetch()):
                seen[name] = time.monotonic() - started
                return
            time.sleep(0.002)

    # The CRL is polled as a client refreshing it would: If-None-Match with
    # its ETag, so the unchanged 4.5 MB is not sent again on every poll.
    etag = get(revoca.crl_url)[2]

    def fetch_crl():
        nonlocal etag
        status, der, etag = get(revoca.crl_url, etag=etag)
        return der if status == 200 else b""

    watchers = [threading.Thread(target=watch, args=("crl", fetch_crl, lambda der: serial in der)),
                threading.Thread(target=watch, args=("ocsp", lambda: get(url, body)[1],
                                                     lambda der: serial + b"\xa1" in der))]
    started = time.monotonic()
    for watcher in watchers:
        watcher.start()
    revoca.ctl("revoke-cert", "--ca", CA, "--reason", "keyCompromise", leaf["serial"])
    figures["revocactl returned"] = time.monotonic() - started
    for watcher in watchers:
        watcher.join()
    figures["CRL lists it"] = seen.get("crl", float("nan"))
    figures["OCSP says revoked"] = seen.get("ocsp", float("nan"))
    figures["crl bytes"] = len(get(revoca.crl_url)[1])
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    if not shutil.which("openssl"):
        raise SystemExit("openssl is missing: run bench/install-peers.sh")
    work = Path(tempfile.mkdtemp(prefix="revoca-bench-"))
    revoca = Revoca(work / "revoca")
    try:
        # The example CA and its first certificate, then the revocations beside them.
        revoca.start()
        revoca.wait_until(lambda: (revoca.out / "default" / "emqx" / "cert.pem").exists())
        revoca.stop()
        rows = history(options.entries, int(time.time()))
        write_state(revoca, rows)

        copy = work / "in-process-state"
        shutil.copytree(revoca.state, copy)
        inproc = json.loads(sh(bench_binary(), "crl", "--declarations", revoca.declarations, "--state", copy,
                               "--repeat", str(options.repeat)))
        version_dir = revoca.state / "cas" / "default" / CA / "versions" / "1"
        peer_seconds, peer_bytes = openssl_gencrl(work, version_dir, rows, options.repeat)
        e2e = end_to_end(revoca, options.entries)

        n = inproc["entries"]
        print(f"in process, a CRL of {n:,} entries (median of {options.repeat}):")
        print(f"  {'revoca pki::signCrl':38} {inproc['signCrlSeconds']:8.3f} s  DER {inproc['derBytes']:,} B"
              f"  PEM {inproc['pemBytes']:,} B")
        print(f"  {'openssl ca -gencrl':38} {peer_seconds:8.3f} s  DER {peer_bytes:,} B")
        print(f"  {'read state files (restart)':38} {inproc['loadFilesSeconds']:8.3f} s")
        print(f"  {'index them (CaRegistry::loadHistory)':38} {inproc['indexSeconds']:8.3f} s")
        print(f"  {'collect entries (crlEntries)':38} {inproc['crlEntriesSeconds']:8.3f} s")
        print(f"  {'digest them (entriesDigest, cluster)':38} {inproc['entriesDigestSeconds']:8.3f} s")
        print(f"  {'one more revocation (revoke, new CRL)':38} {inproc['revokeSeconds']:8.3f} s")
        print(f"\nend to end, revoca standalone with {options.entries:,} revocations:")
        for name in ("readyz", "crl served"):
            print(f"  startup until {name:23} {e2e[name]:8.3f} s")
        for name in ("revocactl returned", "CRL lists it", "OCSP says revoked"):
            print(f"  revoke-cert until {name:19} {e2e[name]:8.3f} s")
        print(f"  CRL served: {e2e['crl bytes']:,} bytes DER")
        print("\nratios (targets in brackets):")
        print(f"  openssl ca -gencrl / revoca signCrl   {peer_seconds / inproc['signCrlSeconds']:.1f}")
        print(f"  revoca signCrl / 0.5 s               {inproc['signCrlSeconds'] / 0.5:.2f}  [<= 1]")
        print(f"  CRL lists the serial / 1 s           {e2e['CRL lists it']:.2f}  [<= 1]")
    finally:
        if revoca.process and revoca.process.poll() is None:
            revoca.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
