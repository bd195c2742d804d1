"""Hostile option values fail cleanly through ansible: a message naming the option, never a traceback.

These are the concrete cases the generated-input run of issue 8.4 turned up; the property-based
test (tests/unit/test_fuzz_modules.py) covers the same ground at the pure level.
"""
from __future__ import annotations

import pytest

from tests.support.ansible import run_module

CONTAINER = "berth.engine.container"
ENGINE_INFO = "berth.engine.engine_info"
SWARM_STACK = "berth.engine.swarm_stack"

CASES = [
    # (id, module, args without name/image, the option the message must name)
    ("timeout-huge", ENGINE_INFO, {"timeout": 1e30}, "timeout"),
    ("timeout-int64-min", ENGINE_INFO, {"timeout": -2 ** 63}, "timeout"),
    ("timeout-inf", ENGINE_INFO, {"timeout": "inf"}, "timeout"),
    ("api-version-list", ENGINE_INFO, {"api_version": []}, "api_version"),
    ("api-version-junk", ENGINE_INFO, {"api_version": "1.x"}, "api_version"),
    ("validate-certs-null", ENGINE_INFO, {"validate_certs": None}, "validate_certs"),
    ("cpus-inf", CONTAINER, {"cpus": "inf"}, "cpus"),
    ("healthcheck-test-int", CONTAINER, {"healthcheck": {"test": 5}}, "healthcheck.test"),
    ("healthcheck-interval-huge", CONTAINER, {"healthcheck": {"interval": "10000000000000000s"}},
     "healthcheck.interval"),
    ("extra-hosts-int", CONTAINER, {"extra_hosts": 5}, "extra_hosts"),
    ("kernel-config-nul", "berth.engine.host_prereqs", {"kernel_config_path": "/boot/con\x00fig"},
     "kernel_config_path"),
    # A swarm_stack entry is refused as its own module refuses it (issue 21): same ranges, NUL bytes, infinities.
    ("swarm-stack-wait-timeout-negative", SWARM_STACK,
     {"name": "s", "services": [{"name": "web", "image": "busybox", "wait_timeout": -5}]}, "wait_timeout"),
    ("swarm-stack-wait-timeout-inf", SWARM_STACK,
     {"name": "s", "services": [{"name": "web", "image": "busybox", "wait_timeout": "inf"}]}, "wait_timeout"),
    ("swarm-stack-image-nul", SWARM_STACK, {"name": "s", "services": [{"name": "web", "image": "busy\x00box"}]},
     "image"),
    ("daemon-config-path-nul", "berth.engine.daemon_config", {"path": "/tmp/daemon\x00.json"}, "path"),
]


@pytest.mark.parametrize("module, args, option", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_value_fails_naming_the_option(module, args, option, unique_name):
    if module == CONTAINER:
        args = dict(args, name=unique_name, image="berth-test/busybox:latest")
    result = run_module(module, args, check=True)
    msg = result["msg"] or ""
    assert result["failed"], result
    assert option in msg, msg
    assert not result["exception"], result["exception"]
    for crash in ("Traceback", "internal error", "MODULE FAILURE", "OverflowError", "TypeError", "null byte"):
        assert crash not in msg, msg
