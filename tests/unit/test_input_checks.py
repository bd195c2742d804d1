"""The input checks behind "no traceback for any input" (issue 8.4), case by case.

The bounded parsers of value_parsers.py and the option checks of common.py (what engine_module runs);
test_fuzz_modules.py throws generated input at the same code.
"""
from __future__ import annotations

import pytest

from ansible_collections.berth.engine.plugins.module_utils import common
from ansible_collections.berth.engine.plugins.module_utils.common import CONNECTION_ARGS, validate_params
from ansible_collections.berth.engine.plugins.module_utils.container_options import ARGUMENT_SPEC as CONTAINER_SPEC
from ansible_collections.berth.engine.plugins.module_utils.resource import Resource
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import (
    INT64_MAX,
    InputError,
    as_text_list,
    as_words,
    check_number,
    judged,
    parse_bytes,
    parse_cpus,
    parse_duration,
    parse_int,
)

INF, NAN = float("inf"), float("nan")
SPEC = dict(CONNECTION_ARGS, **CONTAINER_SPEC)


def fails(call, *words):
    with pytest.raises(ValueError) as caught:
        call()
    for word in words:
        assert word in str(caught.value), str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize("value, expected", [
    ("30s", 30 * 10 ** 9), ("1m30s", 90 * 10 ** 9), ("500ms", 5 * 10 ** 8), (10, 10 * 10 ** 9), ("1.5", 15 * 10 ** 8),
    (0, 0), (None, None), ("2562047h", 2562047 * 3600 * 10 ** 9),
])
def test_durations(value, expected):
    assert parse_duration(value, "healthcheck.interval") == expected


@pytest.mark.parametrize("value", [INF, -INF, NAN, -1, 1e16, "10000000000000000s", "2562048h", "1m30", "30x", "",
                                   [], {}, True, "-5s"])
def test_bad_durations_name_the_option(value):
    fails(lambda: parse_duration(value, "healthcheck.interval"), "healthcheck.interval")


@pytest.mark.parametrize("value, expected", [("512m", 512 * 2 ** 20), ("1g", 2 ** 30), (1048576, 1048576),
                                             ("1.5k", 1536), ("8388607t", 8388607 * 2 ** 40)])
def test_sizes(value, expected):
    assert parse_bytes(value, "memory") == expected


@pytest.mark.parametrize("value", [INF, NAN, -1, "-1m", "99999999999999999999t", 2 ** 64, "1e30", "12q", [], True,
                                   {"a": 1}])
def test_bad_sizes_name_the_option(value):
    fails(lambda: parse_bytes(value, "memory"), "memory")


@pytest.mark.parametrize("value, expected", [(1.5, 1500000000), ("0.5", 500000000), (0, 0), (4096, 4096 * 10 ** 9),
                                             (None, None)])
def test_cpus(value, expected):
    assert parse_cpus(value) == expected


@pytest.mark.parametrize("value", [INF, NAN, 4097, "abc", "inf", [], True])
def test_bad_cpus(value):
    fails(lambda: parse_cpus(value), "cpus", "from 0 to 4096")


def test_negative_cpus():
    fails(lambda: parse_cpus(-0.5), "cpus must not be negative")


@pytest.mark.parametrize("value, expected", [(5, 5), ("7", 7), (3.0, 3), (None, None)])
def test_whole_numbers(value, expected):
    assert parse_int(value, "stop_timeout", 0, 86400) == expected


@pytest.mark.parametrize("value", ["x", 1.5, INF, NAN, True, 2 ** 70, -1, [], "1e3"])
def test_bad_whole_numbers(value):
    fails(lambda: parse_int(value, "stop_timeout", 0, 86400), "stop_timeout", "from 0 to 86400")


def test_check_number_bounds_and_types():
    assert check_number(INT64_MAX, "x", 0, INT64_MAX) == INT64_MAX
    for value in (INF, NAN, "1", None, True, INT64_MAX + 1):
        fails(lambda value=value: check_number(value, "x", 0, INT64_MAX), "x must be a number from 0 to")


def test_lists_and_words():
    assert as_text_list([1, "a", 2.5, False], "dns") == ["1", "a", "2.5", "False"]
    assert as_words("sh -c 'echo hi'", "command") == ["sh", "-c", "echo hi"]
    assert as_words(["sh", 1], "command") == ["sh", "1"]
    for value in (5, True, {"a": 1}, [[1]], [None], [{}]):
        fails(lambda value=value: as_text_list(value, "extra_hosts"), "extra_hosts must be a list of strings")
    fails(lambda: as_words("echo 'unbalanced", "command"), "command could not be split into words")


# --- the option checks of engine_module --------------------------------------------------------------

def params(**overrides):
    return dict({"name": "web", "image": "berth-test/busybox"}, **overrides)


@pytest.mark.parametrize("overrides, option", [
    ({"timeout": 1e30}, "timeout must be a number from 1 to 86400 (seconds)"),
    ({"timeout": -2 ** 63}, "timeout must be a number from 1 to 86400"),
    ({"timeout": 0}, "timeout must be a number from 1 to 86400"),
    ({"timeout": "inf"}, "timeout must be a finite number"),
    ({"timeout": INF}, "timeout must be a finite number"),
    ({"healthy_timeout": NAN}, "healthy_timeout must be a finite number"),
    ({"healthcheck": {"retries": "-inf"}}, "healthcheck.retries must be a finite number"),
    ({"api_version": []}, "api_version must be auto or an API version such as 1.43, got '[]'"),
    ({"api_version": "v1.43"}, "api_version must be auto or an API version"),
    ({"validate_certs": None}, "validate_certs"),
    ({"ca_path": "/etc/\x00ca.pem"}, "ca_path must not contain a NUL byte"),
    ({"volumes": ["/a:/b", "/c\x00:/d"]}, "volumes must not contain a NUL byte"),
    ({"mounts": [{"target": "/data", "source": "a\x00"}]}, "mounts[0].source must not contain a NUL byte"),
    ({"cpus": INF}, "cpus must be a finite number"),
    ({"cpus": 1e6}, "cpus must be a number from 0 to 4096"),
    ({"stop_timeout": 2 ** 70}, "stop_timeout must be a number from 0 to 86400"),
    ({"pids_limit": -2}, "pids_limit must be a number from -1"),
    ({"healthcheck": False}, "healthcheck must be a mapping of its suboptions"),
    ({"healthcheck": [1]}, "healthcheck must be a mapping of its suboptions"),
    ({"healthcheck": 5}, "healthcheck must be a mapping of its suboptions"),
    ({"mounts": {"target": "/x"}}, "'mounts' is of type dict"),  # ansible's own messages from here
    ({"networks": ["frontend", 5]}, "'networks'"),
    ({"mounts": [True]}, "must be a list, not 'bool'"),
])
def test_engine_module_checks(overrides, option):
    fails(lambda: validate_params(SPEC, params(**overrides)), option)


def test_key_value_strings_for_suboptions_stay_accepted():
    validated = validate_params(SPEC, params(healthcheck="test=true", networks=["name=frontend"]))
    assert validated["healthcheck"]["test"] == "true" and validated["networks"][0]["name"] == "frontend"


def test_sane_parameters_pass_the_checks():
    validated = validate_params(SPEC, params(timeout=86400, api_version="1.43", cpus=1.5, stop_timeout=0,
                                             healthcheck={"test": "true", "retries": 3}, pids_limit=-1))
    assert validated["timeout"] == 86400 and validated["api_version"] == "1.43"


# --- typed errors: InputError where the input is judged, whatever the functions are called ---------------

def widget_from(value):  # no parse_/validate name: the type of the error decides, not the name
    return int(value)


def test_type_errors_where_input_is_judged_are_bad_input():
    with pytest.raises(InputError) as caught:
        judged(widget_from)([])
    assert str(caught.value).startswith("an option has a value of the wrong type or size (int() argument must be")
    assert "ansible-doc" in str(caught.value)


def test_a_resource_judges_what_its_desire_meets():
    class Widget(Resource):
        def desire(self, params):
            return {"name": widget_from(params["size"])}

    with pytest.raises(InputError, match="wrong type or size"):
        Widget(None, {"size": float("inf")})
    assert Widget(None, {"size": "3"}).name == 3


def test_type_errors_elsewhere_are_ours_with_a_trace():
    class Module:
        params = {"docker_host": "unix:///nonexistent.sock", "tls": False, "ca_path": None, "client_cert": None,
                  "client_key": None, "validate_certs": True, "timeout": 5, "api_version": "1.41"}

        def fail_json(self, **failure):
            raise SystemExit(failure)

    with pytest.raises(SystemExit) as stopped:
        common.run(Module(), lambda client: widget_from(float("inf")))
    failure = stopped.value.args[0]
    assert failure["msg"] == "berth.engine internal error: cannot convert float infinity to integer"
    assert "Traceback" in failure["exception"]
