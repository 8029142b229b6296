"""What a leaked private key could look like, for the security suites
(standalone and cluster) that grep logs, metrics, status and objects."""
import base64
import re

from conftest import openssl


def key_needles(pem):
    """The PEM body and its lines, the DER as base64 and hex, and the private
    scalar in hex and base64."""
    lines = [line for line in pem.strip().splitlines() if not line.startswith("-----")]
    body = "".join(lines)
    der = base64.b64decode(body + "=" * (-len(body) % 4))
    needles = {body, der.hex(), der.hex().upper(), base64.b64encode(der).decode().rstrip("=")}
    needles.update(line for line in lines if len(line) >= 16)
    text = openssl("pkey", "-noout", "-text", input=pem, check=False).stdout
    scalar = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    if scalar:
        hexed = re.sub(r"[\s:]", "", scalar.group(1)).lstrip("0")
        needles.update({hexed, hexed.upper(), base64.b64encode(bytes.fromhex(hexed.zfill(64))).decode()})
    return needles


def assert_no_key(where, text, keys):
    assert "PRIVATE KEY" not in text, f"{where} holds a PRIVATE KEY marker"
    for key in keys:
        for needle in key_needles(key):
            assert needle not in text, f"{where} holds private key material ({needle[:12]}...)"
