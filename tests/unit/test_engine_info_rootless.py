"""engine_info's `rootless`, from the SecurityOptions a Docker 20.10 engine reports: rootful on this
machine's dockerd, rootless as alice's engine in the vm scenario reported them."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.modules import engine_info

ROOTFUL = ["name=apparmor", "name=seccomp,profile=default", "name=cgroupns"]
ROOTLESS = ["name=seccomp,profile=default", "name=rootless", "name=cgroupns"]


def facts(options):
    return engine_info.engine_facts({"Version": "20.10.24+dfsg1"}, {"SecurityOptions": options}, "1.41")


def test_a_rootless_engine_is_reported_rootless():
    result = facts(ROOTLESS)
    assert result["rootless"] is True and result["security_options"] == ROOTLESS


def test_a_rootful_engine_is_not():
    assert facts(ROOTFUL)["rootless"] is False
    assert facts(None)["rootless"] is False
