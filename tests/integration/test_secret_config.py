"""berth.engine.secret and berth.engine.config against a private single-node swarm.

Versions are observed with the Docker SDK on that daemon; the file a task sees is read with exec
inside the task's container. The secret's value must never show in the output of -vvv --diff.
"""
from __future__ import annotations

import base64
import json
import time

import pytest

from tests.support.ansible import _bin, _env, module_helpers
from tests.support.swarm_daemon import swarm_fixture

swarm = swarm_fixture()
_unused, ok_secret, fails_secret = module_helpers("berth.engine.secret")
_unused, ok_config, _fails_config = module_helpers("berth.engine.config")
_unused, ok_service, _unused = module_helpers("berth.engine.service")

KIND = {"secret": (ok_secret, "secrets"), "config": (ok_config, "configs")}


def versions(swarm, kind, logical):
    objects = getattr(swarm.client, KIND[kind][1]).list(filters={"label": f"io.berth.logical_name={logical}"})
    return sorted(o.name for o in objects)


def task_file(swarm, service, path, want=None, timeout=60):
    """The file as the service's running task sees it (waits for `want` while a rollout finishes)."""
    deadline = time.monotonic() + timeout
    text = None
    while time.monotonic() < deadline:
        for container in swarm.client.containers.list(filters={"label": f"com.docker.swarm.service.name={service}"}):
            code, out = container.exec_run(["cat", path])
            if code == 0:
                text = out.decode()
                if want is None or text == want:
                    return text
        time.sleep(0.5)
    return text


def run_verbose(module, args):
    """ansible -vvv --diff, the way a user debugging would run it: all of stdout and stderr."""
    import subprocess

    from tests.support.ansible import DEFAULT_INVENTORY, REPO_ROOT

    cmd = [_bin("ansible"), "localhost", "-i", DEFAULT_INVENTORY, "-m", module, "-a", json.dumps(args), "-vvv",
           "--diff"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=_env({"ANSIBLE_STDOUT_CALLBACK": "default"}),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["secret", "config"])
def test_create_use_rotate_and_prune_versions(swarm, unique_name, kind):
    ok, _unused = KIND[kind]
    logical = unique_name.replace("-", "_")
    target = logical if kind == "secret" else "/" + logical
    path = "/run/secrets/" + logical if kind == "secret" else target
    base = dict(docker_host=swarm.host, name=logical)

    predicted = ok(dict(base, content="first value"), check=True)
    assert predicted["changed"] and predicted["actions"] == ["create"] and not versions(swarm, kind, logical)
    first = ok(dict(base, content="first value"))
    assert first["changed"] and first[kind]["name"].startswith(logical + "_")
    assert versions(swarm, kind, logical) == [first[kind]["name"]]
    assert not ok(dict(base, content="first value"))["changed"]

    service = unique_name + "-svc"
    ok_service(dict(docker_host=swarm.host, name=service, image="berth-test/busybox:latest", endpoint_mode="dnsrr",
                    **{KIND[kind][1]: [{"name": logical, "target": target}]}))
    assert task_file(swarm, service, path) == "first value"

    second = ok(dict(base, content="second value"))
    assert second["actions"] == ["create", "update_services"] and second[kind]["services_updated"] == [service]
    assert task_file(swarm, service, path, "second value") == "second value"
    assert versions(swarm, kind, logical) == sorted([first[kind]["name"], second[kind]["name"]])  # keeps 1 old

    third = ok(dict(base, content="third value"), diff=True)
    assert third["actions"] == ["create", "update_services", "remove"]
    assert third[kind]["removed_versions"] == [first[kind]["name"]]
    assert versions(swarm, kind, logical) == sorted([second[kind]["name"], third[kind]["name"]])
    assert task_file(swarm, service, path, "third value") == "third value"
    assert third["diff"]["after"] == {"content": "changed (version %s)" % third[kind]["name"]}

    in_use = (fails_secret if kind == "secret" else _fails_config)(dict(base, state="absent"))
    assert "in use by service(s) " + service in in_use
    swarm.client.services.get(service).remove()
    gone = ok(dict(base, state="absent"))
    assert gone["changed"] and not versions(swarm, kind, logical)


def test_secret_value_never_in_output_nor_result(swarm, unique_name):
    logical = unique_name.replace("-", "_")
    value = "s3cr3t-" + unique_name[-6:] + "-value"
    base = dict(docker_host=swarm.host, name=logical)
    result = ok_secret(dict(base, content=value), diff=True)
    assert value not in json.dumps(result["_entry"]) and value not in result["_stdout"] + result["_stderr"]
    output = run_verbose("berth.engine.secret", dict(base, content=value + "-rotated"))
    assert value not in output and "changed" in output
    # The name is a keyed hash: the same value under another key names another version.
    before = versions(swarm, "secret", logical)
    keyed = ok_secret(dict(base, content=value + "-rotated", hash_key="another key"))
    assert keyed["changed"] and keyed["secret"]["name"] not in before
    ok_secret(dict(base, state="absent"))


def test_content_sources_and_bad_input(swarm, unique_name, tmp_path):
    logical = unique_name.replace("-", "_")
    src = tmp_path / "conf"
    src.write_bytes(b"from a file\n")
    base = dict(docker_host=swarm.host, name=logical)
    from_file = ok_config(dict(base, src=str(src)))
    assert not ok_config(dict(base, content_base64="ZnJvbSBhIGZpbGUK"))["changed"]  # same bytes, same version
    assert swarm.client.configs.get(from_file["config"]["id"]).attrs["Spec"]["Labels"] == {
        "io.berth.logical_name": logical}
    assert "exactly one of content" in _fails_config(base)
    assert "not valid base64" in _fails_config(dict(base, content_base64="***"))
    assert "cannot read src" in _fails_config(dict(base, src=str(tmp_path / "missing")))
    assert "too long" in fails_secret(dict(base, name="x" * 60, content="v"))
    ok_config(dict(base, state="absent"))


def test_a_golang_template_config_is_rendered_for_each_task(swarm, unique_name):
    logical = unique_name.replace("-", "_")
    template = "service={{ .Service.Name }} slot={{ .Task.Slot }}"
    base = dict(docker_host=swarm.host, name=logical, content="{% raw %}" + template + "{% endraw %}")
    plain = ok_config(base)
    templated = dict(base, template_driver="golang")
    predicted = ok_config(templated, check=True, diff=True)
    assert predicted["actions"] == ["create"] and versions(swarm, "config", logical) == [plain["config"]["name"]]
    made = ok_config(templated)
    assert made["changed"] and made["config"]["name"] != plain["config"]["name"], "a new driver is a new version"
    attrs = swarm.client.configs.get(made["config"]["id"]).attrs
    assert attrs["Spec"]["Templating"] == {"Name": "golang"}
    assert base64.b64decode(attrs["Spec"]["Data"]).decode() == template
    assert not ok_config(templated)["changed"]

    service = unique_name + "-svc"
    ok_service(dict(docker_host=swarm.host, name=service, image="berth-test/busybox:latest", endpoint_mode="dnsrr",
                    configs=[{"name": logical, "target": "/whoami"}]))
    assert task_file(swarm, service, "/whoami") == "service=%s slot=1" % service
    swarm.client.services.get(service).remove()
