"""Crash safety: revoca standalone is killed with SIGKILL at
random moments while it starts, issues (revocactl and VaultSecrets), rotates
a CA, revokes (revocactl and CertificateRevocation declarations) and publishes
a CRL of 20,000 entries. After every restart:

- every CA version keeps the key and certificate it had when first seen;
- no revocation acknowledged before a kill is lost: the CRL of the version
  that signed it lists it, OCSP answers revoked, the state file holds it;
- CRL numbers only grow, per CA version as served and on disk;
- the first CRL recorded for a revoked serial (a CertificateRevocation's
  status.crlNumber) is recorded once, after its revocation, and never changes;
- no two valid certificates share a serial; every certificate handed out
  is in its CA's ledger, once;
- every output and state file is whole: certificates and keys parse, keys
  match their certificates, JSON and ledgers parse, nothing half-written
  or left behind (temporary files, orphaned version directories).

REVOCA_CRASH_LOOPS=N sets the number of kills (100 by default, the CI run);
REVOCA_CRASH_SEED=S replays a run's kill moments and choices (the seed is
printed; thread timing still varies from run to run)."""
import hashlib
import http.client as http_client
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conftest import REVOCA, REVOCACTL, ROOT, free_port, http, openssl, wait_for

LOOPS = int(os.environ.get("REVOCA_CRASH_LOOPS", "100"))
SEED = int(os.environ.get("REVOCA_CRASH_SEED", str(random.SystemRandom().randrange(1 << 32))))
# Kills land from right after the exec (start-up) to well into the work.
MAX_KILL_DELAY = 1.2
BIG_CRL_ENTRIES = 20_000
SLOTS = 4  # VaultSecrets whose declarations the loop rewrites, one a kill
CAS = ("mqtt-ca", "spin-ca", "big-ca")
# A leaf this close to its notAfter is not checked: it may expire (and its
# CA version retire) between two looks.
EXPIRY_MARGIN = 3

CRASH_DECLARATIONS = """\
# spin-ca rotates every 4 s (ttl 40s, renewThreshold 36s); big-ca signs a large CRL.
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: spin-ca, namespace: default}
spec:
  ttl: 40s
  renewThreshold: 36s
  crlDistUrls: ["http://127.0.0.1:PORT/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"]
  ocspResponderUrls: ["http://127.0.0.1:PORT/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"]
---
apiVersion: revoca.io/v1alpha1
kind: CertificateAuthority
metadata: {name: big-ca, namespace: default}
spec:
  ttl: 30d
  renewThreshold: 1d
  crlDistUrls: ["http://127.0.0.1:PORT/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"]
  ocspResponderUrls: ["http://127.0.0.1:PORT/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"]
"""

SLOT_DECLARATION = """\
apiVersion: revoca.io/v1alpha1
kind: Vault
metadata: {{name: slot-{slot}, namespace: default}}
spec:
  distribute: {{deployments: [slot-{slot}]}}
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata: {{name: slot-{slot}, namespace: default}}
spec:
  vault: slot-{slot}
  autoCert: {{issuingCa: {ca}, host: h{generation}.slot-{slot}.example, certType: server, ttl: 1h, refreshThreshold: 30m}}
  fileMode: "0400"
"""

REVOCATION_DECLARATION = """\
apiVersion: revoca.io/v1alpha1
kind: CertificateRevocation
metadata: {{name: {name}, namespace: default}}
spec:
  ca: {ca}
  serial: "{serial}"
  reason: superseded
"""


class Violation(AssertionError):
    pass


def digest(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def write_atomically(path, text):
    temporary = path.with_name("." + path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


@dataclass
class Leaf:
    ca: str
    serial: str
    version: int
    not_after: float
    cert: str


@dataclass
class Ledgers:
    """What the test knows, across kills."""
    ca_versions: dict = field(default_factory=dict)     # (ca, version) -> digest of cert + key
    leaves: dict = field(default_factory=dict)          # serial -> Leaf (every certificate seen)
    certs_by_serial: dict = field(default_factory=dict)  # serial -> {digest of the certificate}
    acknowledged: set = field(default_factory=set)      # serials revocactl issued
    revoked: dict = field(default_factory=dict)         # serial -> ca, acknowledged or seen revoked
    declared_revocations: dict = field(default_factory=dict)  # serial -> ca
    crl_served: dict = field(default_factory=dict)      # (ca, version) -> highest CRL number served
    crl_on_disk: dict = field(default_factory=dict)     # ca -> highest crl-number file content
    first_crls: dict = field(default_factory=dict)      # (ca, serial) -> the first CRL that listed it
    tenant: str = ""
    checked: set = field(default_factory=set)           # digests of files already parsed and matched
    lock: threading.Lock = field(default_factory=threading.Lock)


class CrashRig:
    def __init__(self, workdir: Path, port: int):
        self.workdir = workdir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.declarations = workdir / "declarations"
        self.state = workdir / "state"
        self.output = workdir / "output"
        self.scratch = workdir / "scratch"
        self.log = workdir / "revoca.log"
        self.process = None
        self.known = Ledgers()
        self.rng = random.Random(SEED)
        self.revocation_names = []
        self.figures = {"issued": 0, "revoked": 0, "startup_kills": 0, "declaration_changes": 0,
                        "declared_revocations": 0, "restart_seconds": []}
        for directory in (self.declarations, self.scratch):
            directory.mkdir(parents=True, exist_ok=True)
        for source in sorted((ROOT / "manifests" / "examples").glob("*.yaml")):
            (self.declarations / source.name).write_text(source.read_text().replace("127.0.0.1:4664", f"127.0.0.1:{port}"))
        (self.declarations / "crash.yaml").write_text(CRASH_DECLARATIONS.replace("PORT", str(port)))
        for slot in range(SLOTS):
            self.write_slot(slot, 0)
        (self.declarations / "revocations.yaml").write_text("")
        self.seed_big_crl()

    # --- set-up -----------------------------------------------------------
    def seed_big_crl(self):
        """20,000 revocations of serials big-ca never signed: its CRL is large,
        so kills also land while one is signed and published."""
        directory = self.state / "cas" / "default" / "big-ca"
        directory.mkdir(parents=True, exist_ok=True)
        seeded = random.Random(SEED ^ 0x5EED)
        now = int(time.time())
        lines = (f"{seeded.getrandbits(120) | (1 << 124):X} {now} unspecified -\n" for _ in range(BIG_CRL_ENTRIES))
        (directory / "revocations").write_text("".join(lines))

    def write_slot(self, slot, generation):
        ca = ("spin-ca", "mqtt-ca", "big-ca")[(slot + generation) % 3]
        write_atomically(self.declarations / f"slot-{slot}.yaml",
                         SLOT_DECLARATION.format(slot=slot, ca=ca, generation=generation))

    # --- the process --------------------------------------------------------
    def spawn(self):
        self.process = subprocess.Popen(
            [str(REVOCA), "standalone", "--declarations", str(self.declarations), "--state", str(self.state),
             "--output", str(self.output), "--listen", f"127.0.0.1:{self.port}"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def ready(self):
        if self.process.poll() is not None:
            raise Violation(f"revoca exited with {self.process.returncode} on start:\n{self.log_tail()}")
        try:
            return http("GET", self.base + "/readyz", timeout=1)[0] == 200
        except OSError:
            return False

    def log_tail(self):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def ctl(self, *args, timeout=10):
        result = subprocess.run([str(REVOCACTL), "--state", str(self.state), *map(str, args)],
                                capture_output=True, text=True, timeout=timeout)
        return json.loads(result.stdout) if result.returncode == 0 else None

    # --- work in flight at the kill ---------------------------------------
    def issuer(self, rng, stop):
        while not stop.is_set():
            ca = rng.choice(CAS)
            try:
                issued = self.ctl("issue-cert", "--ca", ca, "--host", f"c{rng.randrange(1 << 30)}.example",
                                  "--ttl", "1d", "--cert-type", "client")
            except (subprocess.TimeoutExpired, json.JSONDecodeError):
                issued = None
            if not issued:
                time.sleep(0.02)
                continue
            leaf = self.note_certificate(ca, issued["cert"], int(issued["ca-version"]))
            if leaf.serial != issued["serial"]:
                raise Violation(f"revocactl issue-cert said serial {issued['serial']}, its certificate has {leaf.serial}")
            with self.known.lock:
                self.known.acknowledged.add(leaf.serial)
            self.figures["issued"] += 1

    def revoker(self, rng, stop):
        while not stop.is_set():
            with self.known.lock:
                candidates = [leaf for serial, leaf in self.known.leaves.items()
                              if serial not in self.known.revoked and leaf.not_after > time.time() + EXPIRY_MARGIN]
            if not candidates:
                time.sleep(0.05)
                continue
            leaf = rng.choice(candidates)
            try:
                answer = self.ctl("revoke-cert", "--ca", leaf.ca, "--reason", "keyCompromise", leaf.serial)
            except (subprocess.TimeoutExpired, json.JSONDecodeError):
                answer = None
            if answer and answer.get("revoked"):
                with self.known.lock:
                    self.known.revoked[leaf.serial] = leaf.ca
                self.figures["revoked"] += 1
            time.sleep(rng.uniform(0, 0.1))

    def change_declarations(self, rng, iteration):
        """A VaultSecret's host changes (it is issued again) or a
        CertificateRevocation is declared, at a random moment."""
        if rng.random() < 0.5:
            self.write_slot(rng.randrange(SLOTS), iteration + 1)
            self.figures["declaration_changes"] += 1
            return
        with self.known.lock:
            candidates = sorted(serial for serial, leaf in self.known.leaves.items()
                                if serial not in self.known.revoked and serial not in self.known.declared_revocations
                                and leaf.not_after > time.time() + EXPIRY_MARGIN)
        if not candidates:
            return
        serial = rng.choice(candidates)
        ca = self.known.leaves[serial].ca
        self.revocation_names.append((f"crash-{len(self.revocation_names)}", ca, serial))
        write_atomically(self.declarations / "revocations.yaml", "---\n".join(
            REVOCATION_DECLARATION.format(name=name, ca=c, serial=s) for name, c, s in self.revocation_names))
        with self.known.lock:
            self.known.declared_revocations[serial] = ca
        self.figures["declared_revocations"] += 1

    def watch_crls(self, stop):
        """The CRL numbers the responder served before the kill."""
        while not stop.is_set():
            for ca in CAS:
                version = self.newest_version(ca)
                crl = self.fetch_crl(ca, version)
                if crl:
                    self.note_crl(ca, version, crl[0])
            time.sleep(0.1)

    # --- reading what revoca serves and keeps --------------------------------
    def newest_version(self, ca):
        versions = [v for (name, v) in list(self.known.ca_versions) if name == ca]
        return max(versions) if versions else 1

    def fetch_crl(self, ca, version):
        """(CRL number, DER) as served, or None; the CRL must parse."""
        try:
            status, _, body = http("GET", f"{self.base}/crl/default/{ca}/{version}", timeout=3)
        except (OSError, http_client.HTTPException):
            return None
        if status != 200:
            return None
        path = self.scratch / f"crl-{threading.get_ident()}.der"
        path.write_bytes(body)
        text = openssl("crl", "-inform", "DER", "-in", path, "-noout", "-crlnumber").stdout
        return int(text.strip().split("=", 1)[1], 16), body

    @staticmethod
    def lists(crl_der, serial):
        # The serial as a DER INTEGER (revoca's serials are 16 bytes, high bit clear).
        value = bytes.fromhex(serial.rjust(32, "0"))
        return b"\x02" + bytes([len(value)]) + value in crl_der

    def note_crl(self, ca, version, number):
        with self.known.lock:
            previous = self.known.crl_served.get((ca, version), 0)
            if number < previous:
                raise Violation(f"{ca} version {version}: CRL number {number} served after {previous}")
            self.known.crl_served[(ca, version)] = number

    def note_certificate(self, ca, pem, version):
        """Records a certificate revoca handed out; returns its Leaf."""
        first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
        key = digest(first)
        with self.known.lock:
            for leaf in self.known.leaves.values():
                if digest(leaf.cert) == key:
                    return leaf
        path = self.scratch / f"leaf-{threading.get_ident()}.pem"
        path.write_text(first)
        text = openssl("x509", "-in", path, "-noout", "-serial", "-enddate").stdout
        serial = re.search(r"serial=([0-9A-F]+)", text).group(1)
        not_after = time.mktime(time.strptime(re.search(r"notAfter=(.*)", text).group(1).strip(),
                                              "%b %d %H:%M:%S %Y GMT")) - time.timezone
        leaf = Leaf(ca, serial, version, not_after, first)
        with self.known.lock:
            self.known.certs_by_serial.setdefault(serial, set()).add(key)
            self.known.leaves.setdefault(serial, leaf)
            return self.known.leaves[serial]

    # --- the checks after a restart ------------------------------------------
    def check(self):
        self.check_state_files()
        self.check_ca_keys()
        self.check_output_files()
        self.check_crls_and_revocations()
        self.check_serials()

    def check_pem_pair(self, cert_pem, key_pem, where):
        """Both parse, and the key is the certificate's."""
        key = digest(cert_pem + key_pem)
        if key in self.known.checked:
            return
        cert_path, key_path = self.scratch / "check.pem", self.scratch / "check.key"
        cert_path.write_text(cert_pem)
        key_path.write_text(key_pem)
        from_cert = openssl("x509", "-in", cert_path, "-noout", "-pubkey", check=False)
        from_key = openssl("pkey", "-in", key_path, "-pubout", check=False)
        if from_cert.returncode != 0 or from_key.returncode != 0:
            raise Violation(f"{where}: does not parse: {from_cert.stderr}{from_key.stderr}")
        if from_cert.stdout != from_key.stdout:
            raise Violation(f"{where}: the key does not match the certificate")
        self.known.checked.add(key)

    def check_certificates(self, pem, where):
        key = digest(pem)
        if key in self.known.checked:
            return
        blocks = pem.count("-----BEGIN CERTIFICATE-----")
        if blocks == 0 or blocks != pem.count("-----END CERTIFICATE-----") or not pem.endswith("\n"):
            raise Violation(f"{where}: not whole PEM certificates")
        path = self.scratch / "bundle.pem"
        path.write_text(pem)
        # Every block parses: crl2pkcs7 reads them all.
        if openssl("crl2pkcs7", "-nocrl", "-certfile", path, "-out", os.devnull, check=False).returncode != 0:
            raise Violation(f"{where}: a certificate in it does not parse")
        self.known.checked.add(key)

    def check_lines(self, path, pattern, whole=False):
        """The first field of each line (the serial), or with WHOLE the lines."""
        text = path.read_text()
        if text and not text.endswith("\n"):
            raise Violation(f"{path}: last line torn after restart")
        found = []
        for number, line in enumerate(text.splitlines(), 1):
            if not re.fullmatch(pattern, line):
                raise Violation(f"{path}:{number}: not a whole line: {line!r}")
            found.append(line if whole else line.split(" ", 1)[0])
        return found

    def check_no_leftovers(self, directory):
        """No temporary file but those the running process is writing now."""
        for leftover in directory.rglob("*.tmp-*"):
            if leftover.name.rsplit("-", 1)[1] != str(self.process.pid):
                raise Violation(f"{leftover}: a temporary file an earlier run left")

    def check_state_files(self):
        self.check_no_leftovers(self.state)
        tenant = (self.state / "tenants" / "default").read_text()
        if not re.fullmatch(r"[0-9a-f-]{36}\n", tenant):
            raise Violation(f"tenants/default is not a whole UUID: {tenant!r}")
        if self.known.tenant and tenant != self.known.tenant:
            raise Violation("the tenant UUID changed across a restart")
        self.known.tenant = tenant
        # The first pass writes it just after /readyz turns 200.
        json.loads(wait_for(lambda: (self.state / "status.json").exists() and (self.state / "status.json").read_text(),
                            what="status.json"))
        for ca_dir in (self.state / "cas" / "default").iterdir():
            ledger = ca_dir / "ledger"
            if ledger.exists():
                serials = self.check_lines(ledger, r"[0-9A-F]+ \d+ \d+ \S+")
                duplicated = {s for s, count in Counter(serials).items() if count > 1}
                if duplicated:
                    raise Violation(f"{ledger}: serials recorded twice: {sorted(duplicated)}")
            # Read before the revocations: a serial's first CRL is written after its revocation.
            first_crls = ca_dir / "first-crls"
            listed = self.check_lines(first_crls, r"[0-9A-F]+ [1-9]\d*", whole=True) if first_crls.exists() else []
            revocations = ca_dir / "revocations"
            revoked = set()
            if revocations.exists():
                revoked = set(self.check_lines(revocations, r"[0-9A-F]+ \d+ \w+ (-|\d+)"))
            self.check_first_crls(ca_dir.name, first_crls, listed, revoked)
            number_file = ca_dir / "crl-number"
            if number_file.exists():
                text = number_file.read_text()
                if not re.fullmatch(r"\d+\n", text):
                    raise Violation(f"{number_file}: not a whole number: {text!r}")
                previous = self.known.crl_on_disk.get(ca_dir.name, 0)
                if int(text) < previous:
                    raise Violation(f"{number_file}: went back from {previous} to {int(text)}")
                self.known.crl_on_disk[ca_dir.name] = int(text)
        for record in (self.state / "secrets").rglob("*.json"):
            secret = json.loads(record.read_text())
            self.check_pem_pair(secret["cert"], secret["key"], str(record))
            ca = secret["issuingCa"]
            leaf = self.note_certificate(ca, secret["cert"], int(secret["caVersion"]))
            if leaf.serial != secret["serialHex"]:
                raise Violation(f"{record}: serial {secret['serialHex']} is not its certificate's ({leaf.serial})")

    def check_first_crls(self, ca, path, lines, revoked):
        """The first CRL that listed a serial is written once, after its
        revocation, and never changes (a CertificateRevocation's status.crlNumber)."""
        serials = [line.split(" ")[0] for line in lines]
        duplicated = {s for s, count in Counter(serials).items() if count > 1}
        if duplicated:
            raise Violation(f"{path}: serials listed twice: {sorted(duplicated)}")
        for line in lines:
            serial, number = line.split(" ")
            if serial not in revoked:
                raise Violation(f"{path}: {serial} has a first CRL but no revocation")
            previous = self.known.first_crls.setdefault((ca, serial), int(number))
            if previous != int(number):
                raise Violation(f"{path}: the first CRL of {serial} changed from {previous} to {number}")

    def check_ca_keys(self):
        for ca in CAS:
            versions_dir = self.state / "cas" / "default" / ca / "versions"
            seen_before = {v for (name, v) in self.known.ca_versions if name == ca}
            on_disk = set()
            for version_dir in versions_dir.iterdir():
                cert, key = version_dir / "cert.pem", version_dir / "key.pem"
                if not cert.exists():
                    continue  # a version cut short before its certificate: never used
                version = int(version_dir.name)
                on_disk.add(version)
                cert_pem, key_pem = cert.read_text(), key.read_text()
                self.check_pem_pair(cert_pem, key_pem, str(version_dir))
                identity = digest(cert_pem + key_pem)
                first = self.known.ca_versions.setdefault((ca, version), identity)
                if first != identity:
                    raise Violation(f"{ca} version {version}: its key or certificate changed across a restart")
            if seen_before - on_disk:
                raise Violation(f"{ca}: versions {sorted(seen_before - on_disk)} vanished from the state")
            served = self.ctl("get-ca-cert", "--ca", ca)
            if not served:
                raise Violation(f"revocactl get-ca-cert --ca {ca} failed after a restart")
            version = int(served["version"])
            on_file = (versions_dir / str(version) / "cert.pem").read_text()
            if served["cert"].strip() != on_file.strip():
                raise Violation(f"{ca}: serves a version {version} certificate that is not the one in the state")
            if version < max(seen_before | {0}):
                raise Violation(f"{ca}: serves version {version} after version {max(seen_before)}")

    @staticmethod
    def other_versions(deployment):
        live = os.readlink(deployment / "..data")
        return {p.name for p in deployment.iterdir() if p.name.startswith("..version-") and p.name != live}

    def check_output_files(self):
        self.check_no_leftovers(self.output)
        deployments = [self.output / "default" / "emqx"] + [self.output / "default" / f"slot-{s}" for s in range(SLOTS)]
        for deployment in deployments:
            data = deployment / "..data"
            files = {name: deployment / name for name in ("cert.pem", "cert.key", "ca-cert.pem")}
            for name, path in files.items():
                if not path.exists():
                    raise Violation(f"{path}: missing after restart (revoca is ready, so it was published)")
            # A pass may be publishing a new version right now: only one that stays is left behind.
            stale = self.other_versions(deployment)
            if stale:
                time.sleep(0.5)
                stale &= self.other_versions(deployment)
            if stale:
                raise Violation(f"{deployment}: version directories {sorted(stale)} left beside "
                                f"..data -> {os.readlink(data)}")
            cert_pem, key_pem = files["cert.pem"].read_text(), files["cert.key"].read_text()
            self.check_certificates(cert_pem, str(files["cert.pem"]))
            self.check_certificates(files["ca-cert.pem"].read_text(), str(files["ca-cert.pem"]))
            self.check_pem_pair(cert_pem, key_pem, str(deployment))
        emqx = self.output / "default" / "emqx"
        self.check_certificates((emqx / "mqtt-ca.ca.pem").read_text(), "mqtt-ca.ca.pem")
        env = (emqx / "emqx.env").read_text()
        if not env.endswith("\n") or not all(re.fullmatch(r"#.*|[A-Z0-9_]+=.*", line) for line in env.splitlines()):
            raise Violation(f"emqx.env is not whole: {env!r}")

    def check_crls_and_revocations(self):
        now = time.time()
        with self.known.lock:
            revoked = dict(self.known.revoked)
            declared = dict(self.known.declared_revocations)
        # Every declared revocation is applied by the first pass, before /readyz.
        for serial, ca in declared.items():
            revoked.setdefault(serial, ca)
        on_disk = {ca: set(line.split(" ", 1)[0] for line in
                           (self.state / "cas" / "default" / ca / "revocations").read_text().splitlines())
                   for ca in CAS if (self.state / "cas" / "default" / ca / "revocations").exists()}
        lost = [s for s, ca in revoked.items() if s not in on_disk.get(ca, set())]
        if lost:
            raise Violation(f"acknowledged revocations missing from the state: {lost}")
        # The CRL of each version with unexpired revoked leaves, and the newest.
        wanted = {(ca, self.newest_version(ca)) for ca in CAS}
        live = {}
        for serial, ca in revoked.items():
            leaf = self.known.leaves[serial]
            if leaf.not_after > now + EXPIRY_MARGIN:
                wanted.add((ca, leaf.version))
                live.setdefault((ca, leaf.version), []).append(serial)
        for ca, version in sorted(wanted):
            crl = self.fetch_crl(ca, version)
            if crl is None and (ca, version) not in live:
                continue  # a newest version without leaves, retired by a rotation since
            if crl is None:
                raise Violation(f"{ca} version {version}: no CRL served after a restart")
            number, der = crl
            self.note_crl(ca, version, number)
            # The number on disk is reserved before a CRL is signed with it.
            on_file = int((self.state / "cas" / "default" / ca / "crl-number").read_text())
            if number > on_file:
                raise Violation(f"{ca}: CRL number {number} served, {on_file} on disk")
            missing = [s for s in live.get((ca, version), []) if not self.lists(der, s)]
            if missing:
                raise Violation(f"{ca} version {version}: acknowledged revocations missing from CRL {number}: {missing}")
        # OCSP, one request a CA version: the newest revocations (those a kill
        # could have caught), and the newest unrevoked certificates.
        by_version = {}
        newest = [serial for serial in revoked if self.known.leaves[serial].not_after > now + EXPIRY_MARGIN][-15:]
        for serial in newest:
            leaf = self.known.leaves[serial]
            by_version.setdefault((leaf.ca, leaf.version), []).append(serial)
        for (ca, version), serials in sorted(by_version.items()):
            self.check_ocsp(ca, version, serials, "revoked")
        with self.known.lock:
            good = [leaf for serial, leaf in self.known.leaves.items()
                    if serial not in revoked and leaf.not_after > now + EXPIRY_MARGIN]
        by_version = {}
        for leaf in good[-10:]:
            by_version.setdefault((leaf.ca, leaf.version), []).append(leaf.serial)
        for (ca, version), serials in sorted(by_version.items()):
            # A revocation caught by the kill may have been written: good or revoked, never unknown.
            self.check_ocsp(ca, version, serials, "good|revoked")

    def check_ocsp(self, ca, version, serials, expected):
        issuer = self.state / "cas" / "default" / ca / "versions" / str(version) / "cert.pem"
        args = ["ocsp", "-issuer", issuer, "-url", f"{self.base}/ocsp/{self.known.tenant.strip()}/{ca}",
                "-no_nonce", "-noverify", "-timeout", "5"]
        for serial in serials:
            args += ["-serial", "0x" + serial]
        text = openssl(*args).stdout
        for serial in serials:
            status = re.search(rf"0x{serial}: (\w+)", text)
            if not status or not re.fullmatch(expected, status.group(1)):
                raise Violation(f"{ca} version {version}: OCSP for {serial} says "
                                f"{status.group(1) if status else 'nothing'}, expected {expected}\n{text}")
        if re.search(r"0x[0-9A-F]+: revoked", text) and expected == "good|revoked":
            for serial in serials:
                if re.search(rf"0x{serial}: revoked", text):
                    with self.known.lock:
                        self.known.revoked.setdefault(serial, ca)

    def check_serials(self):
        now = time.time()
        ledgers = {}
        for ca in CAS:
            path = self.state / "cas" / "default" / ca / "ledger"
            ledgers[ca] = set(line.split(" ", 1)[0] for line in path.read_text().splitlines()) if path.exists() else set()
        with self.known.lock:
            for serial, digests in self.known.certs_by_serial.items():
                leaf = self.known.leaves[serial]
                if len(digests) > 1 and leaf.not_after > now and serial not in self.known.revoked:
                    raise Violation(f"serial {serial}: {len(digests)} different valid certificates")
                if serial not in ledgers[leaf.ca]:
                    raise Violation(f"serial {serial} was handed out by {leaf.ca} but is not in its ledger")


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    rig = CrashRig(tmp_path / "crash", free_port())
    print(f"\ncrash safety: seed {SEED} (REVOCA_CRASH_SEED={SEED} replays it), {LOOPS} kills")
    started = time.monotonic()
    try:
        # The first start, to completion: what a kill must not take away.
        rig.spawn()
        wait_for(rig.ready, timeout=60, what="revoca /readyz on the first start")
        rig.check()
        for iteration in range(LOOPS):
            delay = rig.rng.uniform(0, MAX_KILL_DELAY)
            change_at = rig.rng.uniform(0, MAX_KILL_DELAY)
            thread_seed = rig.rng.randrange(1 << 32)
            # A third of the kills are counted from a fresh start, so some land in start-up.
            fresh = rig.rng.random() < 1 / 3
            if fresh:
                rig.kill()
                rig.spawn()
            begun = time.monotonic()
            stop = threading.Event()
            errors = []
            targets = [(rig.issuer, (random.Random(thread_seed), stop)),
                       (rig.revoker, (random.Random(thread_seed + 1), stop)),
                       (rig.watch_crls, (stop,))]
            workers = [threading.Thread(target=_recording(target, errors), args=args) for target, args in targets]
            for worker in workers:
                worker.start()
            if change_at < delay:
                time.sleep(change_at)
                rig.change_declarations(rig.rng, iteration)
            time.sleep(max(0.0, delay - (time.monotonic() - begun)))
            if fresh and not rig.ready():
                rig.figures["startup_kills"] += 1
            rig.kill()
            stop.set()
            for worker in workers:
                worker.join()
            try:
                if errors:
                    raise errors[0]
                restart = time.monotonic()
                rig.spawn()
                wait_for(rig.ready, timeout=60, what=f"revoca /readyz after kill {iteration + 1}")
                rig.figures["restart_seconds"].append(time.monotonic() - restart)
                rig.check()
                if (iteration + 1) % 25 == 0:
                    print(f"crash safety: {iteration + 1} kills, {time.monotonic() - started:.0f} s", flush=True)
            except Violation as violation:
                raise Violation(f"kill {iteration + 1} of {LOOPS} (seed {SEED}, {delay:.3f} s after "
                                f"{'the start' if fresh else 'the last check'}): {violation}\n"
                                f"--- revoca log ---\n{rig.log_tail()}") from None
    finally:
        rig.kill()
    elapsed = time.monotonic() - started
    restarts = sorted(rig.figures["restart_seconds"])
    newest = {ca: rig.newest_version(ca) for ca in CAS}
    print(f"crash safety: {LOOPS} kills in {elapsed:.1f} s ({rig.figures['startup_kills']} during start-up); "
          f"{rig.figures['issued']} certificates issued and {rig.figures['revoked']} revoked through revocactl, "
          f"{rig.figures['declaration_changes']} VaultSecret changes, {rig.figures['declared_revocations']} declared "
          f"revocations, {len(rig.known.leaves)} certificates seen; newest CA versions {newest}; "
          f"CRL numbers on disk {dict(sorted(rig.known.crl_on_disk.items()))}; "
          f"restart to ready median {restarts[len(restarts) // 2]:.2f} s, max {restarts[-1]:.2f} s")


def _recording(target, errors):
    """The thread's target, with its exception kept for the test to raise."""
    def run(*args):
        try:
            target(*args)
        except Exception as error:
            errors.append(error)
    return run
