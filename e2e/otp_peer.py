"""Erlang/OTP (EMQX's TLS stack) as a peer: e2e/brokers/otp/emqx_tls.escript
runs OTP's ssl and public_key the way EMQX configures them."""
import shutil
import subprocess

import pytest

from conftest import ROOT

EMQX_TLS = ROOT / "e2e" / "brokers" / "otp" / "emqx_tls.escript"


def escript(*args, timeout=60):
    """Runs emqx_tls.escript with ARGS; its output, or the test fails with it."""
    if shutil.which("escript") is None:
        pytest.skip("escript is not installed (scripts/install-deps.sh installs erlang-base)")
    result = subprocess.run(["escript", str(EMQX_TLS), *map(str, args)], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()
