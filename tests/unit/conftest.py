"""Fixtures shared by the unit tests."""
from __future__ import annotations

import os
import tempfile

import pytest

from tests.unit import fake_daemon


@pytest.fixture
def daemon():
    """A fake engine on a unix socket (tests/unit/fake_daemon.py), stopped and removed afterwards."""
    # A short path of our own: unix socket paths are limited to 108 bytes.
    directory = tempfile.mkdtemp(prefix="berth-fake-")
    fake = fake_daemon.start(directory)
    yield fake
    fake_daemon.stop(fake)
    os.unlink(fake.socket_path)
    os.rmdir(directory)
