"""Real OpenSSL TLS peers: an `openssl s_server` in the background and an
`openssl s_client` run against it."""
import subprocess
import time
from pathlib import Path

from conftest import free_port


class SServer:
    def __init__(self, workdir: Path, *args):
        self.port = free_port()
        self.log = workdir / f"s_server-{self.port}.log"
        self.process = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-quiet", *map(str, args)],
            stdin=subprocess.PIPE, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"s_server exited: {self.log.read_text()}")
            try:
                import socket
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)

    def client(self, *args, timeout=20):
        """Runs s_client against this server; returns its stdout and stderr together."""
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", *map(str, args)],
            input="Q\n", capture_output=True, text=True, timeout=timeout)
        return result.stdout + result.stderr

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
