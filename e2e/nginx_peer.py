"""nginx as a real TLS peer: a master process in the foreground on its own
prefix, port and logs, with OCSP stapling of revoca's answers
(`ssl_stapling on; ssl_stapling_verify on;`), and the reading of what it
staples through `openssl s_client -status`."""
import os
import shutil
import signal
import subprocess
from pathlib import Path

from conftest import free_port, wait_for

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)
SERVER_NAME = "mqtt.emqx.internal"


def children(pid):
    """The pids of pid's child processes (nginx's workers), read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


class Nginx:
    """An nginx master process in the foreground, on its own prefix, port and logs."""

    def __init__(self, prefix: Path):
        self.prefix = prefix
        self.port = free_port()
        self.conf = prefix / "nginx.conf"
        self.error_log = prefix / "error.log"
        self.process = None

    def write_config(self, certificate, key, trusted, responder=None, stapling_file=None):
        p = self.prefix
        stapling = ["ssl_stapling on;", "ssl_stapling_verify on;", f"ssl_trusted_certificate {trusted};"]
        if responder:
            # An IP address: no `resolver` needed.
            stapling.append(f"ssl_stapling_responder {responder};")
        if stapling_file:
            stapling.append(f"ssl_stapling_file {stapling_file};")
        # No `user` directive: as root the workers run as nobody, which is fine,
        # since only the master reads certificates, keys and staple files.
        self.conf.write_text(f"""
worker_processes 1;
pid {p}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/client_body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name {SERVER_NAME};
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        {' '.join(stapling)}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")

    def command(self, *args):
        return [NGINX, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e", str(self.error_log), *args]

    def start(self):
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stdout=open(self.prefix / "stdout.log", "ab"),
                                        stderr=subprocess.STDOUT)
        wait_for(lambda: self.alive() and children(self.process.pid), timeout=10, what="nginx workers")
        return self

    def alive(self):
        if self.process.poll() is not None:
            raise AssertionError(f"nginx exited with {self.process.returncode}:\n{self.logs()}")
        return True

    def reload(self):
        """`nginx -s reload`, then waits until only new workers serve the port."""
        old = children(self.process.pid)
        result = subprocess.run(self.command("-s", "reload"), capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr + self.logs()

        def only_new_workers():
            self.alive()
            now = children(self.process.pid)
            return now and not (now & old)
        wait_for(only_new_workers, timeout=10, what="nginx to replace its workers")

    def handshake(self, ca):
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", SERVER_NAME, "-status",
             "-CAfile", str(ca), "-verify_return_error"],
            input="", capture_output=True, text=True, timeout=20)
        return result.stdout + result.stderr

    def wait_until_it_verifies_a_revoked_answer(self, ca):
        """Handshakes until nginx logs that the answer it fetched says revoked.
        nginx checks the status after the signature, so that line means it
        verified the answer; it never staples it."""
        marker = 'certificate status "revoked" in the OCSP response'

        def fetched_revoked():
            output = self.handshake(ca)
            assert "Cert Status: good" not in output, "nginx stapled good for a revoked certificate:\n" + output
            return marker in self.error_log.read_text()
        wait_for(fetched_revoked, timeout=15, interval=0.3, what=f"nginx to log {marker!r}:\n{self.logs()}")
        assert "OCSP_basic_verify() failed" not in self.logs()

    def logs(self):
        text = self.error_log.read_text() if self.error_log.exists() else ""
        stdout = self.prefix / "stdout.log"
        return text + (stdout.read_text() if stdout.exists() else "")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def staple_of(output):
    """The s_client `-status` section: from `OCSP response:` to the certificate chain."""
    start = output.find("OCSP response:")
    assert start >= 0, output
    end = output.find("Certificate chain", start)
    return output[start:end if end >= 0 else len(output)]
