"""Rotating the server certificate drops no MQTT connection (standalone).

revoca standalone re-issues the EMQX deployment's server certificate every
few seconds (ttl 30s, refreshThreshold 22s) and replaces cert.pem and
cert.key in the deployment's output directory atomically (a new version
directory, then a rename of the ..data link). A broker reading those files in
place keeps every established MQTT-over-TLS connection across the rotations,
and its new TLS handshakes present the new certificate:

- the OTP broker (otp/mqtt_broker.escript, standing in for EMQX on the same
  ssl application) re-reads the files on its own once OTP's PEM cache is
  cleaned (ssl_pem_cache_clean, BROKER_PEM_CACHE_CLEAN_MS here): HELD
  clients stay connected over at least three rotations, each still answers
  PINGREQ and receives a message published to its own topic after each
  rotation, and a new handshake presents the new serial within one
  PEM-cache interval (plus a margin for a busy machine) of revoca writing it.
- mosquitto reads its certificate files only at start and on SIGHUP: after a
  rotation its new handshakes still present the old certificate until it is
  sent a SIGHUP (by an inotify watcher on the directory, or a sidecar, in a
  real deployment); the SIGHUP keeps the established connections, and the
  next handshakes present the new certificate.

The clients are mqtt_client.py's minimal MQTT 3.1.1 client (CONNECT, SUBSCRIBE,
PUBLISH QoS 0, PINGREQ, DISCONNECT), all in this process, on one client
certificate issued by revoca with distinct client ids.
"""
import re
import shutil
import signal
import ssl
import subprocess
import time

import pytest

from conftest import ROOT, Standalone, free_port, wait_for
from mqtt_client import check_all_alive, hold, probe_until
from rotation import (assert_nothing_dropped, assert_within, close_all, file_serial, localhost, next_rotation,
                      start_otp_broker)

HELD = 100                 # connections held across the rotations
ROTATIONS = 3
PEM_CACHE_CLEAN_MS = 2000
MARGIN = 5.0               # seconds on top of one PEM-cache interval, for a busy machine


# --- revoca, rotating the server certificate every few seconds ---------------------------------

@pytest.fixture(scope="module")
def revoca(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rotation")
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port())
    vault = instance.declarations / "mqtt-vault.yaml"
    text = vault.read_text()
    assert "ttl: 30d" in text and "refreshThreshold: 15d" in text
    # Re-issued about 8 s after each issue (minus jitter), each valid 30 s: a late
    # rotation on a busy machine does not leave an expired certificate behind.
    vault.write_text(text.replace("ttl: 30d", "ttl: 30s").replace("refreshThreshold: 15d", "refreshThreshold: 22s"))
    # The brokers here reload within one PEM-cache interval (2 s) and refresh their staple every 10 s.
    emqx_yaml = instance.declarations / "emqx.yaml"
    text = emqx_yaml.read_text()
    assert text.count("refreshInterval: 5m") == 2 and "  verify: verify_peer\n" in text
    emqx_yaml.write_text(text.replace("refreshInterval: 5m", "refreshInterval: 10s")
                         .replace("  verify: verify_peer\n", "  verify: verify_peer\n  rotation: {reloadWithin: 5s}\n"))
    instance.start()
    emqx = instance.deployment_dir()
    wait_for(lambda: all((emqx / name).exists() for name in ("cert.pem", "cert.key", "ca-cert.pem")),
             what="the emqx deployment's files")
    clients = workdir / "clients"
    clients.mkdir()
    issued = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", "rotation-client", "--ttl", "1d",
                          "--cert-type", "client")
    (clients / "client.pem").write_text(issued["cert"])
    (clients / "client.key").write_text(issued["private-key"])
    instance.clients = clients
    yield instance
    instance.kill(signal.SIGTERM)


def client_context(revoca):
    context = ssl.create_default_context(cafile=str(revoca.deployment_dir() / "ca-cert.pem"))
    context.load_cert_chain(revoca.clients / "client.pem", revoca.clients / "client.key")
    return context  # check_hostname on: the server certificate names localhost


# --- the OTP broker ----------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("escript") is None, reason="escript is not installed (scripts/install-deps.sh)")
def test_otp_broker_keeps_every_connection_across_rotations(revoca, tmp_path):
    emqx = revoca.deployment_dir()
    log = tmp_path / "broker.log"
    broker, port = start_otp_broker(emqx, log, PEM_CACHE_CLEAN_MS)
    held = []
    try:
        connect = localhost(client_context(revoca), port)
        started = time.monotonic()
        held = hold(connect, "held", HELD)
        print(f"\n{HELD} connections up in {time.monotonic() - started:.1f}s")
        check_all_alive(connect, held, "before")
        serial = file_serial(emqx / "cert.pem")
        delays = []
        for rotation in range(1, ROTATIONS + 1):
            serial, written = next_rotation(emqx / "cert.pem", serial)
            seen = probe_until(connect, serial, PEM_CACHE_CLEAN_MS / 1000 + MARGIN + 10, f"r{rotation}")
            delays.append(seen - written)
            print(f"rotation {rotation}: serial {serial:X}, new handshakes present it {seen - written:.2f}s "
                  f"after revoca wrote it")
            check_all_alive(connect, held, f"after-{rotation}")
        lines = log.read_text().splitlines()
        assert_nothing_dropped(lines, HELD, ("held",), ("probe", "publisher"))
        assert_within(delays, PEM_CACHE_CLEAN_MS / 1000 + MARGIN)
        print(f"held {HELD} connections over {ROTATIONS} rotations, none closed; "
              f"delays {[round(d, 2) for d in delays]}")
    finally:
        close_all(held, broker)


# --- mosquitto, reloading on SIGHUP ------------------------------------------------------------

@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed (scripts/install-deps.sh)")
def test_mosquitto_keeps_every_connection_and_takes_the_new_certificate_on_sighup(revoca, tmp_path):
    emqx = revoca.deployment_dir()
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    # user root: mosquitto drops to its user (mosquitto) before it reads the TLS
    # files, at start and on SIGHUP, and revoca's are 0400 and owned by 1000 (the
    # examples' fileOwnership); in a deployment, fileOwnership names mosquitto's uid.
    config.write_text(f"""\
per_listener_settings false
allow_anonymous true
persistence false
user root
log_dest file {tmp_path / 'mosquitto.log'}
log_type error
log_type warning
log_type notice
log_type information
listener {port} 127.0.0.1
cafile {emqx / 'ca-cert.pem'}
certfile {emqx / 'cert.pem'}
keyfile {emqx / 'cert.key'}
require_certificate true
""")
    log = tmp_path / "mosquitto.log"  # a file, flushed line by line (its stdout is not)
    broker = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=open(tmp_path / "mosquitto.out", "wb"),
                              stderr=subprocess.STDOUT)
    held = []
    try:
        connect = localhost(client_context(revoca), port)

        def up():
            if broker.poll() is not None:
                output = (tmp_path / "mosquitto.out").read_text() + (log.read_text() if log.exists() else "")
                raise AssertionError(f"mosquitto exited with {broker.returncode}:\n{output}")
            try:
                connect("probe-up").disconnect()
                return True
            except OSError:
                return False
        wait_for(up, timeout=30, interval=0.2, what="mosquitto listening")
        loaded = file_serial(emqx / "cert.pem")
        held = hold(connect, "held", HELD)
        check_all_alive(connect, held, "before")
        delays = []
        for rotation in range(1, ROTATIONS + 1):
            serial, written = next_rotation(emqx / "cert.pem", loaded)
            # Without a SIGHUP, new handshakes keep the certificate mosquitto loaded.
            time.sleep(PEM_CACHE_CLEAN_MS / 1000 + 1)
            stale = connect(f"probe-stale-{rotation}")
            stale.disconnect()
            assert stale.serial == loaded, (f"{stale.serial:X}", f"{loaded:X}")
            signalled = time.time()
            broker.send_signal(signal.SIGHUP)
            loaded = file_serial(emqx / "cert.pem")
            seen = probe_until(connect, loaded, 20, f"r{rotation}")
            delays.append(seen - signalled)
            print(f"mosquitto rotation {rotation}: serial {loaded:X} written {signalled - written:.2f}s before "
                  f"the SIGHUP, presented {seen - signalled:.2f}s after it")
            check_all_alive(connect, held, f"after-{rotation}")
        text = log.read_text()
        gone = [line for line in text.splitlines()
                if re.search(r"\bheld-\d+\b", line) and not re.search(r"New client connected", line)]
        assert not gone, gone
        assert broker.poll() is None, text
        assert text.count("Reloading config.") == ROTATIONS, text
        for delay in delays:
            assert delay <= MARGIN, delays
        print(f"mosquitto held {HELD} connections over {ROTATIONS} SIGHUP reloads, none closed")
    finally:
        close_all(held, broker)
