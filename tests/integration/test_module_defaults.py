"""module_defaults for group/berth.engine.docker (meta/runtime.yml) reach the modules, against the real engine."""
from __future__ import annotations

import os

from tests.support.ansible import run_playbook

REAL_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")

PLAYBOOK = """
- name: Defaults pointing at a socket nobody listens on
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/berth.engine.docker:
      docker_host: unix://{bogus}
      timeout: 5
  tasks:
    - name: Engine info through the bogus default
      berth.engine.engine_info:
      ignore_errors: true
    - name: Engine info with docker_host given on the task
      berth.engine.engine_info:
        docker_host: {real}

- name: Defaults pointing at the real engine
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/berth.engine.docker:
      docker_host: {real}
  tasks:
    - name: Engine info through the real default
      berth.engine.engine_info:
"""


def test_group_defaults_set_docker_host(docker_client, unique_name, tmp_path):
    bogus = str(tmp_path / ("%s.sock" % unique_name))
    # DOCKER_HOST names the real engine: only the group default can send engine_info to the bogus socket.
    run = run_playbook(PLAYBOOK.format(bogus=bogus, real=REAL_HOST), extra_env={"DOCKER_HOST": REAL_HOST})
    engine_id = docker_client.info()["ID"]

    through_bogus = run.task("Engine info through the bogus default")
    assert through_bogus["failed"], run.describe()
    assert bogus in (through_bogus["msg"] or ""), through_bogus
    assert not through_bogus.get("exception"), through_bogus

    # A value on the task wins over the group default.
    on_task = run.task("Engine info with docker_host given on the task")
    assert not on_task["failed"], on_task
    assert on_task["result"]["info"]["ID"] == engine_id

    through_real = run.task("Engine info through the real default")
    assert not through_real["failed"], through_real
    assert through_real["result"]["info"]["ID"] == engine_id
    assert not os.path.exists(bogus)
