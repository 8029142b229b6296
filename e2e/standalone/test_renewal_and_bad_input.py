"""Refresh at the threshold with atomic file swaps, and bad declarations that
leave issued certificates in place."""
import os
import time
from pathlib import Path

from conftest import openssl, serial_of, wait_for

HERE = Path(__file__).resolve().parent


def public_key(path, kind):
    args = ["x509", "-in", path, "-noout", "-pubkey"] if kind == "cert" else ["pkey", "-in", path, "-pubout"]
    return openssl(*args).stdout


def test_7_server_certificate_is_reissued_at_its_refresh_threshold_atomically(standalone_factory):
    instance = standalone_factory(HERE / "short-ttl").start()
    broker = instance.deployment_dir("broker")
    wait_for(lambda: (broker / "cert.pem").exists(), what="the first certificate")
    assert os.path.islink(broker / "cert.pem") and os.readlink(broker / "cert.pem") == "..data/cert.pem"
    assert oct(os.stat(broker / "cert.key").st_mode & 0o777) == "0o440"
    first = serial_of(broker / "cert.pem")
    issued_at = time.time()

    # Every snapshot a reader takes through ..data is a whole, matching pair.
    seen = {first}
    while time.time() - issued_at < 15 and len(seen) < 2:
        data = broker / os.readlink(broker / "..data")
        try:
            cert, key = data / "cert.pem", data / "cert.key"
            assert public_key(cert, "cert") == public_key(key, "key")
            seen.add(serial_of(cert))
        except (FileNotFoundError, AssertionError) as error:
            if data.exists():  # a version directory removed under us is fine; a torn pair is not
                raise error
        time.sleep(0.2)
    assert len(seen) == 2, "the certificate was not re-issued within 15 s"
    renewed_after = time.time() - issued_at
    # ttl 12s, refreshThreshold 6s, jitter at most 0.6s: due 5.4 to 6 s after issue.
    assert 4 <= renewed_after <= 10, renewed_after
    status = instance.status("VaultSecret", "quick-cert")
    assert status["ready"] and status["facts"]["serial"] in seen


def test_broken_declaration_is_not_ready_and_keeps_its_certificate(standalone_factory):
    instance = standalone_factory().start()
    emqx = instance.deployment_dir()
    wait_for(lambda: (emqx / "cert.pem").exists(), what="the server certificate")
    serial = serial_of(emqx / "cert.pem")

    vault = instance.declarations / "mqtt-vault.yaml"
    vault.write_text(vault.read_text().replace("ttl: 30d", "ttl: thirty days"))
    status = wait_for(lambda: (lambda s: s if s and not s["ready"] else None)(instance.status("VaultSecret", "server-cert")),
                      what="server-cert to be marked not Ready")
    assert status["reason"] == "InvalidSpec"
    assert "spec.autoCert.ttl" in status["message"]
    time.sleep(1)
    assert serial_of(emqx / "cert.pem") == serial
    assert instance.status("CertificateAuthority", "mqtt-ca")["ready"]


def test_revocactl_errors_are_one_line_and_non_zero(standalone_factory):
    instance = standalone_factory().start()
    result = instance.ctl("get-ca-cert", "--ca", "no-such-ca", check=False)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "no-such-ca" in result.stderr
