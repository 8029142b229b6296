"""A minimal MQTT 3.1.1 client over TLS (CONNECT, SUBSCRIBE, PUBLISH QoS 0,
PINGREQ, DISCONNECT), all in the test's process, for the suites that hold
many connections across a certificate rotation: one client per connection,
no threads, no library that could reconnect behind the test's back.

    connect = lambda client_id: Client(context, ("127.0.0.1", port), client_id, server_hostname="localhost")
    held = hold(connect, "held", 100)
    ... rotate ...
    probe_until(connect, new_serial, 30, "r1")
    check_all_alive(connect, held, "after")
"""
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509

KEEPALIVE = 300  # seconds: no keepalive timeout closes a held client while a test runs
TIMEOUT = 30     # seconds for any one socket operation


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
    """One MQTT connection over TLS to ADDRESS (host, port); SERIAL is the
    serial of the server certificate its handshake was shown."""

    def __init__(self, context, address, client_id, server_hostname):
        self.client_id = client_id
        raw = socket.create_connection(address, timeout=TIMEOUT)
        try:
            self.sock = context.wrap_socket(raw, server_hostname=server_hostname)
        except BaseException:
            raw.close()
            raise
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


def subscribed(connect, client_id):
    """A client from CONNECT(CLIENT_ID) subscribed to rotation/CLIENT_ID, as check_all_alive expects of a held one."""
    client = connect(client_id)
    client.subscribe(f"rotation/{client_id}")
    return client


def hold(connect, prefix, count):
    """COUNT subscribed clients, PREFIX-0 ..."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: subscribed(connect, f"{prefix}-{i}"), range(count)))


def check_all_alive(connect, held, label):
    """Every held client answers PINGREQ and receives the message a new
    client (publisher-LABEL) publishes to its topic."""
    for client in held:
        client.ping()
    for client in held:
        client.pong()
    publisher = connect(f"publisher-{label}")
    try:
        for client in held:
            publisher.publish(f"rotation/{client.client_id}", f"{label} {client.client_id}".encode())
        for client in held:
            assert client.received() == (f"rotation/{client.client_id}", f"{label} {client.client_id}".encode())
    finally:
        publisher.disconnect()


def probe_until(connect, serial, timeout, label):
    """New handshakes (each a whole CONNECT, DISCONNECT) until one presents SERIAL: when it did.
    One probe runs even with TIMEOUT spent, for a caller that counts it from an earlier moment."""
    deadline, n = time.monotonic() + timeout, 0
    while True:
        n += 1
        probe = connect(f"probe-{label}-{n}")
        probe.disconnect()
        if probe.serial == serial:
            return time.time()
        if time.monotonic() >= deadline:
            raise AssertionError(f"{label}: no new handshake presented serial {serial:X} within {timeout:.0f}s "
                                 f"({n} probes)")
        time.sleep(0.1)


def disconnect_all(held):
    """Each held client says DISCONNECT, so that no broker logs an abrupt close."""
    for client in held:
        try:
            client.disconnect()
        except OSError:
            pass
