"""Hostile HTTP clients for test_responder_abuse.py.

The floods (slowloris, idle, hostile) run in a process of their own,
`python3 abusive_clients.py KIND --port P ...`, so that thousands of sockets
and Python's GIL do not slow down the probe that times valid requests; each
prints one JSON line of figures when it is done. The catalogue of single
hostile requests (HOSTILE) and `observe` are also imported by the test, which
checks every case's answer on its own."""
import argparse
import heapq
import json
import os
import random
import re
import resource
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"
OCSP_PATH = "/ocsp/00000000-0000-0000-0000-000000000000/mqtt-ca"


def raise_fd_limit():
    """Thousands of sockets need more than the usual soft limit of 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def spread(values):
    """min / p50 / p99 / max of a list of seconds, rounded for printing."""
    if not values:
        return {}
    return {name: round(value, 3) for name, value in
            (("min", min(values)), ("p50", percentile(values, 0.5)), ("p99", percentile(values, 0.99)),
             ("max", max(values)))}


def connect(port, timeout=5.0):
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# --- single hostile requests -------------------------------------------------

@dataclass
class Outcome:
    status: int | None = None       # status of the first response, if any
    statuses: list = field(default_factory=list)
    closed: bool = False             # the server closed (FIN or reset)
    reset: bool = False
    elapsed: float = 0.0             # until closed, or until we gave up
    send_error: str | None = None    # the server stopped taking our bytes


STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def statuses_in(data):
    """Status codes of the responses in a byte stream, in order (the
    responder's answers are short and carry no status-like text)."""
    return [int(code) for code in STATUS_LINE.findall(data)]


def observe(port, payload, wait=20.0, half_close=False, chunk=65536, pause=0.0):
    """Sends `payload` (bytes, or a list of pieces sent `pause` seconds apart),
    then reads until the server closes or `wait` seconds pass."""
    outcome = Outcome()
    started = time.monotonic()
    sock = connect(port)
    received = b""
    try:
        pieces = payload if isinstance(payload, list) else [payload]
        for piece in pieces:
            try:
                for offset in range(0, len(piece), chunk):
                    sock.sendall(piece[offset:offset + chunk])
            except OSError as error:
                outcome.send_error = type(error).__name__
                break
            if pause:
                time.sleep(pause)
        if half_close and not outcome.send_error:
            sock.shutdown(socket.SHUT_WR)
        deadline = started + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                outcome.closed = outcome.reset = True
                break
            if not data:
                outcome.closed = True
                break
            received += data
    finally:
        outcome.elapsed = time.monotonic() - started
        sock.close()
    outcome.statuses = statuses_in(received)
    outcome.status = outcome.statuses[0] if outcome.statuses else None
    return outcome


def _request(method="POST", target=OCSP_PATH, headers=(), body=b"", version="1.1"):
    head = f"{method} {target} HTTP/{version}\r\nHost: {HOST}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode() + b"\r\n" + body


@dataclass
class Case:
    """A hostile request and what the server must do with it.

    `answers`: acceptable first statuses; None among them means "closed
    without an answer" is fine too. `statuses`: the exact list of answers, when
    one is not enough. `closes`: "now" (within a few seconds), "timeout" (after
    the header timeout, not before) or None (keep-alive: may stay open)."""
    payload: bytes
    answers: set
    closes: str | None = "now"
    options: dict = field(default_factory=dict)
    statuses: list | None = None


def hostile_catalogue(valid_post=b""):
    ocsp = ("Content-Type", "application/ocsp-request")
    chunked = ("Transfer-Encoding", "chunked")
    big_body = os.urandom(11 * 1024)
    flood = 16 << 20
    cases = {
        "oversized body (Content-Length)": Case(
            _request(headers=[ocsp, ("Content-Length", len(big_body))], body=big_body), {413}),
        "oversized body announced, not sent": Case(
            _request(headers=[ocsp, ("Content-Length", 10 * 1024 * 1024)]), {413}),
        "oversized body (chunked)": Case(
            _request(headers=[ocsp, chunked],
                     body=b"".join(b"400\r\n" + b"x" * 1024 + b"\r\n" for _ in range(12)) + b"0\r\n\r\n"),
            {413}),
        "many tiny chunks over the limit": Case(
            _request(headers=[ocsp, chunked], body=b"1\r\nx\r\n" * (11 * 1024) + b"0\r\n\r\n"), {413}),
        "oversized header": Case(_request("GET", "/healthz", headers=[("X-Big", "a" * 9000)]), {431}),
        "too many headers": Case(
            _request("GET", "/healthz", headers=[(f"X-H{i}", "v" * 10) for i in range(1000)]), {431}),
        "oversized URL": Case(_request("GET", "/ocsp/t/c/" + "A" * 9000), {431, 414}),
        "endless header line (16 MiB)": Case(
            b"GET /healthz HTTP/1.1\r\nX-Flood: " + b"a" * flood, {431}),
        "bogus Content-Length (letters)": Case(
            _request(headers=[ocsp, ("Content-Length", "abc")], body=b"xyz"), {400}),
        "bogus Content-Length (negative)": Case(_request(headers=[ocsp, ("Content-Length", "-1")]), {400}),
        "bogus Content-Length (overflow)": Case(_request(headers=[ocsp, ("Content-Length", "9" * 40)]), {400, 413}),
        "two different Content-Lengths": Case(
            _request(headers=[ocsp, ("Content-Length", 3), ("Content-Length", 5)], body=b"abcde"), {400}),
        "Content-Length and chunked": Case(
            _request(headers=[ocsp, ("Content-Length", 5), chunked], body=b"5\r\nabcde\r\n0\r\n\r\n"), {400}),
        "Transfer-Encoding not ending in chunked": Case(
            _request(headers=[ocsp, ("Transfer-Encoding", "gzip")], body=_request("GET", "/healthz")), {400},
            statuses=[400]),
        "chunk size not hex": Case(_request(headers=[ocsp, chunked], body=b"zz\r\nabc\r\n0\r\n\r\n"), {400}),
        "chunk size overflow": Case(_request(headers=[ocsp, chunked], body=b"f" * 40 + b"\r\nabc\r\n"), {400, 413}),
        "endless chunk extension (16 MiB)": Case(
            _request(headers=[ocsp, chunked], body=b"1;" + b"a" * flood), {400}),
        "endless trailer (16 MiB)": Case(
            _request(headers=[ocsp, chunked], body=b"1\r\nx\r\n0\r\nX-T: " + b"a" * flood), {400, 431}),
        "NUL in a header": Case(_request("GET", "/healthz", headers=[("X-A", "a\0b")]), {400}),
        "bare LF line endings": Case(b"GET /healthz HTTP/1.1\nHost: x\n\n", {400}),
        "TLS ClientHello": Case(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500), {400}),
        "HTTP/2 preface": Case(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
        "unknown method": Case(_request("BREW", "/healthz"), {405, 404}, closes=None),
        "truncated header": Case(b"GET /healthz HTTP/1.1\r\nHo", {None}, closes="timeout"),
        "truncated body": Case(
            _request(headers=[ocsp, ("Content-Length", 100)], body=b"0" * 10), {None}, closes="timeout"),
        "chunked body without last chunk": Case(
            _request(headers=[ocsp, chunked], body=b"3\r\nabc\r\n"), {None}, closes="timeout"),
        "Expect: 100-continue, no body": Case(
            _request(headers=[ocsp, ("Content-Length", 100), ("Expect", "100-continue")]), {100},
            closes="timeout"),
        "connect and say nothing": Case(b"", {None}, closes="timeout"),
        "half-closed mid-request": Case(b"GET /healthz HTTP/1.1\r\nHo", {None}, options={"half_close": True}),
        "half-closed after a request": Case(_request("GET", "/healthz"), {200}, options={"half_close": True}),
        "HTTP/1.0 without keep-alive": Case(_request("GET", "/healthz", version="1.0"), {200}),
        "Connection: close": Case(_request("GET", "/healthz", headers=[("Connection", "close")]), {200}),
        "pipelined, a bad one in the middle": Case(
            _request("GET", "/healthz") + b"GARBAGE\r\n\r\n" + _request("GET", "/healthz"), {200},
            statuses=[200, 400]),
    }
    for size in (1, 64, 4096, 65536):
        # Random bytes rarely end a header, so most wait for the timeout; a
        # stray CR LF CR LF or an illegal byte gets a 400 first.
        cases[f"random bytes ({size})"] = Case(os.urandom(size), {400, None}, closes="any")
    if valid_post:
        cases["pipelined valid requests (50)"] = Case(valid_post * 50, {200}, closes=None, statuses=[200] * 50)
    return cases


def catalogue(port, valid_post, wait):
    """Every case of the catalogue once, all at the same time."""
    import concurrent.futures
    cases = hostile_catalogue(valid_post)

    def one(item):
        name, case = item
        outcome = observe(port, case.payload, wait=wait, **case.options)
        return name, {"statuses": outcome.statuses, "closed": outcome.closed, "reset": outcome.reset,
                      "elapsed": round(outcome.elapsed, 3), "send_error": outcome.send_error}

    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        return dict(pool.map(one, cases.items()))


# --- floods, each in its own process -----------------------------------------

class Flood:
    """Connections tracked in one selector: when each was opened, when the
    server closed it."""

    def __init__(self, port):
        self.port = port
        self.selector = selectors.DefaultSelector()
        self.opened = {}          # socket -> monotonic time of connect
        self.shed = []            # seconds from connect to the server's close
        self.answers = {}         # first status -> count
        self.connect_failures = 0
        self.peak = 0

    def open(self):
        try:
            sock = connect(self.port)
        except OSError:
            self.connect_failures += 1
            return None
        sock.setblocking(False)
        self.opened[sock] = time.monotonic()
        self.selector.register(sock, selectors.EVENT_READ)
        self.peak = max(self.peak, len(self.opened))
        return sock

    def closed_by_server(self, sock):
        self.shed.append(time.monotonic() - self.opened.pop(sock))
        self.selector.unregister(sock)
        sock.close()

    def poll(self, timeout):
        for key, _ in self.selector.select(timeout):
            sock = key.fileobj
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                for status in statuses_in(data):
                    self.answers[status] = self.answers.get(status, 0) + 1
            else:
                self.closed_by_server(sock)

    def close_all(self):
        for sock in list(self.opened):
            self.selector.unregister(sock)
            sock.close()
        self.opened.clear()

    def figures(self, started):
        return {"opened_peak": self.peak, "still_open": len(self.opened), "shed": len(self.shed),
                "connect_failures": self.connect_failures, "seconds_to_shed": spread(self.shed),
                "answers": self.answers, "seconds": round(time.monotonic() - started, 2)}


def slowloris(port, connections, interval, duration, reconnect):
    """`connections` clients each send a request one byte every `interval`
    seconds, far slower than the header timeout lets them. With `reconnect`,
    every connection the server sheds is replaced until `duration` ends."""
    request = _request(headers=[("Content-Type", "application/ocsp-request"), ("X-Padding", "p" * 400)])
    flood = Flood(port)
    started = time.monotonic()
    due = []  # (when, sequence, socket)
    progress = {}
    sequence = 0

    def add():
        nonlocal sequence
        sock = flood.open()
        if sock is not None:
            progress[sock] = 0
            sequence += 1
            heapq.heappush(due, (time.monotonic() + random.uniform(0, interval), sequence, sock))

    for _ in range(connections):
        add()
    sent = 0
    while flood.opened and time.monotonic() - started < duration:
        flood.poll(0.02)
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, sock = heapq.heappop(due)
            if sock not in flood.opened:
                continue
            position = progress[sock]
            try:
                sock.send(request[position:position + 1])
                sent += 1
            except BlockingIOError:
                pass
            except OSError:
                flood.closed_by_server(sock)
                continue
            progress[sock] = (position + 1) % len(request)
            sequence += 1
            heapq.heappush(due, (now + interval, sequence, sock))
        if reconnect:
            for sock in [s for s in progress if s not in flood.opened]:
                del progress[sock]
            while len(flood.opened) < connections and time.monotonic() - started < duration:
                add()
    figures = flood.figures(started)
    figures["bytes_sent"] = sent
    flood.close_all()
    return figures


def idle(port, connections, hold, keepalive_every):
    """`connections` clients connect and hold the connection. Every
    `keepalive_every`-th first asks for /healthz (then idles between
    requests, which the idle timeout governs); the others never say a word
    (which the header timeout governs)."""
    flood = Flood(port)
    started = time.monotonic()
    chatty = set()
    for index in range(connections):
        sock = flood.open()
        if sock is not None and keepalive_every and index % keepalive_every == 0:
            try:
                sock.send(_request("GET", "/healthz"))
                chatty.add(sock)
            except OSError:
                pass
    opened_in = time.monotonic() - started
    while flood.opened and time.monotonic() - started < hold:
        flood.poll(0.1)
    figures = flood.figures(started)
    figures["seconds_to_open"] = round(opened_in, 2)
    figures["keepalive_held"] = sum(1 for sock in chatty if sock in flood.opened)
    flood.close_all()
    return figures


def hostile(port, duration, concurrency):
    """The catalogue of hostile requests, over and over, `concurrency` at a
    time (the slow cases included), for `duration` seconds."""
    import concurrent.futures
    cases = [(name, case.payload, case.options) for name, case in hostile_catalogue().items()]
    counts = {}
    started = time.monotonic()

    def one(index):
        name, payload, options = cases[index % len(cases)]
        try:
            outcome = observe(port, payload, wait=12.0, **options)
            return name, outcome.status if outcome.status else ("closed" if outcome.closed else "open")
        except OSError as error:
            return name, type(error).__name__

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        pending = set()
        index = 0
        while time.monotonic() - started < duration or pending:
            while len(pending) < concurrency and time.monotonic() - started < duration:
                pending.add(pool.submit(one, index))
                index += 1
            done, pending = concurrent.futures.wait(pending, timeout=0.5,
                                                     return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                name, result = future.result()
                key = str(result)
                counts[key] = counts.get(key, 0) + 1
    return {"requests": sum(counts.values()), "outcomes": counts, "seconds": round(time.monotonic() - started, 2)}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["slowloris", "idle", "hostile", "catalogue"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.5, help="slowloris: seconds between bytes")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--reconnect", action="store_true")
    parser.add_argument("--keepalive-every", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--valid-post", help="catalogue: a file holding one valid OCSP POST request")
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.kind == "slowloris":
        figures = slowloris(args.port, args.connections, args.interval, args.duration, args.reconnect)
    elif args.kind == "idle":
        figures = idle(args.port, args.connections, args.duration, args.keepalive_every)
    elif args.kind == "hostile":
        figures = hostile(args.port, args.duration, args.concurrency)
    else:
        valid_post = open(args.valid_post, "rb").read() if args.valid_post else b""
        figures = catalogue(args.port, valid_post, args.duration)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
