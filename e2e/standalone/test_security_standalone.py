"""SECURITY.md's claims about a standalone instance, proven on the real process.

- Key files are private before a key byte is written: revoca runs under
  strace (umask 000, the worst a service manager could give it) while it
  creates CAs, issues, rotates and revokes; every write that carries a
  private key goes to a file created 0600 or narrower (or fchmod'ed to its
  final mode) before that write, and the final tree on disk has 0700
  directories and 0600 keys.
- The admin socket serves revoca's user and root only: nobody else can
  reach it, even when the state directory or the socket was widened by hand.
- No private key (CA or leaf) reaches the log (text and JSON, debug level),
  /metrics, status.json or `revocactl status`, after errors too.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from key_leaks import assert_no_key
from conftest import REVOCA, REVOCACTL, ROOT, Standalone, free_port, http, openssl, run, wait_for

STRACE = shutil.which("strace")
SETPRIV = shutil.which("setpriv")

# A CA that rotates every few seconds (ttl 9s, renewal 6s before its end),
# with a leaf of its own, beside the examples' mqtt-ca.
ROTATING = """\
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: spin-ca}
spec:
  ttl: 9s
  renewThreshold: 6s
  crlDistUrls: ["http://127.0.0.1:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"]
  ocspResponderUrls: ["http://127.0.0.1:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"]
---
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {name: spin-vault}
spec:
  distribute: {deployments: [spin]}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {name: spin-cert}
spec:
  vault: spin-vault
  autoCert: {issuingCa: spin-ca, host: spin.example, certType: server, ttl: 8s, refreshThreshold: 4s}
"""


def start(instance, prefix=(), umask=None, log_args=()):
    """Standalone.start, with a command in front of revoca (strace) and a umask."""
    environment = dict(os.environ)
    if prefix:  # LeakSanitizer cannot run under ptrace (the ASan build of CI)
        environment["ASAN_OPTIONS"] = (environment.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    instance.process = subprocess.Popen(
        [*map(str, prefix), str(REVOCA), "standalone", "--declarations", str(instance.declarations),
         "--state", str(instance.state), "--output", str(instance.output), "--listen",
         f"127.0.0.1:{instance.port}", *instance.extra_args, *log_args],
        stdout=open(instance.log, "ab"), stderr=subprocess.STDOUT, env=environment,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    wait_for(instance.ready, timeout=60, what="revoca /readyz")
    return instance


def ca_version(instance, ca):
    versions = instance.state / "cas" / "default" / ca / "versions"
    return max((int(p.name) for p in versions.iterdir() if (p / "cert.pem").exists()), default=0) \
        if versions.exists() else 0


def rotating_instance(workdir, extra_args=()):
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port(), extra_args)
    (instance.declarations / "spin.yaml").write_text(ROTATING.replace("127.0.0.1:4664", f"127.0.0.1:{instance.port}"))
    return instance


def exercise(instance, rotations=2):
    """Issuance, rotation and revocation, as the tests need them happen."""
    wait_for(lambda: (instance.deployment_dir() / "cert.key").exists(), timeout=60, what="server-cert issued")
    wait_for(lambda: ca_version(instance, "spin-ca") >= 1 + rotations, timeout=60, what="spin-ca to rotate")
    issued = instance.ctl("issue-cert", "--ca", "mqtt-ca", "--host", "client.example", "--ttl", "1d")
    instance.ctl("revoke-cert", "--ca", "mqtt-ca", "--reason", "keyCompromise", issued["serial"])
    return issued


# --- key files private before a byte is written ------------------------------------------------

SYSCALL = re.compile(r"^(\w+)\((.*)\) += (-?\d+)(?:<([^>]*)>)?")
FD_PATH = re.compile(r"^(\d+)<([^>]*)>")


def parse_args(text):
    """strace's argument list: top-level commas only (strings may hold commas)."""
    args, depth, current, quoted, escaped = [], 0, "", False, False
    for c in text:
        if quoted:
            current += c
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = False
            continue
        if c == '"':
            quoted = True
        elif c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(current.strip())
            current = ""
            continue
        current += c
    if current.strip():
        args.append(current.strip())
    return args


def unquote(arg):
    return arg[1:arg.rindex('"')] if arg.startswith('"') else arg


class FileHistory:
    """What one thread of revoca did to each file, in order (strace -ff -y)."""

    def __init__(self):
        self.created = {}      # path -> (flags, mode) of its creating open
        self.mode = {}         # path -> mode now, as far as the trace shows
        self.first_write = {}  # path -> mode when the first byte was written
        self.key_writes = set()
        self.mkdirs = {}
        self.renamed = {}

    def feed(self, line):
        match = SYSCALL.match(line)
        if not match or int(match.group(3)) < 0:
            return
        name, args = match.group(1), parse_args(match.group(2))
        returned_path = match.group(4)
        if name in ("open", "openat", "creat") and returned_path:
            flags = args[-2] if name != "creat" and len(args) >= 3 and "O_CREAT" in args[-2] else ""
            if name == "creat" or "O_CREAT" in flags:
                mode = int(args[-1], 8)
                if returned_path not in self.created:
                    self.created[returned_path] = (flags or "creat", mode)
                self.mode.setdefault(returned_path, mode)
        elif name in ("fchmod",):
            fd = FD_PATH.match(args[0])
            if fd:
                self.mode[fd.group(2)] = int(args[1], 8)
        elif name in ("chmod", "fchmodat"):
            self.mode[unquote(args[-2] if name == "fchmodat" else args[0])] = int(args[-1] if name == "chmod" else args[2], 8)
        elif name in ("write", "pwrite64", "writev"):
            fd = FD_PATH.match(args[0])
            if fd and fd.group(2).startswith("/"):
                path = fd.group(2)
                self.first_write.setdefault(path, self.mode.get(path))
                if "PRIVATE KEY" in args[1] or "PRIVATE KEY" in line:
                    self.key_writes.add(path)
        elif name == "mkdir":
            self.mkdirs[unquote(args[0])] = int(args[1], 8)
        elif name == "mkdirat":
            self.mkdirs[at_path(args[0], args[1])] = int(args[2], 8)
        elif name == "rename":
            self.renamed[unquote(args[0])] = unquote(args[1])
        elif name in ("renameat", "renameat2"):
            # Output files are renamed beneath a directory descriptor (core/beneath.h).
            self.renamed[at_path(args[0], args[1])] = at_path(args[2], args[3])


def at_path(dirfd, name):
    """The path an *at() call names: `name` under `dirfd` (shown by strace -y)."""
    name = unquote(name)
    fd = FD_PATH.match(dirfd)
    return name if name.startswith("/") or not fd else fd.group(2) + "/" + name


def read_traces(prefix):
    histories = []
    for trace in sorted(prefix.parent.glob(prefix.name + ".*")):
        history = FileHistory()
        for line in trace.read_text(errors="replace").splitlines():
            history.feed(line)
        histories.append(history)
    return histories


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.skipif(STRACE is None, reason="strace is missing: apt-get install strace (scripts/install-deps.sh)")
def test_key_files_are_private_before_a_byte_is_written_even_under_umask_000(tmp_path):
    instance = rotating_instance(tmp_path / "traced")
    prefix = tmp_path / "trace" / "revoca"
    prefix.parent.mkdir()
    strace = [STRACE, "-ff", "-y", "-s", "8192", "-o", prefix, "-e",
              "trace=open,openat,creat,write,pwrite64,writev,chmod,fchmod,fchmodat,rename,renameat,renameat2,"
              "mkdir,mkdirat"]
    start(instance, strace, umask=0)
    try:
        exercise(instance, rotations=2)
        time.sleep(1)
    finally:
        # SIGTERM to revoca itself (strace's child), so it stops cleanly and strace follows.
        children = Path(f"/proc/{instance.process.pid}/task/{instance.process.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        instance.process.wait(timeout=30)

    histories = read_traces(prefix)
    key_paths = {}
    for history in histories:
        for path in history.key_writes:
            key_paths[path] = history
    state, output = str(instance.state) + "/", str(instance.output) + "/"
    # Every kind of key file was seen being written: CA keys (two CAs, rotated),
    # VaultSecret records in the state, and the keys published for brokers.
    assert any(re.search(r"/versions/3/key\.pem\.tmp-\d+$", p) for p in key_paths), sorted(key_paths)
    assert any(re.search(r"/secrets/default/server-cert\.json\.tmp-\d+$", p) for p in key_paths), sorted(key_paths)
    assert any(re.search(r"/\.\.version-\d+/cert\.key\.tmp-\d+$", p) for p in key_paths), sorted(key_paths)
    for path, history in key_paths.items():
        # Nothing but revoca's own files gets a key: not its log, not a stray file.
        assert path.startswith(state) or path.startswith(output), f"a private key was written to {path}"
        assert ".tmp-" in path, f"{path}: a key must be written to a temporary file and renamed"
        flags, created_mode = history.created.get(path, (None, None))
        assert flags is not None, f"{path} was written with a key but not created by the writer"
        assert "O_EXCL" in flags, f"{path} was opened without O_EXCL ({flags})"
        assert created_mode & 0o077 == 0, f"{path} was created {oct(created_mode)}"
        expected = 0o600 if path.startswith(state) else 0o400  # fileMode's default for the broker's copy
        assert history.first_write[path] == expected, \
            f"{path}: mode {oct(history.first_write[path] or 0)} when its first byte was written"
        assert path in history.renamed, f"{path} was never renamed into place"
    print(f"strace: {len(histories)} threads, {len(key_paths)} files written with a private key, "
          f"{sum(len(h.mkdirs) for h in histories)} directories created")
    for history in histories:
        for directory, mode in history.mkdirs.items():
            if directory.startswith(state):
                assert mode == 0o700, f"{directory} was created {oct(mode)}"

    # The tree on disk, after a run under umask 000.
    assert mode_of(instance.state) == 0o700
    for root, directories, files in os.walk(instance.state):
        for name in directories:
            assert mode_of(Path(root) / name) == 0o700, Path(root) / name
        for name in files:
            path = Path(root) / name
            mode = mode_of(path)
            assert mode & 0o022 == 0, f"{path} is writable by others: {oct(mode)}"
            if name == "key.pem" or path.parent.parent.name == "secrets" or name in ("ledger", "revocations"):
                assert mode == 0o600, f"{path} is {oct(mode)}"
    for root, directories, files in os.walk(instance.output):
        for name in directories:
            if not (Path(root) / name).is_symlink():  # ..data
                assert mode_of(Path(root) / name) & 0o022 == 0, Path(root) / name
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                assert mode_of(path) & 0o022 == 0, path
                if name == "cert.key":
                    assert mode_of(path) == 0o400, path


# --- the admin socket serves revoca's user and root ---------------------------------------------

def as_nobody(*args):
    return subprocess.run([SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups", *map(str, args)],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def open_directory():
    """A directory anyone may traverse (pytest's tmp_path is root's only), so
    that the state directory and the socket are what keeps others out."""
    path = Path(tempfile.mkdtemp(prefix="revoca-security-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="needs root and setpriv to act as another user")
def test_admin_socket_admits_only_revocas_user_and_root(open_directory):
    instance = Standalone(open_directory / "revoca", ROOT / "manifests" / "examples", free_port())
    open_directory.joinpath("revoca").chmod(0o755)
    start(instance, umask=0)
    try:
        socket_path = instance.state / "admin.sock"
        assert stat.S_ISSOCK(os.lstat(socket_path).st_mode)
        assert mode_of(socket_path) == 0o600 and mode_of(instance.state) == 0o700
        ledger = instance.state / "cas" / "default" / "mqtt-ca" / "ledger"
        wait_for(ledger.exists, what="mqtt-ca's ledger")
        serial = instance.status("VaultSecret", "server-cert")["facts"]["serial"]
        issued_before = ledger.read_text()

        def nobody_is_refused(expected):
            for verb in (["issue-cert", "--ca", "mqtt-ca", "--host", "evil.example"],
                         ["revoke-cert", "--ca", "mqtt-ca", serial], ["get-tenant-uuid"]):
                result = as_nobody(REVOCACTL, "--state", instance.state, *verb)
                assert result.returncode != 0 and result.stdout == "", result
                assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
                assert "permission denied" in result.stderr.lower(), result.stderr
            return result.stderr

        # As revoca leaves it: the 0700 directory keeps others out.
        print(nobody_is_refused(str(socket_path)))
        # An administrator widened the directory: the 0600 socket still does.
        instance.state.chmod(0o755)
        print(nobody_is_refused("only the user running revoca"))
        # And the socket too: revoca checks the caller's uid (SO_PEERCRED).
        socket_path.chmod(0o666)
        print(nobody_is_refused("uid 65534 may not use revoca's admin socket"))
        assert "uid 65534 may not use" in instance.log.read_text()

        # A caller that hangs up before the answer (revocactl killed by ^C)
        # once killed revoca with SIGPIPE; it answers the next one instead.
        for _ in range(5):
            with socket.socket(socket.AF_UNIX) as hangup:
                hangup.connect(str(socket_path))
                hangup.sendall(b'{"verb": "get-tenant-uuid", "namespace": "default"}\n')
        time.sleep(0.5)
        assert instance.process.poll() is None, f"revoca died ({instance.process.returncode})"

        assert ledger.read_text() == issued_before, "nobody got a certificate issued"
        assert instance.status("VaultSecret", "server-cert")["ready"]
        crl = instance.ctl("get-crl", "--ca", "mqtt-ca")
        text = openssl("crl", "-noout", "-text", input=crl["crl"]).stdout
        assert serial not in text.replace(":", "").upper(), "nobody revoked a certificate"
        assert instance.ctl("get-tenant-uuid")["uuid"]  # root still may
    finally:
        instance.kill(signal.SIGTERM)


# --- no key through the side doors ---------------------------------------------------------------



def private_keys(instance, extra=()):
    """Every private key this instance holds: CA versions, VaultSecret records, issued ones."""
    keys = [path.read_text() for path in instance.state.glob("cas/*/*/versions/*/key.pem")]
    for record in instance.state.glob("secrets/*/*.json"):
        try:
            keys.append(json.loads(record.read_text())["key"])
        except ValueError:
            pass  # the record this test cut in half; its key is among `extra`
    keys += list(extra)
    assert len(keys) >= 4
    return keys




def side_doors(instance):
    """Everything revoca shows that is not a key file: its log, /metrics,
    status.json, and revocactl status (all, and each object as text and JSON)."""
    doors = {"log": instance.log.read_text(errors="replace"),
             "/metrics": http("GET", instance.base + "/metrics")[2].decode(),
             "status.json": (instance.state / "status.json").read_text(),
             "revocactl status": run([REVOCACTL, "--state", instance.state, "status"]).stdout}
    for entry in json.loads(doors["revocactl status"]):
        name = f"{entry['kind'].lower()}/{entry['name']}"
        for output in ("text", "json"):
            shown = run([REVOCACTL, "--state", instance.state, "status", name, "--output", output], check=False)
            doors[f"revocactl status {name} ({output})"] = shown.stdout + shown.stderr
    return doors


def break_things(instance, serial):
    """The error paths: bad declarations, refused admin requests."""
    (instance.declarations / "zz-broken.yaml").write_text("kind: VaultSecret\nmetadata: {name: [unclosed\n")
    (instance.declarations / "zz-invalid.yaml").write_text(
        "apiVersion: revoca.io/v1alpha1\nkind: Vault\nmetadata: {name: orphan-vault}\n"
        "spec: {distribute: {deployments: [orphan]}}\n---\n"
        "apiVersion: revoca.io/v1alpha1\nkind: VaultSecret\nmetadata: {name: orphan}\n"
        "spec: {vault: orphan-vault, autoCert: {issuingCa: no-such-ca, host: o.example, ttl: 1d, refreshThreshold: 1h}}\n"
        "---\napiVersion: revoca.io/v1alpha1\nkind: VaultSecret\nmetadata: {name: too-soon}\n"
        "spec: {vault: mqtt-vault, autoCert: {issuingCa: mqtt-ca, host: t.example, ttl: 1d, refreshThreshold: 2d}}\n")
    for bad in (["revoke-cert", "--ca", "mqtt-ca", "--reason", "because", serial],
                ["revoke-cert", "--ca", "no-such-ca", serial],
                ["issue-cert", "--ca", "mqtt-ca", "--host", "", "--ttl", "forever"]):
        assert instance.ctl(*bad, check=False).returncode != 0
    wait_for(lambda: (instance.status("VaultSecret", "orphan") or {}).get("ready") is False, what="orphan refused")


def test_no_private_key_in_log_metrics_or_status_even_after_errors(tmp_path):
    instance = rotating_instance(tmp_path / "leaks")
    start(instance, log_args=["--log-level", "debug", "--log-format", "json"])
    issued = exercise(instance, rotations=1)
    break_things(instance, issued["serial"])
    instance.kill(signal.SIGTERM)

    # Again with text lines, after damage to the state a person could do:
    # a VaultSecret record and the rotating CA's newest key cut in half.
    record = instance.state / "secrets" / "default" / "server-cert.json"
    record_key = json.loads(record.read_text())["key"]
    record.write_text(record.read_text()[: len(record.read_text()) // 2])
    newest = instance.state / "cas" / "default" / "spin-ca" / "versions" / str(ca_version(instance, "spin-ca"))
    whole_key = (newest / "key.pem").read_text()
    (newest / "key.pem").write_text(whole_key[: len(whole_key) // 2])
    start(instance, log_args=["--log-level", "debug", "--log-format", "text"])
    # Wait until revoca has met both damages (and said so).
    wait_for(lambda: all(m in instance.log.read_text() for m in ("key.pem is not a PEM private key", "not valid JSON")),
             timeout=60, what="revoca to report the damaged key and record")
    doors = side_doors(instance)
    keys = private_keys(instance, [issued["private-key"], whole_key, record_key])
    for where, text in doors.items():
        assert_no_key(where, text, keys)
    log = doors["log"]
    # The errors were there to be logged (so the grep above looked at them).
    assert "declaration refused" in log and "no-such-ca" in log
    assert '"msg":' in log and re.search(r"^\d{4}-\d\d-\d\dT[\d:.]+Z (info|warning|error) ", log, re.M)
    instance.kill(signal.SIGTERM)
