"""Connections held across certificate rotations, for the rotation suites.

A minimal MQTT 3.1.1 client (CONNECT, SUBSCRIBE, PUBLISH QoS 0, PINGREQ,
DISCONNECT) over TLS, all in the test's process, and what the suites do with
it: hold many clients, check that each still exchanges data, probe new
handshakes until they present a given server certificate, and run the OTP
broker (otp/mqtt_broker.escript, standing in for EMQX on the same ssl
application) on a deployment's files, read in place.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509

from conftest import ROOT, free_port, wait_for

BROKER = ROOT / "e2e" / "brokers" / "otp" / "mqtt_broker.escript"
KEEPALIVE = 300            # seconds: no keepalive timeout can close a held client during a test
TIMEOUT = 30               # seconds for any one socket operation


def _string(text):
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _packet(first, body):
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([first]) + bytes(encoded) + body


class Client:
    """One MQTT connection over TLS; SERIAL is the server certificate's serial it was shown."""

    def __init__(self, context, port, client_id):
        self.client_id = client_id
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.serial = x509.load_der_x509_certificate(self.sock.getpeercert(binary_form=True)).serial_number
        self.sock.sendall(_packet(0x10, _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", KEEPALIVE)
                                  + _string(client_id)))
        kind, body = self.receive()
        assert kind == 0x20 and body == b"\x00\x00", (client_id, kind, body)
        self.next_id = 1

    def _exactly(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"{self.client_id}: the broker closed the connection")
            data += chunk
        return bytes(data)

    def receive(self):
        first = self._exactly(1)[0]
        length, shift = 0, 0
        while True:
            byte = self._exactly(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return first & 0xF0, self._exactly(length)

    def subscribe(self, topic):
        packet_id, self.next_id = self.next_id, self.next_id + 1
        self.sock.sendall(_packet(0x82, struct.pack("!H", packet_id) + _string(topic) + b"\x00"))
        kind, body = self.receive()
        assert kind == 0x90 and body == struct.pack("!H", packet_id) + b"\x00", (self.client_id, kind, body)

    def publish(self, topic, payload):
        self.sock.sendall(_packet(0x30, _string(topic) + payload))

    def received(self):
        """The next PUBLISH: (topic, payload)."""
        kind, body = self.receive()
        assert kind == 0x30, (self.client_id, kind, body)
        (length,) = struct.unpack("!H", body[:2])
        return body[2:2 + length].decode(), body[2 + length:]

    def ping(self):
        self.sock.sendall(b"\xc0\x00")

    def pong(self):
        assert self.receive() == (0xD0, b""), self.client_id

    def disconnect(self):
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()


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


def subscribed(context, port, client_id):
    """A client subscribed to its own topic, as check_all_alive expects of a held one."""
    client = Client(context, port, client_id)
    client.subscribe(f"rotation/{client_id}")
    return client


def hold(context, port, prefix, count):
    """COUNT clients, each subscribed to its own topic."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: subscribed(context, port, f"{prefix}-{i}"), range(count)))


def check_all_alive(context, port, held, label):
    """Every held client answers PINGREQ and receives the message published, by a new client, to its topic."""
    for client in held:
        client.ping()
    for client in held:
        client.pong()
    publisher = Client(context, port, f"publisher-{label}")
    try:
        for client in held:
            publisher.publish(f"rotation/{client.client_id}", f"{label} {client.client_id}".encode())
        for client in held:
            assert client.received() == (f"rotation/{client.client_id}", f"{label} {client.client_id}".encode())
    finally:
        publisher.disconnect()


def probe_until(context, port, serial, timeout, label):
    """New handshakes (with a whole CONNECT, DISCONNECT) until one presents SERIAL: when it did."""
    deadline, n = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        n += 1
        probe = Client(context, port, f"probe-{label}-{n}")
        probe.disconnect()
        if probe.serial == serial:
            return time.time()
        time.sleep(0.1)
    raise AssertionError(f"no new handshake presented serial {serial:X} within {timeout}s ({n} probes)")


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
    """Each held client says DISCONNECT (no broker logs an abrupt close), then the broker stops."""
    for client in held:
        try:
            client.disconnect()
        except OSError:
            pass
    stop(broker)
