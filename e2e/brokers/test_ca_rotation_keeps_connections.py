"""Rotating the CA drops no MQTT connection (standalone, the OTP broker).

revoca standalone makes version 2 of mqtt-ca once during the test, while it
re-issues the EMQX deployment's server certificate every few seconds (ttl
30s, refreshThreshold 22s), and the OTP broker (otp/mqtt_broker.escript,
standing in for EMQX on the same ssl application) holds HELD MQTT-over-TLS
connections on a client certificate of version 1. The CA's spec.rotation
(PROPAGATION_DELAY, TRUST_ROLLOUT below) orders what happens:

1. version 2 goes into ca-cert.pem, mqtt-ca.ca.pem and the responder's
   /ca/<tenant>/mqtt-ca at once, and signs nothing yet: the status says
   version 2, version 1 signing client and server certificates, and when
   that changes;
2. until clientSwitchTime, a new client certificate is still version 1's;
3. from clientSwitchTime, a new client certificate is version 2's and its
   first handshake is accepted: the broker read ca-cert.pem again (one
   PEM-cache interval) during the propagation delay, so no client of the
   new version meets unknown_ca (with a delay shorter than the PEM-cache
   interval, such a client is refused with unknown_ca until OTP cleans it);
4. until serverSwitchTime, the server certificate's rotations stay version
   1's, so a device that trusts version 1 alone still completes handshakes;
5. from serverSwitchTime, the next rotation is version 2's and new
   handshakes present it within one PEM-cache interval (plus a margin for a
   busy machine); a device with the bundle from the responder connects, and
   the device trusting version 1 alone fails its handshake, as documented:
   devices must trust the new version by serverSwitchTime;
6. throughout, every held connection stays up and still exchanges data
   after each step, and version 1's client certificate still connects at
   the end (version 1 stays in every bundle while certificates it signed live).

mosquitto is not run here: it reads its CA file only at start and on SIGHUP
(test_rotation_keeps_connections.py shows the SIGHUP), so whatever sends it
the SIGHUP for a new server certificate does for a new CA version too.
"""
import datetime
import shutil
import signal
import socket
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID

from conftest import ROOT, Standalone, free_port, http, wait_for
from mqtt_client import TIMEOUT, check_all_alive, hold, probe_until, subscribed
from rotation import (assert_nothing_dropped, assert_within, close_all, file_serial, localhost, next_rotation,
                      start_otp_broker)

HELD = 100                 # connections held across the CA rotation
# A version is made CA_TTL - CA_RENEW_THRESHOLD (55 s) after the one before:
# version 2 once the connections are up, version 3 after the test has seen a
# server certificate of version 2; version 1 outlives the test.
CA_TTL = 125               # seconds
CA_RENEW_THRESHOLD = 70
PROPAGATION_DELAY = 8      # version 2 signs client certificates this long after it is made
TRUST_ROLLOUT = 24         # and server certificates this long after: rotations of version 1 after clientSwitchTime too
PEM_CACHE_CLEAN_MS = 2000
MARGIN = 5.0               # seconds on top of one PEM-cache interval, for a busy machine

# Certificates start this long before they are signed (kNotBeforeBackdate): a
# version was made at its notBefore plus this, to the second, as revoca counts.
BACKDATE = 30


def edit(path, *replacements):
    text = path.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, (path.name, old)
        text = text.replace(old, new)
    path.write_text(text)


@pytest.fixture(scope="module")
def revoca(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ca-rotation")
    instance = Standalone(workdir, ROOT / "manifests" / "examples", free_port())
    edit(instance.declarations / "mqtt-ca.yaml",
         ("  ttl: 1y350d\n", f"  ttl: {CA_TTL}s\n"),
         ("  renewThreshold: 30d\n", f"  renewThreshold: {CA_RENEW_THRESHOLD}s\n  rotation:\n"
                                     f"    propagationDelay: {PROPAGATION_DELAY}s\n"
                                     f"    trustRolloutPeriod: {TRUST_ROLLOUT}s\n"))
    # As in test_rotation_keeps_connections.py: re-issued 6 to 8 s after each
    # issue, each valid 30 s; version 1 outlives the test, so none is cut short.
    edit(instance.declarations / "mqtt-vault.yaml",
         ("    ttl: 30d\n", "    ttl: 30s\n"), ("    refreshThreshold: 15d\n", "    refreshThreshold: 22s\n"))
    emqx_yaml = instance.declarations / "emqx.yaml"
    text = emqx_yaml.read_text()
    assert text.count("refreshInterval: 5m") == 2
    emqx_yaml.write_text(text.replace("refreshInterval: 5m", "refreshInterval: 10s"))
    edit(emqx_yaml, ("  verify: verify_peer\n", "  verify: verify_peer\n  rotation: {reloadWithin: 5s}\n"))
    instance.start()
    emqx = instance.deployment_dir()
    wait_for(lambda: all((emqx / name).exists() for name in ("cert.pem", "cert.key", "ca-cert.pem")),
             what="the emqx deployment's files")
    instance.clients = workdir / "clients"
    instance.clients.mkdir()
    yield instance
    instance.kill(signal.SIGTERM)


# --- certificates and who signed them ------------------------------------------------------------

def certificates(pem):
    return x509.load_pem_x509_certificates(pem if isinstance(pem, bytes) else pem.encode())


def pem_of(cert):
    return cert.public_bytes(Encoding.PEM).decode()


def made_at(cert):
    """When revoca signed CERT (a CA version, or a certificate it issued): unix seconds."""
    return cert.not_valid_before_utc.timestamp() + BACKDATE


def signed_by(cert, versions):
    """Which of VERSIONS ({number: CA certificate}) signed CERT: its issuer, key identifier and signature."""
    aki = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value.key_identifier
    signers = []
    for number, ca in versions.items():
        ski = ca.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value.digest
        if cert.issuer == ca.subject and aki == ski:
            cert.verify_directly_issued_by(ca)
            signers.append(number)
    assert len(signers) == 1, (cert.subject, signers)
    return signers[0]


def timestamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def issue_client(revoca, name):
    """A client certificate issued now: (its certificate, its PEM file, its key file)."""
    issued = revoca.ctl("issue-cert", "--ca", "mqtt-ca", "--host", name, "--ttl", "1d", "--cert-type", "client")
    cert, key = revoca.clients / f"{name}.pem", revoca.clients / f"{name}.key"
    cert.write_text(issued["cert"])
    key.write_text(issued["private-key"])
    return certificates(issued["cert"])[0], cert, key


def context(trusted_pem, client):
    """A device: it trusts TRUSTED_PEM alone and presents CLIENT (certificate file, key file)."""
    tls = ssl.create_default_context(cadata=trusted_pem)
    tls.load_cert_chain(*client)
    return tls  # check_hostname on: the server certificate names localhost


def wait_until(when):
    time.sleep(max(0.0, when - time.time()))


# --- the test ------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("escript") is None, reason="escript is not installed (scripts/install-deps.sh)")
def test_otp_broker_keeps_every_connection_across_a_ca_rotation(revoca, tmp_path):
    emqx = revoca.deployment_dir()
    bundle_file, cert_file = emqx / "ca-cert.pem", emqx / "cert.pem"
    distributed = emqx / "mqtt-ca.ca.pem"  # spec.distribute.deployments
    responder = f"{revoca.base}/ca/{revoca.tenant_uuid()}/mqtt-ca"
    (v1,) = certificates(bundle_file.read_bytes())
    versions = {1: v1}
    v1_made = made_at(v1)
    v2_due = v1_made + CA_TTL - CA_RENEW_THRESHOLD
    held_issued, held_cert, held_key = issue_client(revoca, "held")
    assert signed_by(held_issued, versions) == 1
    held_client = (held_cert, held_key)
    v1_only = context(pem_of(v1), held_client)  # a device that never learns of version 2
    log = tmp_path / "broker.log"
    broker, port = start_otp_broker(emqx, log, PEM_CACHE_CLEAN_MS)
    v1_device = localhost(v1_only, port)

    def bundle_device(client=held_client):
        """mqtt_client's connect for a device that trusts ca-cert.pem as it is now and presents CLIENT."""
        return localhost(context(bundle_file.read_text(), client), port)

    def ca_facts():
        return revoca.status("CertificateAuthority", "mqtt-ca")["facts"]

    def signing(version, client, server):
        """The CA status once it says VERSION is the newest and who signs client and server certificates."""
        def says():
            facts = ca_facts()
            return facts if (facts["version"], facts["clientSigningVersion"], facts["serverSigningVersion"]) == \
                (str(version), str(client), str(server)) else None
        return wait_for(says, timeout=10, interval=0.2, what=f"the CA status: version {version}, "
                        f"client certificates by {client}, server certificates by {server}")

    def lines():
        return log.read_text().splitlines()

    held = []
    try:
        started = time.monotonic()
        held = hold(v1_device, "held", HELD)
        print(f"\n{HELD} connections up in {time.monotonic() - started:.1f}s")
        check_all_alive(v1_device, held, "before")
        assert len(certificates(bundle_file.read_bytes())) == 1, \
            f"version 2 was made before {HELD} connections were up: lengthen the CA's ttl"

        # 1. Version 2 is trusted everywhere at once, and signs nothing yet.
        bundle = wait_for(lambda: (lambda certs: certs if len(certs) == 2 else None)(
                              certificates(bundle_file.read_bytes())),
                          timeout=v2_due + 30 - time.time(), interval=0.05, what="version 2 in ca-cert.pem")
        in_bundle = bundle_file.resolve().stat().st_mtime
        (v2,) = [cert for cert in bundle if cert != v1]
        versions[2] = v2
        v2_made = made_at(v2)
        assert bundle == [v1, v2], "ca-cert.pem names first the version that signed cert.pem (EMQX's issuer_pem)"
        assert set(certificates(distributed.read_bytes())) == {v1, v2}
        status, _, body = http("GET", responder)
        assert status == 200 and certificates(body) == [v2, v1], (status, body)
        facts = signing(2, client=1, server=1)
        client_switch, server_switch = timestamp(facts["clientSwitchTime"]), timestamp(facts["serverSwitchTime"])
        assert (client_switch, server_switch) == (v2_made + PROPAGATION_DELAY, v2_made + TRUST_ROLLOUT), facts
        print(f"version 2 made {v2_made - v1_made:.0f}s after version 1, in ca-cert.pem "
              f"{in_bundle - v2_made:.2f}s after it was made, seen {time.time() - in_bundle:.2f}s later")
        # The broker must be able to read it, one PEM-cache interval, before it signs a client certificate.
        assert in_bundle - v2_made < PROPAGATION_DELAY - PEM_CACHE_CLEAN_MS / 1000, in_bundle - v2_made
        check_all_alive(bundle_device(), held, "v2-trusted")

        # 2. Until clientSwitchTime, a new client certificate is version 1's.
        early, *early_files = issue_client(revoca, "early")
        assert time.time() < client_switch, "version 2 was due to sign before the test could check that it did not"
        assert signed_by(early, versions) == 1
        held.append(subscribed(bundle_device(early_files), "early-0"))

        # 3. From clientSwitchTime, a new client certificate is version 2's, and
        # the broker accepts its first handshake: it read ca-cert.pem again meanwhile.
        wait_until(client_switch)
        late, *late_files = issue_client(revoca, "late")
        assert signed_by(late, versions) == 2
        signing(2, client=2, server=1)
        before = len(lines())
        try:
            held.append(subscribed(bundle_device(late_files), "late-0"))
        except OSError as error:
            raise AssertionError(f"the first handshake of a version-2 client failed ({error}):\n"
                                 + "\n".join(lines()[before:])) from error
        first_v2 = time.time()
        print(f"a version-2 client connected {first_v2 - client_switch:.2f}s after clientSwitchTime, "
              f"{first_v2 - in_bundle:.2f}s after version 2 was in ca-cert.pem")
        check_all_alive(bundle_device(), held, "client-switch")

        # 4. Until serverSwitchTime the server certificate stays version 1's, and
        # a device that trusts version 1 alone keeps completing handshakes.
        serial, rollout_rotations, delays = file_serial(cert_file), 0, []
        while True:
            serial, written = next_rotation(cert_file, serial)
            server_cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
            assert server_cert.serial_number == serial, "two rotations within milliseconds"
            seen = probe_until(bundle_device(), serial, PEM_CACHE_CLEAN_MS / 1000 + MARGIN + 10,
                               f"r{len(delays) + 1}")
            delays.append(seen - written)
            signer = signed_by(server_cert, versions)
            print(f"rotation {len(delays)}: serial {serial:X} of version {signer}, made "
                  f"{made_at(server_cert) - server_switch:+.0f}s from serverSwitchTime, presented "
                  f"{seen - written:.2f}s after revoca wrote it")
            if signer == 2:
                break
            assert made_at(server_cert) < server_switch
            rollout_rotations += 1
            device = v1_device(f"device-v1-{rollout_rotations}")
            device.disconnect()
            assert device.serial == serial
            check_all_alive(bundle_device(), held, f"rollout-{rollout_rotations}")
        assert rollout_rotations >= 1, "no server certificate rotation during the trust rollout"

        # 5. From serverSwitchTime, version 2's server certificate: devices with
        # the bundle connect, a device trusting version 1 alone does not.
        assert made_at(server_cert) >= server_switch
        assert certificates(bundle_file.read_bytes()) == [v2, v1], "ca-cert.pem names version 2 first now"
        print(f"server switch: serverSwitchTime + {seen - server_switch:.2f}s, new handshakes presented "
              f"version 2's certificate")
        status, _, body = http("GET", responder)
        assert status == 200 and certificates(body) == [v2, v1], (status, body)
        device = localhost(context(body.decode(), held_client), port)("device-bundle")
        device.disconnect()
        assert device.serial == serial
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        refused_peer = f"127.0.0.1:{raw.getsockname()[1]}"
        with pytest.raises(ssl.SSLCertVerificationError):
            v1_only.wrap_socket(raw, server_hostname="localhost")
        raw.close()
        check_all_alive(bundle_device(), held, "server-switch")

        # 6. Nothing dropped; version 1's client certificate still connects.
        bundle_device()("device-held-cert").disconnect()
        signing(2, client=2, server=2)
        assert set(certificates(bundle_file.read_bytes())) == {v1, v2}
        wait_for(lambda: any(line.endswith(" " + refused_peer) for line in lines()), timeout=10,
                 what="the broker logging the refused handshake")
        log_lines = lines()
        assert_nothing_dropped(log_lines, HELD, ("held", "early", "late"), ("probe", "publisher", "device"))
        # The one handshake refused is the version-1-only device's, after serverSwitchTime.
        refused = [line for line in log_lines if line.startswith(("refused ", "dropped "))]
        assert len(refused) == 1 and refused[0].endswith(" " + refused_peer), refused
        print(f"the device trusting version 1 alone: {refused[0]}")
        assert_within(delays, PEM_CACHE_CLEAN_MS / 1000 + MARGIN)
        print(f"held {HELD} connections over a CA rotation and {len(delays)} server certificate rotations "
              f"({rollout_rotations} during the trust rollout), none closed; delays {[round(d, 2) for d in delays]}")
    finally:
        close_all(held, broker)
