"""The image, checked without a container engine. The
Dockerfile's runtime stage must install a Debian package for every shared
library `ldd` lists for build/bin/revoca and build/bin/revocactl (the build
stage compiles the same sources against the same Debian 12 packages), no -dev
package, and run as a non-root user; the build stage is Debian 12 and builds
both binaries with the dependencies scripts/install-deps.sh names."""
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "Dockerfile"
BUILD = Path(os.environ.get("REVOCA_BUILD", ROOT / "build"))
BINARIES = [BUILD / "bin" / "revoca", BUILD / "bin" / "revocactl"]

# What debian:12-slim already holds of what the binaries link: libc6 (with the
# dynamic loader, libm, libpthread). It is not marked Essential (dpkg-query
# says so only of coreutils, bash, ...) but every Debian image is built on it,
# and bookworm-slim's package list (docker-library/repo-info,
# repos/debian/local/bookworm-slim.md) has it. Anything else must be installed
# by the Dockerfile, even what the slim image happens to ship today.
IN_BASE_IMAGE = {"libc6"}

# scripts/install-deps.sh's packages that only the tests use.
# What scripts/install-deps.sh installs for the tests alone: peers, tracing
# (the security suite) and clang for the fuzzers.
TEST_ONLY = {"libgtest-dev", "libgmock-dev", "nginx", "mosquitto", "mosquitto-clients", "openssl", "strace", "clang",
             "libclang-rt-14-dev", "debootstrap", "buildah", "podman", "runc", "containerd",
             "containernetworking-plugins", "conntrack", "nftables", "iproute2", "iptables"}


class Stage:
    def __init__(self, base, name):
        self.base = base
        self.name = name
        self.instructions = []  # (INSTRUCTION, arguments)

    def all(self, instruction):
        return [args for name, args in self.instructions if name == instruction]

    def apt_installs(self):
        """Packages of every `apt-get install` in the stage's RUN lines."""
        packages = []
        for run in self.all("RUN"):
            for command in re.split(r"&&|;|\|\|", run):
                words = shlex.split(command)
                words = [word for word in words if "=" not in word or word.startswith("-")]  # VAR=value prefixes
                if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                    after = words[words.index("install") + 1:]
                    packages += [word for word in after if not word.startswith("-")]
        return packages


def parse(path):
    """The Dockerfile's stages, continuation lines joined and comments dropped."""
    stages = []
    logical = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        if logical.strip():
            instruction, _, arguments = logical.strip().partition(" ")
            instruction = instruction.upper()
            arguments = arguments.strip()
            if instruction == "FROM":
                words = arguments.split()
                words = [word for word in words if not word.startswith("--")]
                name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
                stages.append(Stage(words[0], name))
            else:
                assert stages, f"{path}: {instruction} before the first FROM"
                stages[-1].instructions.append((instruction, arguments))
        logical = ""
    return stages


@pytest.fixture(scope="module")
def stages():
    assert DOCKERFILE.exists(), f"no {DOCKERFILE}"
    parsed = parse(DOCKERFILE)
    assert len(parsed) >= 2, "the Dockerfile should have a build stage and a runtime stage"
    return parsed


def linked_libraries(binary):
    """(soname, path) of every shared library ldd resolves for BINARY."""
    assert binary.exists(), f"{binary} is missing: build it first (cmake --build build)"
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True)
    libraries = []
    for line in result.stdout.splitlines():
        line = line.strip()
        assert "not found" not in line, f"ldd {binary}: {line}"
        if "=>" in line:
            soname, _, rest = line.partition("=>")
            path = rest.split("(")[0].strip()
            if path:
                libraries.append((soname.strip(), path))
        elif line.startswith("/"):  # the dynamic loader
            libraries.append((Path(line.split()[0]).name, line.split()[0]))
        # else: linux-vdso.so.1, provided by the kernel
    return libraries


def merged_usr_variants(path):
    """Debian 12 merges /lib into /usr/lib, but dpkg knows each file by the one
    path its package ships it at: try both spellings."""
    yield path
    if path.startswith("/usr/"):
        yield path[len("/usr"):]
    else:
        yield "/usr" + path


def package_of(path):
    candidates = []
    for spelling in (path, os.path.realpath(path)):
        for variant in merged_usr_variants(spelling):
            if variant not in candidates:
                candidates.append(variant)
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            # "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3" (a diversion line may come first)
            for line in result.stdout.splitlines():
                if not line.startswith("diversion"):
                    return line.split(": ", 1)[0].split(",")[0].split(":")[0]
    raise AssertionError(f"no Debian package owns {path} (tried {', '.join(candidates)})")


def essential(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Essential}", package], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "yes"


@pytest.fixture(scope="module")
def needed():
    """{package: [(binary, soname, path)]} for both binaries."""
    for tool in ("ldd", "dpkg", "dpkg-query"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            pytest.skip(f"{tool} is not available: this check needs a Debian host")
    packages = {}
    for binary in BINARIES:
        for soname, path in linked_libraries(binary):
            packages.setdefault(package_of(path), []).append((binary.name, soname, path))
    return packages


def test_every_linked_library_comes_from_a_package_the_runtime_stage_installs(stages, needed):
    runtime = stages[-1]
    installed = set(runtime.apt_installs())
    missing = []
    for package, uses in sorted(needed.items()):
        if package in installed or package in IN_BASE_IMAGE or essential(package):
            continue
        by_library = {}
        for binary, soname, path in uses:
            by_library.setdefault(f"{soname} ({path})", set()).add(binary)
        libraries = "; ".join(f"{library} linked by {', '.join(sorted(binaries))}"
                              for library, binaries in sorted(by_library.items()))
        missing.append(f"  {package}: provides {libraries}")
    assert not missing, (
        "the runtime stage of the Dockerfile does not install the package of these linked libraries:\n"
        + "\n".join(missing)
        + "\nadd them to the runtime stage's `apt-get install -y --no-install-recommends` line, which should read\n      apt-get install -y --no-install-recommends "
        + " ".join(package for package in sorted(needed) if package not in IN_BASE_IMAGE))


def test_runtime_stage_installs_no_dev_package_and_nothing_unused(stages, needed):
    runtime = stages[-1]
    packages = runtime.apt_installs()
    assert packages, "the runtime stage installs nothing with apt-get install"
    dev = [package for package in packages if package.endswith("-dev") or package in ("build-essential", "cmake")]
    assert not dev, f"the runtime stage installs build-time packages {dev}: only the runtime libraries belong there"
    unused = sorted(set(packages) - set(needed))
    assert not unused, (f"the runtime stage installs {unused}, which no library of {[b.name for b in BINARIES]} "
                        "comes from (ldd): remove them or say here why they are needed")
    for run in runtime.all("RUN"):
        if "apt-get install" in run:
            assert "--no-install-recommends" in run, f"runtime apt-get install without --no-install-recommends: {run}"
            assert "rm -rf /var/lib/apt/lists" in run, f"the runtime stage keeps the apt lists: {run}"


def test_runtime_stage_is_debian_12_slim_running_revoca_as_non_root(stages):
    runtime = stages[-1]
    assert runtime.base in ("debian:12-slim", "debian:bookworm-slim") or re.fullmatch(
        r"debian:12(\.\d+)?-slim(@sha256:[0-9a-f]{64})?", runtime.base), \
        f"the runtime stage's base is {runtime.base}, not debian:12-slim"
    users = runtime.all("USER")
    assert users, "the runtime stage sets no USER: the image would run as root; add `USER 65532:65532`"
    user, _, group = users[-1].partition(":")
    assert user not in ("root", "0") and group not in ("root", "0"), f"the final USER is {users[-1]}: not root, please"
    assert user.isdigit(), f"USER {users[-1]}: a numeric uid lets Kubernetes' runAsNonRoot verify it"
    assert any("4664" in expose.split() for expose in runtime.all("EXPOSE")), "the runtime stage should EXPOSE 4664"
    assert runtime.all("ENTRYPOINT")[-1] == '["/usr/local/bin/revoca"]', runtime.all("ENTRYPOINT")
    assert runtime.all("CMD")[-1] == '["run"]', runtime.all("CMD")
    copies = " ".join(runtime.all("COPY"))
    for binary in ("revoca", "revocactl"):
        assert re.search(rf"--from=\S+ .*/{binary}\b.* /usr/local/bin/?", copies), \
            f"the runtime stage does not copy {binary} to /usr/local/bin from the build stage: {copies}"


def test_build_stage_is_debian_12_and_builds_both_binaries_with_the_install_deps_packages(stages):
    build = stages[0]
    assert re.fullmatch(r"debian:(12(\.\d+)?|bookworm)(@sha256:[0-9a-f]{64})?", build.base), \
        f"the build stage's base is {build.base}, not debian:12"
    runs = " ".join(build.all("RUN"))
    assert "-G Ninja" in runs and "CMAKE_BUILD_TYPE=Release" in runs, runs
    for target in ("revoca", "revocactl"):
        assert re.search(rf"--target [^&]*\b{target}\b", runs), f"the build stage does not build {target}: {runs}"
    script = (ROOT / "scripts" / "install-deps.sh").read_text()
    listed = re.search(r"packages=\((.*?)\)", script, re.S).group(1).split()
    wanted = [package for package in listed if package not in TEST_ONLY and not package.startswith("erlang-")]
    absent = [package for package in wanted if package not in build.apt_installs()]
    assert not absent, f"the build stage lacks {absent}, which scripts/install-deps.sh installs to build revoca"
    copy_from = {arg.split()[0].split("=", 1)[1] for arg in stages[-1].all("COPY") if arg.startswith("--from=")}
    assert copy_from <= {build.name, "0"}, f"the runtime stage copies from {copy_from}, not the build stage {build.name}"
