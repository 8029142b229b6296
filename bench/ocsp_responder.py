#!/usr/bin/env python3
"""OCSP responder throughput, revoca against its
peers in the same run on this machine:

  cached   GET and POST of one request with no nonce, 32 connections (wrk):
           revoca, `cfssl ocspserve` (responses signed beforehand; POST only:
           Debian's cfssl 1.2 decodes a GET's path with its leading "/" and
           query-unescapes "+" to " ", so it answers every GET with 400) and
           nginx serving a 400-byte file (this machine's HTTP ceiling).
           Targets: revoca >= 2x cfssl, >= 0.8x nginx.
  nonce    POST with a nonce, so every answer is signed for the request:
           revoca against `openssl ocsp -port` (one connection at a time) and
           against `openssl speed ecdsap256` signs/s per core.
           Target: >= 0.7x the signing rate per core used.

Prints one table and the ratios. A benchmark, not a test: it never fails on
a figure. Usage: bench/ocsp_responder.py [--seconds 10] [--connections 32]
(revoca from $REVOCA_BUILD or ./build; peers from bench/install-peers.sh)."""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("REVOCA_BUILD", ROOT / "build"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def sh(*args, **kwargs):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kwargs).stdout


class Wrk:
    """wrk's figures: requests/s and the 99th percentile latency in ms."""

    def __init__(self, seconds, connections, workdir):
        self.seconds, self.connections, self.workdir = seconds, connections, Path(workdir)

    def run(self, url, body=None, content_type="application/ocsp-request", connections=None):
        args = ["wrk", "-t2", f"-c{connections or self.connections}", f"-d{self.seconds}s", "--latency"]
        if body is not None:
            payload = self.workdir / f"body-{len(body)}-{abs(hash(body))}.bin"
            payload.write_bytes(body)
            script = self.workdir / f"post-{payload.stem}.lua"
            script.write_text(f'local f = io.open("{payload}", "rb")\nwrk.method = "POST"\nwrk.body = f:read("*a")\n'
                              f'f:close()\nwrk.headers["Content-Type"] = "{content_type}"\n')
            args += ["-s", str(script)]
        out = sh(*args, url)
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"rate": rate, "p99_ms": float(p99.group(1)) * scale, "errors": int(errors.group(1)) if errors else 0}


def cpu_seconds(process):
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(args, log):
    return subprocess.Popen([str(a) for a in args], stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def revoca_setup(work):
    """revoca standalone on the examples; returns (process, ocsp base URL, request DER, nonce request DER)."""
    port = free_port()
    decl = work / "revoca" / "declarations"
    decl.mkdir(parents=True)
    for source in (ROOT / "manifests" / "examples").glob("*.yaml"):
        (decl / source.name).write_text(source.read_text().replace("127.0.0.1:4664", f"127.0.0.1:{port}"))
    process = start([BUILD / "bin" / "revoca", "standalone", "--declarations", decl, "--state", work / "revoca/state",
                     "--output", work / "revoca/out", "--listen", f"127.0.0.1:{port}", "--log-level", "warn"],
                    work / "revoca.log")
    wait_http(f"http://127.0.0.1:{port}/readyz")
    deadline = time.monotonic() + 20
    out = work / "revoca/out/default/emqx"
    while not (out / "cert.pem").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    ca = out / "ca-cert.pem"
    url = re.search(r"OCSP - URI:(\S+)", sh("openssl", "x509", "-in", out / "cert.pem", "-noout", "-text")).group(1)
    plain = request_der(work, ca, out / "cert.pem", nonce=False)
    nonce = request_der(work, ca, out / "cert.pem", nonce=True)
    return process, url.rstrip("/"), plain, nonce


def request_der(work, issuer, cert, nonce):
    path = work / f"req-{'nonce' if nonce else 'plain'}-{abs(hash(str(cert)))}.der"
    sh("openssl", "ocsp", "-issuer", issuer, "-cert", cert, "-reqout", path, *([] if nonce else ["-no_nonce"]))
    return path.read_bytes()


def cfssl_setup(work):
    """`cfssl ocspserve` with the answer for one certificate signed beforehand."""
    d = work / "cfssl"
    d.mkdir()
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
       "-subj", "/CN=bench-ca", "-keyout", d / "ca.key", "-out", d / "ca.pem")
    csr = sh("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=leaf", "-keyout", d / "leaf.key")
    sh("openssl", "x509", "-req", "-CA", d / "ca.pem", "-CAkey", d / "ca.key", "-days", "10", "-out", d / "leaf.pem",
       input=csr)
    signed = sh("cfssl", "ocspsign", "-ca", d / "ca.pem", "-responder", d / "ca.pem", "-responder-key", d / "ca.key",
                "-cert", d / "leaf.pem", "-status", "good")
    response = re.search(r'"ocspResponse":"([^"]+)"', signed).group(1)
    (d / "responses").write_text(response + "\n")
    port = free_port()
    process = start(["cfssl", "ocspserve", "-address", "127.0.0.1", "-port", port, "-responses", d / "responses",
                     "-loglevel", "5"], work / "cfssl.log")
    wait_http(f"http://127.0.0.1:{port}/")
    return process, f"http://127.0.0.1:{port}", request_der(work, d / "ca.pem", d / "leaf.pem", nonce=False), d


def nginx_setup(work):
    """nginx, one worker, serving a 400-byte file: the HTTP ceiling."""
    d = work / "nginx"
    (d / "www").mkdir(parents=True)
    (d / "www" / "static").write_bytes(b"x" * 400)
    port = free_port()
    (d / "nginx.conf").write_text(f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  server {{ listen 127.0.0.1:{port}; root {d}/www; keepalive_requests 1000000; }}
}}
""")
    process = start(["nginx", "-c", d / "nginx.conf", "-g", "daemon off;"], work / "nginx.log")
    wait_http(f"http://127.0.0.1:{port}/static")
    return process, f"http://127.0.0.1:{port}/static"


def openssl_ocsp_rate(work, cfssl_dir, seconds):
    """`openssl ocsp -port`: it answers one connection at a time, signing each."""
    d = cfssl_dir
    serial = sh("openssl", "x509", "-in", d / "leaf.pem", "-noout", "-serial").strip().split("=", 1)[1]
    (d / "index.txt").write_text(f"V\t491231235959Z\t\t{serial}\tunknown\t/CN=leaf\n")
    port = free_port()
    process = start(["openssl", "ocsp", "-port", port, "-index", d / "index.txt", "-CA", d / "ca.pem",
                     "-rsigner", d / "ca.pem", "-rkey", d / "ca.key", "-nmin", "60"], work / "openssl-ocsp.log")
    body = request_der(work, d / "ca.pem", d / "leaf.pem", nonce=True)

    def ask():
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body,
                                         headers={"Content-Type": "application/ocsp-request"})
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    # A probe connection without a request would hold its only accept: ask until it answers.
    for _ in range(100):
        try:
            ask()
            break
        except OSError:
            time.sleep(0.05)
    done, deadline = 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < deadline:
        ask()
        done += 1
    process.terminate()
    return done / (time.monotonic() - started)


def in_process_nonce_answer(work):
    """revoca_bench ocsp: a nonce answer through CaRegistry::ocsp without
    HTTP, and one signature alone, each in CPU microseconds."""
    from issuance import bench_binary, example_ca  # issuance.py imports nothing of this file
    out = subprocess.run([bench_binary(), "ocsp", "--declarations", example_ca(work), "--state", work / "bench-state",
                          "--count", "10000"], check=True, capture_output=True, text=True).stdout
    figures = json.loads(out)
    return figures["answerMicroseconds"], figures["signMicroseconds"]


def ecdsa_signs_per_core():
    out = sh("openssl", "speed", "-seconds", "3", "ecdsap256")
    return float(re.search(r"256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args()
    for tool in ("wrk", "cfssl", "nginx", "openssl"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is missing: run bench/install-peers.sh")
    os.environ["PATH"] += ":/usr/sbin"
    work = Path(tempfile.mkdtemp(prefix="revoca-bench-"))
    work.chmod(0o755)  # nginx's worker runs as another user and reads its files here
    processes = []
    try:
        revoca, revoca_url, plain, nonce = revoca_setup(work)
        cfssl, cfssl_url, cfssl_request, cfssl_dir = cfssl_setup(work)
        nginx, nginx_url = nginx_setup(work)
        processes += [revoca, cfssl, nginx]
        wrk = Wrk(options.seconds, options.connections, work)
        encoded = lambda der: urllib.parse.quote(base64.b64encode(der).decode(), safe="")
        cpu_before = cpu_seconds(revoca)
        rows = {"revoca GET": wrk.run(f"{revoca_url}/{encoded(plain)}")}
        # revoca's CPU for one cached answer: the HTTP path and the kernel's share of it.
        cached_us = (cpu_seconds(revoca) - cpu_before) / (rows["revoca GET"]["rate"] * options.seconds) * 1e6
        rows |= {
            "revoca POST": wrk.run(revoca_url, body=plain),
            "cfssl POST": wrk.run(cfssl_url + "/", body=cfssl_request),
            "nginx 400 B": wrk.run(nginx_url),
        }
        cpu_before = cpu_seconds(revoca)
        rows["revoca POST nonce"] = wrk.run(revoca_url, body=nonce)
        # Cores revoca used while answering them (wrk takes the rest).
        nonce_cores = (cpu_seconds(revoca) - cpu_before) / options.seconds
        signs = ecdsa_signs_per_core()
        openssl_rate = openssl_ocsp_rate(work, cfssl_dir, min(options.seconds, 5))
        print(f"{'':20} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>8}")
        for name, row in rows.items():
            print(f"{name:20} {row['rate']:10.0f} {row['p99_ms']:8.2f} {row['errors']:8d}")
        print(f"{'openssl ocsp -port':20} {openssl_rate:10.0f}  (one connection at a time, nonce)")
        print(f"{'ecdsap256 signs/core':20} {signs:10.0f}  (openssl speed)")
        cores = os.cpu_count()
        print("\nratios (targets in brackets):")
        for method in ("GET", "POST"):
            r = rows[f"revoca {method}"]["rate"]
            print(f"  revoca {method:4}/ cfssl POST {r / rows['cfssl POST']['rate']:.2f}  [>= 2]")
            print(f"  revoca/nginx {method:5} {r / rows['nginx 400 B']['rate']:.2f}  [>= 0.8]")
        n = rows["revoca POST nonce"]["rate"]
        print(f"  revoca nonce per core it used ({nonce_cores:.2f} cores) / signs per core  "
              f"{n / nonce_cores / signs:.2f}  [>= 0.7]")
        print(f"  revoca nonce / signs per core x {cores} cores  {n / (signs * cores):.2f}  (wrk shares the cores)")
        print(f"  revoca nonce / openssl ocsp -port  {n / openssl_rate:.1f}")
        # What bounds the nonce ratio: each answer is a signature plus the
        # HTTP path that a cached answer costs alone.
        sign_us = 1e6 / signs
        nonce_us = nonce_cores / n * 1e6
        print(f"\nCPU per answer: cached {cached_us:.1f} us (HTTP and kernel), nonce {nonce_us:.1f} us, "
              f"one signature {sign_us:.1f} us;\n  the nonce ratio's ceiling with this HTTP path: "
              f"{sign_us / (sign_us + cached_us):.2f} (signature / (signature + cached answer))")
        answer_us, alone_us = in_process_nonce_answer(work)
        print(f"In process (revoca_bench ocsp, no HTTP): a nonce answer {answer_us:.1f} us, its signature alone "
              f"{alone_us:.1f} us;\n  so an answer over HTTP is about {alone_us:.1f} signing + "
              f"{answer_us - alone_us:.1f} OCSP + {max(nonce_us - answer_us, 0):.1f} HTTP and kernel")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
