"""SECURITY.md, "Who may write what": the broker's uid may own its deployment's files
but never steers where revoca (root, in standalone mode) writes.

revoca runs as root; a second local user, revoca-tenant, plays the broker: it
owns its deployment directories (as spec.fileOwnership gives it the files and
version directories) and plants symlinks there, before revoca starts and
between and during its publishes, pointing at a root-only directory and at an
/etc-like tree outside OUTPUT. Whatever it plants, nothing outside OUTPUT is
written, chowned or deleted (the outside tree is compared entry by entry,
owner, mode, mtime and content), and each refusal names the entry, relative to
OUTPUT, in status.json and in the log.
"""
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import Standalone, assert_no_sanitizer_report, free_port, run, wait_for

SETPRIV = shutil.which("setpriv")
TENANT = "revoca-tenant"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None,
                                reason="needs root (revoca's standalone role) and setpriv to act as the broker's user")


def tenant_ids():
    """The broker's user, made once per machine (idempotent)."""
    try:
        entry = pwd.getpwnam(TENANT)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("useradd is missing: cannot make the broker's user")
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TENANT],
                              capture_output=True, text=True)
        # 9: the name was taken meanwhile (another run made it).
        if made.returncode not in (0, 9):
            pytest.skip(f"useradd {TENANT} failed: {made.stderr.strip()}")
        entry = pwd.getpwnam(TENANT)
    return entry.pw_uid, entry.pw_gid


def as_tenant(script, *args, timeout=60):
    """Python run as revoca-tenant: what the broker's uid can do, and nothing more."""
    return subprocess.run([SETPRIV, f"--reuid={TENANT}", f"--regid={TENANT}", "--clear-groups",
                           sys.executable, "-c", script, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def tenant_symlink(target, link):
    done = as_tenant("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", target, link)
    assert done.returncode == 0, done.stderr


def tenant_write(path, text):
    done = as_tenant("import sys; open(sys.argv[1], 'w').write(sys.argv[2])", path, text)
    assert done.returncode == 0, done.stderr


def snapshot(root: Path):
    """Every entry under root, links not followed: kind, owner, mode, mtime, content."""
    entries = {}
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [".", *dirnames, *filenames]:
            path = Path(directory) / name
            info = os.lstat(path)
            content = None
            if stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            elif stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            entries[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode),
                                                    info.st_uid, info.st_gid, info.st_mtime_ns, content)
    return entries


def make_outside(base: Path):
    """What the attacker aims at: a root-only directory and an /etc-like tree."""
    outside = base / "outside"
    (outside / "vault").mkdir(parents=True)
    (outside / "vault").chmod(0o700)
    (outside / "vault" / "secret.txt").write_text("root's secret\n")
    (outside / "etc").mkdir()
    (outside / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (outside / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (outside / "etc" / "shadow").chmod(0o600)
    (outside / "etc" / "ssl").mkdir()
    (outside / "etc" / "ssl" / "trusted.pem").write_text("TRUSTED\n")
    return outside


CA = """\
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  ttl: 1d
  renewThreshold: 1h
  crlDistUrls: ["http://127.0.0.1:{port}/crl-pem/${{SYS_TENANT_NAME}}/${{SYS_CA_NAME}}/${{SYS_CA_VERSION}}"]
  ocspResponderUrls: ["http://127.0.0.1:{port}/ocsp/${{SYS_TENANT_UUID}}/${{SYS_CA_NAME}}"]
{distribute}---
"""

SECRET = """\
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {{name: {deployment}-vault, namespace: {namespace}}}
spec:
  distribute: {{deployments: [{deployment}]}}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {{name: {deployment}-cert, namespace: {namespace}}}
spec:
  vault: {deployment}-vault
  autoCert: {{issuingCa: {ca}, host: {deployment}.example, certType: server, ttl: {ttl}, refreshThreshold: {refresh}}}
  fileOwnership: "{uid}:{gid}"
  fileMode: "0400"
---
"""

EMQX = """\
apiVersion: revoca.io/v1alpha1
kind: EmqxDeployment
metadata: {{name: {deployment}, namespace: default}}
spec:
  listener: {{name: default, bind: "0.0.0.0:8883"}}
  vault: {deployment}-vault
  secret: {deployment}-cert
  certDir: /etc/emqx-certs
---
"""

# One deployment per trap, so that each refusal is its own object's status.
PLANTED = ["env-link", "data-link", "cert-file", "key-link", "ca-link"]


def declarations(directory: Path, port, uid, gid, rotating=False):
    text = CA.format(name="trap-ca", namespace="default", port=port, distribute="")
    text += CA.format(name="bundle-ca", namespace="default", port=port, distribute="  distribute: {deployments: [ca-link]}\n")
    text += CA.format(name="b-ca", namespace="tenant-b", port=port, distribute="")
    for deployment in PLANTED:
        text += SECRET.format(deployment=deployment, namespace="default", ca="trap-ca", ttl="1h", refresh="30m",
                              uid=uid, gid=gid)
    text += EMQX.format(deployment="env-link")
    text += SECRET.format(deployment="broker", namespace="tenant-b", ca="b-ca", ttl="1h", refresh="30m",
                          uid=uid, gid=gid)
    if rotating:
        text += SECRET.format(deployment="rotating", namespace="default", ca="trap-ca", ttl="6s", refresh="4s",
                              uid=uid, gid=gid)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "links.yaml").write_text(text)
    return directory


@pytest.fixture
def world():
    """revoca's working tree in a directory the tenant may traverse, the
    outside tree beside it, and the tenant's ids."""
    uid, gid = tenant_ids()
    base = Path(tempfile.mkdtemp(prefix="revoca-links-"))
    base.chmod(0o755)
    outside = make_outside(base)
    instances = []
    yield base, outside, uid, gid, instances
    try:
        for instance in instances:
            instance.kill(signal.SIGTERM)
            assert_no_sanitizer_report(instance.log)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_instance(base, uid, gid, instances, rotating=False):
    port = free_port()
    source = declarations(base / "declarations-source", port, uid, gid, rotating)
    instance = Standalone(base / "revoca", source, port)
    instances.append(instance)
    return instance


def tenant_directory(path: Path, uid, gid):
    """A directory the broker's uid owns, as an operator gives it its deployment's."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    return path


def message_of(instance, kind, name):
    entry = instance.status(kind, name)
    return entry and not entry["ready"] and entry["message"]


def wait_refused(instance, kind, name, shown, what):
    message = wait_for(lambda: message_of(instance, kind, name), timeout=30, what=f"{kind} {name} refused")
    assert f"{shown} in the output directory is {what}" in message, message
    assert "not revoca's: remove it; revoca writes only files and directories it created" in message, message
    written = json.loads((instance.state / "status.json").read_text())
    assert any(entry["kind"] == kind and entry["name"] == name and entry["message"] == message for entry in written)
    assert f"{shown} in the output directory is {what}" in instance.log.read_text()
    return message


def test_links_planted_before_revoca_starts_are_refused_and_never_followed(world):
    base, outside, uid, gid, instances = world
    instance = start_instance(base, uid, gid, instances)
    output = instance.output
    default = output / "default"
    default.mkdir(parents=True)
    for deployment in PLANTED:
        tenant_directory(default / deployment, uid, gid)
    tenant_symlink(outside / "etc" / "passwd", default / "env-link" / "emqx.env")
    tenant_symlink(outside / "vault", default / "data-link" / "..data")
    tenant_write(default / "cert-file" / "cert.pem", "the broker's own file\n")
    tenant_symlink(outside / "etc" / "shadow", default / "key-link" / "cert.key")
    tenant_symlink(outside / "etc" / "passwd", default / "ca-link" / "bundle-ca.ca.pem")
    # A namespace directory the tenant owns, its deployment a link to root's directory.
    tenant_directory(output / "tenant-b", uid, gid)
    tenant_symlink(outside / "vault", output / "tenant-b" / "broker")
    # Links where removal and the leftover sweep look: ..version-* and temporaries.
    tenant_symlink(outside / "etc", default / "cert-file" / "..version-1")
    tenant_symlink(outside / "etc", default / "key-link" / "cert.key.tmp-1")
    before = snapshot(outside)

    instance.start()
    wait_refused(instance, "EmqxDeployment", "env-link", "default/env-link/emqx.env", "a symbolic link")
    wait_refused(instance, "VaultSecret", "data-link-cert", "default/data-link/..data",
                 f'a symbolic link to "{outside / "vault"}"')
    wait_refused(instance, "VaultSecret", "cert-file-cert", "default/cert-file/cert.pem", "a regular file")
    wait_refused(instance, "VaultSecret", "key-link-cert", "default/key-link/cert.key",
                 f'a symbolic link to "{outside / "etc" / "shadow"}"')
    wait_refused(instance, "CertificateAuthority", "bundle-ca", "default/ca-link/bundle-ca.ca.pem", "a symbolic link")
    wait_refused(instance, "VaultSecret", "broker-cert", "tenant-b/broker", "a symbolic link")
    # The deployment with nothing planted in its files was published beside the refusals.
    wait_for(lambda: (default / "env-link" / "cert.key").exists(), what="env-link's key")
    assert os.stat(default / "env-link" / "cert.key").st_uid == uid

    # A few more passes: a refusal is not retried into a write.
    time.sleep(2)
    assert snapshot(outside) == before
    assert (default / "cert-file" / "cert.pem").read_text() == "the broker's own file\n"
    assert os.readlink(default / "data-link" / "..data") == str(outside / "vault")
    assert not (default / "cert-file" / "..data").exists()
    assert instance.ready()


def live_version(directory: Path):
    target = os.readlink(directory / "..data")
    assert target.startswith("..version-") and "/" not in target, target
    return target


def test_version_directories_swapped_for_links_between_and_during_rotations(world):
    base, outside, uid, gid, instances = world
    instance = start_instance(base, uid, gid, instances, rotating=True)
    rotating = tenant_directory(instance.output / "default" / "rotating", uid, gid)
    before = snapshot(outside)
    instance.start()

    def serial():
        entry = instance.status("VaultSecret", "rotating-cert")
        return entry and entry["ready"] and entry["facts"].get("serial")

    first = wait_for(serial, timeout=30, what="rotating-cert issued")
    wait_for(lambda: (rotating / "cert.key").exists(), what="rotating's key")

    # Between publishes: the live version moved aside and a link to root's
    # directory put under its name, a stale-looking version linked to /etc.
    live = live_version(rotating)
    moved = as_tenant("import os, sys; d = sys.argv[1]; os.rename(d + '/' + sys.argv[2], d + '/moved');"
                      "os.symlink(sys.argv[3], d + '/' + sys.argv[2]); os.symlink(sys.argv[4], d + '/..version-1')",
                      rotating, live, outside / "vault", outside / "etc")
    assert moved.returncode == 0, moved.stderr
    second = wait_for(lambda: serial() not in (None, False, first) and serial(), timeout=30, what="a rotation")
    wait_for(lambda: not os.path.lexists(rotating / "..version-1"), timeout=10, what="the planted link removed")
    assert os.path.isdir(rotating / live_version(rotating)) and not os.path.islink(rotating / live_version(rotating))
    assert snapshot(outside) == before

    # During publishes: the tenant swaps every ..version-* directory for a
    # link to root's directory as fast as it can, for a few seconds, while
    # revoca rotates (6s certificates, renewed 4s before their end).
    attacker = subprocess.Popen(
        [SETPRIV, f"--reuid={TENANT}", f"--regid={TENANT}", "--clear-groups", sys.executable, "-c", RACE,
         str(rotating), str(outside / "vault"), "6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    swaps, errors = attacker.communicate(timeout=30)
    assert attacker.returncode == 0, errors
    assert int(swaps) > 0, "the attacker never found a version directory to swap"
    assert instance.ready()
    assert snapshot(outside) == before
    # Once it stops, the next rotation leaves revoca's own layout again.
    third = wait_for(lambda: serial() not in (None, False, first, second) and serial(), timeout=30,
                     what="a rotation after the race")
    def settled():
        target = os.readlink(rotating / "..data")
        return not os.path.islink(rotating / target) and os.path.isdir(rotating / target)
    wait_for(settled, timeout=30, what="..data at a version directory of revoca's")
    assert run(["openssl", "x509", "-in", rotating / "cert.pem", "-noout", "-serial"]).returncode == 0
    assert third
    assert snapshot(outside) == before


# The attacker's loop: every real ..version-* directory is renamed aside and
# a link to `target` takes its name; bounded in time; prints how many swaps.
RACE = """
import os, sys, time
directory, target, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.monotonic() + seconds
swaps = 0
while time.monotonic() < end:
    try:
        names = os.listdir(directory)
    except OSError:
        continue
    for name in names:
        path = os.path.join(directory, name)
        if not name.startswith('..version-') or os.path.islink(path):
            continue
        try:
            os.rename(path, os.path.join(directory, 'stolen-%d' % swaps))
            os.symlink(target, path)
            swaps += 1
        except OSError:
            pass
print(swaps)
"""
