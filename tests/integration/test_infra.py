"""Smoke tests for the test infrastructure itself (images, registry, Ansible runner, cleanup)."""
from __future__ import annotations

import pytest
from docker.errors import NotFound

from tests.support.ansible import run_module, run_playbook
from tests.support.registry import v2_status


def test_images_carry_expected_config(docker_client, test_images):
    busybox = docker_client.images.get(test_images.busybox).attrs["Config"]
    assert "BERTH_IMAGE_ENV=from-image" in busybox["Env"]
    assert busybox["Labels"]["io.berth.test.image-label"] == "yes"
    assert "8080/tcp" in busybox["ExposedPorts"]
    assert "/data" in busybox["Volumes"]

    http = docker_client.images.get(test_images.http).attrs["Config"]
    assert http["Healthcheck"]["Test"][0] == "CMD-SHELL"
    assert http["Healthcheck"]["Interval"] == 1_000_000_000

    v1, v2 = (docker_client.images.get(ref).id for ref in (test_images.http, test_images.http_v2))
    assert v1 != v2
    assert docker_client.images.get(test_images.failing).attrs["Config"]["Entrypoint"][:2] == ["sh", "-c"]
    assert docker_client.images.get(test_images.unhealthy).attrs["Config"]["Healthcheck"]["Retries"] == 1


def test_failing_image_exits_3(docker_client, test_images, unique_name, cleanup):
    container = docker_client.containers.run(test_images.failing, name=unique_name, detach=True)
    assert container.wait(timeout=30)["StatusCode"] == 3
    assert b"boom" in container.logs(stdout=False, stderr=True)


def test_registry_requires_auth_and_accepts_push(docker_client, test_images, local_registry):
    assert v2_status(f"{local_registry.url}/v2/") == 401
    assert v2_status(f"{local_registry.url}/v2/", (local_registry.username, "wrong")) == 401
    assert v2_status(f"{local_registry.url}/v2/", (local_registry.username, local_registry.password)) == 200

    ref = local_registry.push(docker_client, test_images.busybox, "infra/busybox", "smoke")
    auth = (local_registry.username, local_registry.password)
    assert v2_status(f"{local_registry.url}/v2/infra/busybox/manifests/smoke", auth) == 200
    assert ref == f"{local_registry.host}/infra/busybox:smoke"
    with pytest.raises(NotFound):  # push() leaves no local tag behind
        docker_client.images.get(ref)


def test_run_module_ping_through_callback():
    result = run_module("ansible.builtin.ping", {})
    assert result["_rc"] == 0, result["_stderr"]
    assert result["ping"] == "pong"
    assert result["changed"] is False and result["failed"] is False
    assert result["exception"] is None


def test_run_module_reports_failure_and_diff(tmp_path):
    target = tmp_path / "f.txt"
    changed = run_module("ansible.builtin.copy", {"dest": str(target), "content": "a\n"}, check=True, diff=True)
    assert changed["changed"] is True and changed["_status"] == "changed"
    assert changed["diff"] and not target.exists()

    failed = run_module("ansible.builtin.fail", {"msg": "nope"})
    assert failed["failed"] is True and failed["msg"] == "nope" and failed["_rc"] != 0


def test_run_playbook_from_text_with_recap():
    run = run_playbook(
        """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: say hi
      ansible.builtin.debug:
        msg: "hi {{ who }}"
    - name: touch nothing
      ansible.builtin.command: "true"
      changed_when: false
    - name: skipped one
      ansible.builtin.debug:
        msg: never
      when: false
""",
        extra_vars={"who": "berth"},
    )
    assert run.rc == 0, run.describe()
    assert run.task("say hi")["msg"] == "hi berth"
    assert run.task("skipped one")["status"] == "skipped"
    assert run.recap["localhost"]["ok"] == 2 and run.recap["localhost"]["failed"] == 0
    assert not run.changed and not run.failed and not run.exceptions


def test_cleanup_sweeps_objects_named_after_the_test(docker_client, test_images, make_name):
    from tests.support.resources import Cleanup

    prefix = make_name()
    sweeper = Cleanup(docker_client, prefix=prefix)
    net = docker_client.networks.create(make_name("net"))
    docker_client.containers.run(test_images.busybox, name=make_name("c"), detach=True, network=net.name)
    docker_client.volumes.create(make_name("vol"))
    sweeper.run()
    assert not docker_client.containers.list(all=True, filters={"name": prefix})
    assert not [n for n in docker_client.networks.list(names=[prefix]) if n.name.startswith(prefix)]
    assert not docker_client.volumes.list(filters={"name": prefix})


CRASHY = """\
#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(crash=dict(type="bool", default=True)))
    if module.params["crash"]:
        raise KeyError("kaboom")
    module.fail_json(msg="handled failure")


main()
"""


def test_callback_separates_tracebacks_from_clean_failures(tmp_path):
    (tmp_path / "berth_crashy.py").write_text(CRASHY)
    env = {"ANSIBLE_LIBRARY": str(tmp_path)}
    crashed = run_module("berth_crashy", {"crash": True}, extra_env=env)
    assert crashed["failed"] and "KeyError: 'kaboom'" in crashed["exception"]
    clean = run_module("berth_crashy", {"crash": False}, extra_env=env)
    assert clean["failed"] and clean["msg"] == "handled failure" and clean["exception"] is None


def test_playbook_loop_diff_and_no_log(tmp_path):
    run = run_playbook(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: write files
      ansible.builtin.copy:
        dest: "{tmp_path}/{{{{ item }}}}.txt"
        content: "{{{{ item }}}}\\n"
      loop: [a, b]
    - name: secret
      ansible.builtin.debug:
        msg: s3cr3t-value
      no_log: true
""",
        diff=True,
    )
    assert run.rc == 0, run.describe()
    loop = run.task("write files")
    assert loop["changed"] and len(loop["result"]["results"]) == 2
    assert all(item["diff"] for item in loop["result"]["results"])
    secret = run.task("secret")
    assert secret["result"]["_ansible_no_log"] is True and "s3cr3t-value" not in str(secret)
    assert run.recap["localhost"]["changed"] == 1
