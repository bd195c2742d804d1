"""Fixtures shared by the Molecule scenarios' testinfra tests.

Molecule runs pytest once per scenario with `--connection=ansible` and its
own inventory; the `host` fixture comes from testinfra. The checks themselves
live in shared/berth_checks.py so every scenario asserts the same things.
"""

import os
import sys

import pytest

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "shared"))
# The repository root (above extensions/molecule), for tests.support (ansible-playbook runs the way the other tests do).
sys.path.insert(0, os.path.dirname(os.path.dirname(_here)))

import berth_checks  # noqa: E402


@pytest.fixture(scope="module")
def host_vars(host):
    """The host's inventory variables (Molecule's group_vars/host_vars)."""
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def expected_daemon_json(host_vars):
    """daemon.json as the runtime role must have written it for this host."""
    return berth_checks.expected_daemon_config(host_vars)
