"""Engine settings from the environment: Berth's variables, then the Docker CLI's, after what is given."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.inventory.containers import default_groups, group_name
from ansible_collections.berth.engine.plugins.inventory.swarm_nodes import host_names
from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    _error_message,
    environment_settings,
    resolve_settings,
)


def cert_dir(tmp_path, *names):
    for name in names:
        (tmp_path / name).write_text("x")
    return str(tmp_path)


def test_docker_cli_variables_turn_tls_on_and_supply_the_certificates(tmp_path):
    env = {"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": cert_dir(tmp_path, "ca.pem", "cert.pem", "key.pem")}
    assert environment_settings(env) == {"docker_host": "tcp://h:2376", "tls": True,
                                         "ca_path": str(tmp_path / "ca.pem"),
                                         "client_cert": str(tmp_path / "cert.pem"),
                                         "client_key": str(tmp_path / "key.pem")}


def test_berth_variables_come_before_the_cli_ones_and_missing_files_are_not_invented(tmp_path):
    env = {"DOCKER_TLS": "false", "DOCKER_TLS_VERIFY": "1", "DOCKER_CA_PATH": "/own/ca.pem",
           "DOCKER_CERT_PATH": cert_dir(tmp_path, "ca.pem")}
    assert environment_settings(env) == {"tls": False, "ca_path": "/own/ca.pem"}
    assert environment_settings({"DOCKER_TLS_VERIFY": "0"}) == {}
    assert environment_settings({"DOCKER_TLS_VERIFY": ""}) == {}


def test_given_settings_come_first_then_the_environment_then_the_defaults(tmp_path):
    env = {"DOCKER_HOST": "tcp://env:2376", "DOCKER_TLS_VERIFY": "yes"}
    settings = resolve_settings({"docker_host": "unix:///given.sock", "tls": None, "timeout": None}, env)
    assert settings["docker_host"] == "unix:///given.sock" and settings["tls"] is True
    assert settings["timeout"] == 60 and settings["validate_certs"] is True
    assert resolve_settings({"tls": False}, env)["tls"] is False
    assert resolve_settings({}, {})["docker_host"] == "unix:///var/run/docker.sock"


def test_error_message_of_a_hijacked_reply_in_chunked_framing():
    body = '3a\r\n{"message":"No such exec instance: abc"}\n\r\n0\r\n\r\n'
    assert _error_message(body) == "No such exec instance: abc"
    assert _error_message("page not found") == "page not found"


def test_inventory_group_and_host_names():
    assert group_name("berth-test/debian:bookworm") == "berth_test_debian_bookworm"
    container = {"State": "running", "Image": "web:1", "Labels": {
        "com.docker.compose.project": "shop", "com.docker.compose.service": "api", "io.berth.stack": "s-1"}}
    assert default_groups(container) == ["state_running", "image_web_1", "compose_shop", "compose_shop_api",
                                         "stack_s_1"]
    nodes = [{"hostname": "vm", "id": "a" * 25}, {"hostname": "vm", "id": "b" * 25}, {"hostname": "x", "id": "c"}]
    assert host_names(nodes, "hostname") == ["vm-" + "a" * 12, "vm-" + "b" * 12, "x"]
    assert host_names(nodes, "id") == ["a" * 25, "b" * 25, "c"]
