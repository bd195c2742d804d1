"""Fixtures shared by unit and integration tests.

Integration tests talk to the real dockerd; the Docker SDK client here is the
independent observer (Berth's modules use their own Engine API client).
"""
from __future__ import annotations

import fcntl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# `tests.support...` and `ansible_collections.berth.engine...` (unit tests of module_utils) importable.
for _p in (REPO_ROOT, REPO_ROOT / "collections"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from tests.support.registry import LocalRegistry, start_registry  # noqa: E402
from tests.support.resources import Cleanup, make_unique_name  # noqa: E402

IMAGES_LOCK = "/tmp/berth-test-images-pytest.lock"


@dataclass(frozen=True)
class BerthImages:
    busybox: str = "berth-test/busybox:latest"
    http: str = "berth-test/http:latest"
    http_v1: str = "berth-test/http:v1"
    http_v2: str = "berth-test/http:v2"
    failing: str = "berth-test/failing:latest"
    unhealthy: str = "berth-test/unhealthy:latest"

    def all(self) -> list[str]:
        return [self.busybox, self.http, self.http_v1, self.http_v2, self.failing, self.unhealthy]


@pytest.fixture(scope="session")
def docker_client():
    """docker.DockerClient for the local daemon; fails (never skips) when no daemon answers."""
    import docker

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"no Docker daemon answers ({exc}); run scripts/ensure-dockerd.sh", pytrace=False)
    yield client
    client.close()


@pytest.fixture
def unique_name(request) -> str:
    """berth-t-<test>-<6 hex>; also the prefix that `cleanup` sweeps."""
    return make_unique_name(request.node.name)


@pytest.fixture
def make_name(unique_name):
    """make_name('db') -> '<unique_name>-db': several names for one test, all swept by `cleanup`."""
    return lambda suffix="": f"{unique_name}-{suffix}" if suffix else unique_name


@pytest.fixture
def cleanup(docker_client, unique_name):
    """Register things to remove at teardown (also on failure); sweeps everything named unique_name*."""
    registry = Cleanup(docker_client, prefix=unique_name)
    yield registry
    registry.run()


@pytest.fixture(scope="session")
def test_images(docker_client) -> BerthImages:
    """Builds the berth-test/* images once (tests/images/build.sh; file lock against xdist races)."""
    with open(IMAGES_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(["bash", str(REPO_ROOT / "tests/images/build.sh")], capture_output=True, text=True,
                              check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        pytest.fail(f"tests/images/build.sh failed (rc {proc.returncode})\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    images = BerthImages()
    for ref in images.all():
        docker_client.images.get(ref)  # raises ImageNotFound if the build silently missed one
    return images


@pytest.fixture(scope="session")
def local_registry() -> LocalRegistry:
    """A registry with basic auth on 127.0.0.1:<free port> (one per xdist worker)."""
    registry = start_registry()
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def debian_image(docker_client) -> str:
    """berth-test/debian:bookworm (tests/images/debian/build.sh): a container that can run Ansible's modules."""
    from tests.support.debian import build_debian_image

    return build_debian_image(docker_client)
