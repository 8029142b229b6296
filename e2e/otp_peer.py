"""Erlang/OTP (EMQX's TLS stack) as a peer: e2e/brokers/otp/emqx_tls.escript
runs OTP's ssl and public_key the way EMQX configures them."""
import shutil
import subprocess

import pytest

from conftest import ROOT, free_port, wait_for

EMQX_TLS = ROOT / "e2e" / "brokers" / "otp" / "emqx_tls.escript"


def escript(*args, timeout=60):
    """Runs emqx_tls.escript with ARGS; its output, or the test fails with it."""
    if shutil.which("escript") is None:
        pytest.skip("escript is not installed (scripts/install-deps.sh installs erlang-base)")
    result = subprocess.run(["escript", str(EMQX_TLS), *map(str, args)], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


class OtpListener:
    """emqx_tls.escript's TLS server on FILES/server-cert.pem, .key and
    server-ca-cert.pem, checking client certificates against CRL_URLS with
    OTP's CRL cache as EMQX does; handshake() says what it made of a client."""

    def __init__(self, files, crl_urls):
        self.files = files
        self.port = free_port()
        self.log = files / "otp-server.log"
        self.server = subprocess.Popen(
            ["escript", str(EMQX_TLS), "server", str(self.port), str(files / "server-cert.pem"),
             str(files / "server-cert.key"), str(files / "server-ca-cert.pem"), ",".join(crl_urls)],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)

    def __enter__(self):
        wait_for(lambda: "listening" in self.log.read_text() or self.server.poll() is not None, timeout=30,
                 what="OTP listener")
        assert self.server.poll() is None, self.log.read_text()
        return self

    def __exit__(self, *_):
        self.server.kill()
        self.server.wait()

    def verdicts(self):
        return [line for line in self.log.read_text().splitlines() if line.startswith(("accepted", "refused"))]

    def handshake(self, client):
        """"accepted", or "refused ..." with OTP's reason, for FILES/CLIENT.pem and .key."""
        before = len(self.verdicts())
        subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-tls1_2",
                        "-cert", str(self.files / f"{client}.pem"), "-key", str(self.files / f"{client}.key"),
                        "-CAfile", str(self.files / "server-ca-cert.pem")],
                       input="", capture_output=True, text=True, timeout=30)
        wait_for(lambda: len(self.verdicts()) > before, timeout=20, what=f"the server's verdict on {client}")
        return self.verdicts()[-1]
