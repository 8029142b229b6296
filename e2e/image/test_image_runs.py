"""revoca's image, built from the Dockerfile by e2e/node/build-image.sh on
Debian-made base images (no registry), run as the
chart runs it: uid 65532, read-only root filesystem, no capabilities. Here
with podman (runc) on the host network, standalone on the examples; the
cluster suites run the same image in pods."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, free_port, http, wait_for

NODE = ROOT / "e2e" / "node"


# The image the node suites run (the Dockerfile's runtime stage with the
# binaries built here), and the Dockerfile's own two-stage build, which a
# release runs: both must start.
@pytest.fixture(scope="module", params=["runtime stage", "two stages"])
def image(request):
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("buildah", "podman", "debootstrap")):
        pytest.skip("needs root, buildah, podman and debootstrap (scripts/install-deps.sh)")
    command = [NODE / "build-image.sh"]
    if request.param == "two stages":
        command += ["--full", "localhost/revoca:two-stage-build"]
    started = time.monotonic()
    built = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout + built.stderr
    print(f"[image] {request.param}: built {built.stdout.strip()} in {time.monotonic() - started:.1f} s")
    return built.stdout.strip()


def podman(*args, **kwargs):
    env = dict(os.environ, CONTAINERS_CONF=str(NODE / "containers.conf"))
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, **kwargs)


def test_the_image_runs_revoca_standalone_as_65532_read_only_without_capabilities(image, tmp_path):
    port = free_port()
    name = f"revoca-image-{port}"
    for directory in ("state", "output"):  # revoca refuses a state directory another user owns
        (tmp_path / directory).mkdir(mode=0o700)
        os.chown(tmp_path / directory, 65532, 65532)
    run = podman("run", "-d", "--rm", "--name", name, "--network", "host", "--read-only", "--cap-drop=ALL",
                 "--security-opt", "no-new-privileges", "-v", f"{tmp_path / 'state'}:/state",
                 "-v", f"{tmp_path / 'output'}:/output", "-v", f"{ROOT / 'manifests' / 'examples'}:/declarations:ro",
                 image, "standalone", "--declarations", "/declarations", "--state", "/state", "--output", "/output",
                 "--listen", f"127.0.0.1:{port}", timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    try:
        def ready():
            try:
                return http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200
            except OSError:  # not listening yet
                return False
        wait_for(ready, timeout=30, what="the container's /readyz")
        status, _, body = http("GET", f"http://127.0.0.1:{port}/crl/default/mqtt-ca/1")
        assert status == 200 and body[:1] == b"\x30", status
        identity = podman("exec", name, "sh", "-c", "id -u; grep CapEff /proc/self/status; touch /x 2>&1 || true",
                          timeout=60)
        assert identity.stdout.splitlines()[0] == "65532", identity.stdout
        assert "CapEff:\t0000000000000000" in identity.stdout, identity.stdout
        assert "Read-only file system" in identity.stdout, identity.stdout
    finally:
        logs = podman("logs", name, timeout=60)
        podman("rm", "-f", name, timeout=60)
    assert "error" not in (logs.stdout + logs.stderr).lower(), logs.stdout + logs.stderr
