"""A TCP proxy between revoca and the apiserver that makes network faults on
demand. TLS passes through untouched (revoca still verifies the apiserver's
certificate, which names 127.0.0.1): the proxy only sees bytes, so it cuts,
stalls or refuses connections, never edits a request.

    proxy = FaultProxy(("127.0.0.1", apiserver_port)).start()
    kubeconfig points at proxy.url
    proxy.cut_all()                          # every open connection, now
    proxy.cut_streams(min_age=1, bytes=(2000, 30000))  # long-lived ones, mid-record
    proxy.refuse(True) / proxy.stall(True)   # new connections reset / nothing moves
    proxy.stop()

Every connection is a thread copying both ways; the counters say what the
proxy did, for the figures a test prints."""
import random
import select
import socket
import struct
import threading
import time


class _Link:
    """One client connection and its upstream twin."""

    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.opened = time.monotonic()
        self.down_bytes = 0  # apiserver -> revoca
        self.cut_at = None   # cut once down_bytes passes this (set by cut_streams)
        self.closed = False


def _reset(sock):
    """Closes with a TCP RST (SO_LINGER 0): the peer sees the connection die."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, target):
        self.target = target
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self.port = self._listener.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._links = set()
        self._stopping = False
        self._refusing = False
        self._stalled = False
        self._stream_cut = None  # (min_age seconds, (low, high) bytes), or None
        self._random = random.Random(7)
        self.counters = {"connections": 0, "refused": 0, "cut": 0, "stream_cuts": 0}

    # --- faults ------------------------------------------------------------
    def refuse(self, on=True):
        """New connections are reset as soon as they arrive (the apiserver as
        if down); open ones are untouched: cut_all() them too if needed."""
        self._refusing = on

    def stall(self, on=True):
        """Nothing is forwarded either way while on: connections hang open
        (a partitioned apiserver), so revoca's own timeouts must act."""
        self._stalled = on

    def cut_all(self):
        """Resets every open connection at once; returns how many."""
        with self._lock:
            links = list(self._links)
        for link in links:
            self._close(link, "cut")
        return len(links)

    def cut_streams(self, min_age=1.0, byte_range=(2000, 30000)):
        """From now on, each connection older than min_age seconds is reset
        after a random number of further bytes from the apiserver, in
        byte_range: a watch stream dies in the middle of a TLS record, so
        in the middle of an event. None turns it off."""
        with self._lock:
            self._stream_cut = (min_age, byte_range) if byte_range else None
            for link in self._links:
                link.cut_at = None

    def heal(self):
        """Ends every fault mode (open connections stay as they are)."""
        self._refusing = False
        self._stalled = False
        self.cut_streams(byte_range=None)

    # --- running -----------------------------------------------------------
    def start(self):
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()
        return self

    def stop(self):
        self._stopping = True
        _reset(self._listener)
        self.cut_all()

    def open_connections(self):
        with self._lock:
            return len(self._links)

    def _accept(self):
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.counters["connections"] += 1
            if self._refusing:
                self.counters["refused"] += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._pump, args=(link,), daemon=True).start()

    def _close(self, link, counter=None):
        with self._lock:
            if link.closed:
                return
            link.closed = True
            self._links.discard(link)
            if counter:
                self.counters[counter] += 1
        _reset(link.client)
        _reset(link.upstream)

    def _stream_budget(self, link):
        """The byte count at which this link is cut, once it is old enough."""
        cut = self._stream_cut
        if cut is None:
            return None
        min_age, (low, high) = cut
        if link.cut_at is None and time.monotonic() - link.opened >= min_age:
            link.cut_at = link.down_bytes + self._random.randint(low, high)
        return link.cut_at

    def _pump(self, link):
        peers = {link.client: link.upstream, link.upstream: link.client}
        try:
            while not link.closed and not self._stopping:
                if self._stalled:
                    time.sleep(0.05)
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.1)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        self._close(link)
                        return
                    if source is link.upstream:
                        budget = self._stream_budget(link)
                        if budget is not None and link.down_bytes + len(data) >= budget:
                            # Forward part of the chunk, then die: a record cut short.
                            part = max(0, budget - link.down_bytes)
                            if part:
                                link.client.sendall(data[:part])
                            self._close(link, "stream_cuts")
                            return
                        link.down_bytes += len(data)
                    peers[source].sendall(data)
        except OSError:
            pass
        self._close(link)
