"""A status says what was delivered: an EmqxDeployment that names a VaultSecret
its deployment does not receive is not Ready, and the owner and mode revoca
wrote the key with are in the status, so a broker running as another uid is
found out from there rather than from silently reset connections."""
import json
import os

from conftest import openssl, serial_of, wait_for

SECOND_SECRET = """
---
apiVersion: revoca.io/v1alpha1
kind: VaultSecret
metadata:
  name: second-cert
  namespace: default
spec:
  vault: mqtt-vault
  autoCert:
    issuingCa: mqtt-ca
    host: second.emqx.internal
"""


def condition(instance, kind, name):
    status = instance.status(kind, name)
    return (status["ready"], status["reason"]) if status else None


def test_an_emqx_deployment_naming_a_secret_its_deployment_does_not_receive_is_not_ready(standalone_factory):
    instance = standalone_factory()
    # A second VaultSecret of the same Vault: the deployment directory can hold one.
    vault = instance.declarations / "mqtt-vault.yaml"
    vault.write_text(vault.read_text() + SECOND_SECRET)
    emqx = instance.declarations / "emqx.yaml"
    emqx.write_text(emqx.read_text().replace("secret: server-cert", "secret: second-cert"))
    instance.start()

    wait_for(lambda: condition(instance, "EmqxDeployment", "emqx") is not None, what="the EmqxDeployment's status")
    assert condition(instance, "VaultSecret", "server-cert") == (True, "Ready")
    assert condition(instance, "VaultSecret", "second-cert") == (False, "DeploymentConflict")
    status = instance.status("EmqxDeployment", "emqx")
    assert (status["ready"], status["reason"]) == (False, "SecretNotDelivered"), status
    assert "VaultSecret second-cert was not delivered to deployment emqx" in status["message"]
    assert "already receives VaultSecret server-cert" in status["message"]
    # What the directory holds is server-cert's certificate, as its status says.
    directory = instance.deployment_dir()
    assert serial_of(directory / "cert.pem") == instance.status("VaultSecret", "server-cert")["facts"]["serial"]
    assert "mqtt.emqx.internal" in openssl("x509", "-in", directory / "cert.pem", "-noout", "-subject").stdout

    # Named after the VaultSecret it receives, it is Ready.
    emqx.write_text(emqx.read_text().replace("secret: second-cert", "secret: server-cert"))
    wait_for(lambda: condition(instance, "EmqxDeployment", "emqx") == (True, "Rendered"),
             what="the EmqxDeployment to be Ready")


def test_the_statuses_name_the_owner_and_mode_the_key_was_written_with(standalone_factory):
    instance = standalone_factory()
    # The examples' EMQX uid, and a mode the group may read.
    vault = instance.declarations / "mqtt-vault.yaml"
    vault.write_text(vault.read_text().replace('fileMode: "0400"', 'fileMode: "0440"'))
    instance.start()
    key = instance.deployment_dir() / "cert.key"
    wait_for(lambda: key.exists() and (instance.status("EmqxDeployment", "emqx") or {}).get("ready"),
             what="the key and a Ready EmqxDeployment")
    info = os.stat(key)
    written = (f"{info.st_uid}:{info.st_gid}", f"{info.st_mode & 0o7777:04o}")
    assert written == ("1000:1000", "0440")
    for kind, name in (("VaultSecret", "server-cert"), ("EmqxDeployment", "emqx")):
        facts = instance.status(kind, name)["facts"]
        assert (facts["fileOwner"], facts["fileMode"]) == written, (kind, facts)


def test_a_vaults_status_counts_the_deployments_it_distributes_to(standalone_factory):
    instance = standalone_factory()
    instance.start()
    wait_for(lambda: (instance.status("Vault", "mqtt-vault") or {}).get("ready"), what="a Ready Vault")
    assert instance.status("Vault", "mqtt-vault")["facts"] == {"deployments": "1"}

    def in_status_file():
        path = instance.state / "status.json"
        entries = json.loads(path.read_text()) if path.exists() else []
        return next((entry for entry in entries if entry["kind"] == "Vault" and entry["name"] == "mqtt-vault"), None)

    entry = wait_for(in_status_file, what="the Vault in status.json")
    assert entry["facts"] == {"deployments": "1"}, entry
