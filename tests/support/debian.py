"""The Debian image the connection plugin's tests run modules in (tests/images/debian/build.sh)."""
from __future__ import annotations

import subprocess

import pytest

from tests.support.ansible import REPO_ROOT

DEBIAN_IMAGE = "berth-test/debian:bookworm"


def build_debian_image(docker_client):
    """Builds berth-test/debian:bookworm once (debootstrap minbase + python3, cached rootfs tarball)."""
    proc = subprocess.run(["bash", str(REPO_ROOT / "tests/images/debian/build.sh")], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        pytest.fail(f"tests/images/debian/build.sh failed\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    docker_client.images.get(DEBIAN_IMAGE)  # raises ImageNotFound if the build silently missed it
    return DEBIAN_IMAGE
