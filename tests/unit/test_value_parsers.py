"""One parser per format (plugins/module_utils/value_parsers.py): each format read the same way through
every entry point that takes it (the container module, the stack, Compose's host and swarm targets).

Every case that fixes a disagreement feeds the same input through two entry points and expects one result.
The expected env-file values are what Compose 2.40 (`docker compose config`, from the sid root) printed.
"""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils import compose, compose_swarm
from ansible_collections.berth.engine.plugins.module_utils.compose_hash import size_in_bytes
from ansible_collections.berth.engine.plugins.module_utils.container_plan import desired_container
from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_ports
from ansible_collections.berth.engine.plugins.module_utils.service_plan import desired_service
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import (
    InputError,
    parse_bytes,
    parse_duration,
    parse_env_file,
)

# An env file with each of Compose's rules, and what Compose 2.40 made of it (environ: BARE_SET=from-env).
ENV_FILE = "\n".join([
    "# comment", "export EXP=1", 'export   EXP2="two words"', "SQ='single $HOME ${X}'",
    'DQ="dq $EXP \\n esc \\"q\\""', "UNQ=unq # comment", "UNQ2=a#b", "UNQ3=  spaced  ", "REF=${EXP}-${NOPE:-def}",
    "YAML: yv", "EMPTY=", "INHERIT", "BARE_SET", "DOTTED.KEY-x=1", 'ML="line1', 'line2"', "SQ2='x' # c",
    'DQ2="y" # c', "UNQ4=a\\nb", "SPACED = v", 'MID=x"y"z', "SQESC='a\\'b'", 'DQTAB="t\\tt"', 'HASHQ="a # b"',
    "UNQ5=#x", 'BS="a\\\\b"', 'DQD="\\$X"', 'A1="a\\ab"', 'E2="a\\x"',
]) + "\n"
COMPOSE_SAYS = {
    "EXP": "1", "EXP2": "two words", "SQ": "single $HOME ${X}", "DQ": 'dq 1 \n esc "q"', "UNQ": "unq",
    "UNQ2": "a#b", "UNQ3": "spaced", "REF": "1-def", "YAML": "yv", "EMPTY": "", "BARE_SET": "from-env",
    "DOTTED.KEY-x": "1", "ML": "line1\nline2", "SQ2": "x", "DQ2": "y", "UNQ4": "a\\nb", "SPACED": "v",
    "MID": 'x"y"z', "SQESC": "a'b", "DQTAB": "t\tt", "HASHQ": "a # b", "UNQ5": "#x", "BS": "a\\b", "DQD": "$X",
    "A1": "a\ab", "E2": "a\\x",
}


def host(text, **kwargs):
    kwargs.setdefault("directory", "/srv/app")
    result = compose.load_project([yaml.safe_load(text)], **kwargs)
    return {c["name"]: c for c in result["containers"]}


def swarm(text, **kwargs):
    kwargs.setdefault("directory", "/srv/app")
    return {s["name"]: s for s in compose_swarm.load_swarm_project([yaml.safe_load(text)], **kwargs)["services"]}


# --- env files ---------------------------------------------------------------------------------------

def test_env_file_reads_as_compose_reads_it():
    assert parse_env_file(ENV_FILE, "app.env", {"BARE_SET": "from-env"}) == COMPOSE_SAYS


def test_one_env_file_gives_one_environment_to_the_container_module_and_compose():
    text = "export A='quoted $x'\nB=\"two words\"\nC=${A}-c # note\nD: yaml\n"
    container = desired_container({"name": "web", "image": "app", "state": "started", "env_file": "/srv/app/a.env"},
                                  read_text={"/srv/app/a.env": text}.__getitem__)
    service = host("services: {web: {image: w, env_file: a.env}}", read_text={"/srv/app/a.env": text}.get)
    expected = {"A": "quoted $x", "B": "two words", "C": "quoted $x-c", "D": "yaml"}
    assert container["values"]["env"] == service["app-web-1"]["env"] == expected


@pytest.mark.parametrize("text, problem", [
    ("BAD KEY=x\n", "line 1 is not KEY=VALUE"),
    ('A=1\nB="open\n', "line 2: unterminated quoted value"),
    ("A=${B\n", "line 1: unclosed \\$\\{"),
])
def test_env_file_mistakes_name_the_line(text, problem):
    with pytest.raises(InputError, match=problem):
        parse_env_file(text, "app.env")


def test_dotenv_is_interpolated_as_compose_does():
    files = {"/srv/app/.env": "A=1\nB=${A}x\nexport C=\"q\"\nD=${OUTER}\n"}
    text = "services: {web: {image: w, environment: [B=$B, C=$C, D=$D]}}"
    web = host(text, read_text=files.get, environ={"OUTER": "out"})["app-web-1"]
    assert web["env"] == {"B": "1x", "C": "q", "D": "out"}


# --- environment lists: `- KEY` ------------------------------------------------------------------------

def test_a_bare_key_takes_the_project_variable_or_stays_unset_on_both_targets():
    text = "services: {web: {image: w, environment: [SET, UNSET, EMPTY=, 'KEPT=1']}}"
    environ = {"SET": "from-compose-env"}
    expected = {"SET": "from-compose-env", "EMPTY": "", "KEPT": "1"}
    assert host(text, environ=environ)["app-web-1"]["env"] == expected
    assert swarm(text, environ=environ)["app_web"]["env"] == expected
    mapping = "services: {web: {image: w, environment: {SET: null, UNSET: null, EMPTY: '', KEPT: 1}}}"
    assert host(mapping, environ=environ)["app-web-1"]["env"] == expected


# --- durations ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [("1h", 3600), ("500ms", 0), ("1m30s", 90), ("1m30.5s", 90),
                                            ("1d", 86400), ("10", 10)])
def test_stop_grace_period_reads_as_every_other_duration(value, seconds):
    web = host("services: {web: {image: w, stop_grace_period: '%s'}}" % value)["app-web-1"]
    assert web["stop_grace_period"] == value  # the container option table's row parses it, as Compose does
    grace = desired_container({"name": "web", "image": "app", "state": "started", "stop_grace_period": value})
    assert grace["values"]["stop_grace_period"] == seconds == parse_duration(value, "x") // 10 ** 9
    check = {"test": "true", "interval": value}
    container = desired_container({"name": "web", "image": "app", "state": "started", "healthcheck": check})
    service = desired_service({"name": "s", "image": "i", "healthcheck": check})
    assert container["values"]["healthcheck"]["Interval"] == service["container"]["healthcheck"]["Interval"] \
        == parse_duration(value, "interval")


def test_a_wrong_duration_names_the_key():
    web = host("services: {web: {image: w, stop_grace_period: soon}}")["app-web-1"]
    with pytest.raises(ValueError, match="stop_grace_period must be a duration"):
        desired_container(dict(web, name="web", state="started"))


# --- sizes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, size", [("1.5GiB", 1536 * 1024 ** 2), ("64m", 64 * 1024 ** 2), ("1kb", 1024),
                                         ("2 g", 2 * 1024 ** 3), ("512", 512), ("1p", 1024 ** 5)])
def test_a_size_is_the_same_for_the_container_module_and_compose(value, size):
    container = desired_container({"name": "web", "image": "app", "state": "started", "memory": value})
    assert parse_bytes(value, "memory") == size == int(size_in_bytes(value))
    assert container["values"]["memory"] == size


# --- ports -------------------------------------------------------------------------------------------

def test_short_ports_are_read_by_one_grammar_on_both_targets():
    text = "services: {web: {image: w, ports: ['8080:80', '9000-9001:7000-7001/udp', '53']}}"
    assert parse_ports(host(text)["app-web-1"]["ports"]) == {
        "80/tcp": [["", "8080"]], "7000/udp": [["", "9000"]], "7001/udp": [["", "9001"]], "53/tcp": [["", ""]]}
    assert swarm(text)["app_web"]["ports"] == [
        {"target": 80, "published": 8080, "protocol": "tcp", "publish_mode": "ingress"},
        {"target": 7000, "published": 9000, "protocol": "udp", "publish_mode": "ingress"},
        {"target": 7001, "published": 9001, "protocol": "udp", "publish_mode": "ingress"},
        {"target": 53, "protocol": "tcp", "publish_mode": "ingress"}]


@pytest.mark.parametrize("entry, problem", [("127.0.0.1:80:80", "a host IP"), ("80:80/bogus", "is not of the form"),
                                            ("70000:80", "outside 1-65535")])
def test_a_swarm_refuses_what_it_cannot_publish(entry, problem):
    with pytest.raises(compose.ComposeError, match=problem):
        swarm("services: {web: {image: w, ports: ['%s']}}" % entry)


def test_a_wrong_value_type_in_a_compose_file_is_the_files_fault():
    with pytest.raises(compose.ComposeError, match="wrong type or size"):
        swarm("services: {web: {image: w, deploy: {placement: {preferences: [3]}}}}")


# --- volumes: the short syntax -------------------------------------------------------------------------

def test_short_volumes_are_read_by_one_parser_on_both_targets():
    text = "services: {web: {image: w, volumes: ['./data:/data:ro,z', 'cache:/cache', /anon]}}\nvolumes: {cache: {}}"
    expected = [{"type": "bind", "source": "/srv/app/data", "target": "/data", "read_only": True},
                {"type": "volume", "source": "app_cache", "target": "/cache", "read_only": False},
                {"type": "volume", "source": None, "target": "/anon", "read_only": False}]
    mounts = host(text)["app-web-1"]["mounts"]
    assert [{k: m[k] for k in ("type", "source", "target", "read_only")} for m in mounts] == expected
    assert mounts[0]["create_host_path"] is True  # one host creates a missing bind source, as Compose does
    assert swarm(text)["app_web"]["mounts"] == expected
    with pytest.raises(compose.ComposeError, match="is not of the form"):
        host("services: {web: {image: w, volumes: ['a:/b:ro:extra']}}")


def test_the_container_modules_volumes_use_the_same_short_syntax_parser():
    desired = desired_container({"name": "c", "image": "i", "state": "present",
                                 "volumes": ["/srv/data:/data:ro", "cache:/cache", "/anon"]})
    mounts = {m["target"]: m for m in desired["values"]["mounts"]}
    assert mounts["/data"]["type"] == "bind" and mounts["/data"]["read_only"] is True
    assert mounts["/cache"]["type"] == "volume" and mounts["/cache"]["source"] == "cache"
    assert mounts["/anon"]["type"] == "volume"
    # No project directory here: a relative host path or a mode Berth cannot honour is refused, never guessed.
    for entry, problem in (("./data:/data", "must be absolute"), ("/srv:/srv:z", "mode must be ro or rw"),
                           ("a:/b:ro:extra", "is not of the form")):
        with pytest.raises(ValueError, match=problem):
            desired_container({"name": "c", "image": "i", "state": "present", "volumes": [entry]})
