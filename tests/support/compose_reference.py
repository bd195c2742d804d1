"""Docker Compose v2 as the reference implementation: run the Compose of a Debian sid root on this host.

The sid root (BERTH_SID_ROOT, default /var/lib/berth-sid/root) holds Debian's docker-compose plugin
(2.40). Its binary is a Go program linked only against libc, so it runs here as it is; when this host's
libc is too old for it, it runs through the root's own dynamic loader and libraries instead. No chroot is
needed: it talks to the engine on /var/run/docker.sock like any client.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

PLUGIN = "usr/libexec/docker/cli-plugins/docker-compose"
LOADER = "lib64/ld-linux-x86-64.so.2"
LIBRARIES = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")


class ComposeMissing(RuntimeError):
    """The reference Compose is not installed where the conformance test looks for it."""


def sid_root() -> Path:
    return Path(os.environ.get("BERTH_SID_ROOT", "/var/lib/berth-sid/root"))


def compose_argv() -> list[str]:
    """The command line that starts the reference `docker compose` (standalone mode)."""
    root = sid_root()
    binary = root / PLUGIN
    if not binary.is_file():
        raise ComposeMissing(
            "the reference Docker Compose is missing: %s does not exist. Build the Debian sid root "
            "(BERTH_SID_ROOT, default /var/lib/berth-sid/root) with docker-compose installed in it, or point "
            "BERTH_SID_ROOT at one" % binary)
    if subprocess.run([str(binary), "version"], capture_output=True, check=False).returncode == 0:
        return [str(binary)]
    library_path = ":".join(str(root / lib) for lib in LIBRARIES)
    return [str(root / LOADER), "--library-path", library_path, str(binary)]


def compose(project: str, directory: Path, files: list[Path], *args: str, env: dict | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
    """`docker compose -p project --project-directory directory -f file... args` against the local engine."""
    argv = compose_argv() + ["-p", project, "--project-directory", str(directory)]
    for path in files:
        argv += ["-f", str(path)]
    environ = dict(os.environ, DOCKER_HOST="unix:///var/run/docker.sock", **(env or {}))
    environ.pop("COMPOSE_PROJECT_NAME", None)
    result = subprocess.run(argv + list(args), capture_output=True, text=True, env=environ, timeout=300,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError("docker compose %s failed (%d): %s"
                             % (" ".join(args), result.returncode, result.stderr))
    return result


def compose_config(project: str, directory: Path, files: list[Path], env: dict | None = None) -> dict:
    """The project as Compose resolves it: `docker compose config --format json`."""
    return json.loads(compose(project, directory, files, "config", "--format", "json", env=env).stdout)


def compose_version() -> str:
    result = subprocess.run(compose_argv() + ["version", "--short"], capture_output=True, text=True, check=True)
    return result.stdout.strip()
