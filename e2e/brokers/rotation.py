"""What the rotation suites share beside mqtt_client: a broker on this
machine to connect to, a deployment's certificate file watched as revoca
rotates it, and the OTP broker (otp/mqtt_broker.escript, standing in for
EMQX on the same ssl application) run on a deployment's files, read in place.
"""
import os
import re
import signal
import subprocess

from cryptography import x509

from conftest import ROOT, free_port, wait_for
from mqtt_client import Client, disconnect_all

BROKER = ROOT / "e2e" / "brokers" / "otp" / "mqtt_broker.escript"


def localhost(context, port):
    """mqtt_client's connect for a broker on 127.0.0.1:PORT, whose certificate names localhost."""
    return lambda client_id: Client(context, ("127.0.0.1", port), client_id, server_hostname="localhost")


def file_serial(path):
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def next_rotation(cert, serial, timeout=40):
    """Waits for the file CERT to hold another certificate than SERIAL: (new serial, when it was written)."""
    def changed():
        try:
            new = file_serial(cert)
            return (new, cert.resolve().stat().st_mtime) if new != serial else None
        except (FileNotFoundError, ValueError):
            return None
    return wait_for(changed, timeout=timeout, interval=0.02, what=f"{cert} to change")


def start_otp_broker(tls_dir, log, pem_cache_clean_ms):
    """The OTP broker on TLS_DIR's cert.pem, cert.key and ca-cert.pem, which it re-reads once OTP's
    PEM cache is cleaned (every PEM_CACHE_CLEAN_MS); its stdout is LOG. Returns (process, port)."""
    port = free_port()
    env = dict(os.environ, BROKER_PORT=str(port), BROKER_TLS_DIR=str(tls_dir), BROKER_CERTFILE="cert.pem",
               BROKER_KEYFILE="cert.key", BROKER_CACERTFILE="ca-cert.pem",
               BROKER_PEM_CACHE_CLEAN_MS=str(pem_cache_clean_ms), BROKER_CRL_REFRESH_SECONDS="3600")
    broker = subprocess.Popen(["escript", str(BROKER)], env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: broker.poll() is not None or re.search(rf"^listening {port} ", log.read_text(), re.M),
                 timeout=60, what="the broker listening")
        assert broker.poll() is None, f"the broker exited with {broker.returncode}:\n{log.read_text()}"
    except BaseException:
        stop(broker)
        raise
    return broker, port


def stop(broker):
    broker.send_signal(signal.SIGTERM)
    try:
        broker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        broker.kill()
        broker.wait()


def close_all(held, broker):
    """The held clients disconnect (no broker logs an abrupt close), then the broker stops."""
    disconnect_all(held)
    stop(broker)


def assert_nothing_dropped(lines, held, kept, closers):
    """From the broker's log: HELD clients connected once each, none of the
    clients whose id starts with one of KEPT was closed, and every other
    close was a client (one of CLOSERS) saying DISCONNECT."""
    assert len([line for line in lines if line.startswith("connected held-")]) == held
    dropped = [line for line in lines if line.startswith(tuple(f"closed {prefix}-" for prefix in kept))]
    assert not dropped, dropped
    assert all(re.fullmatch(rf"closed ({'|'.join(closers)})-\S+ disconnect", line)
               for line in lines if line.startswith("closed ")), lines


def assert_within(delays, limit):
    for delay in delays:
        assert delay <= limit, delays
