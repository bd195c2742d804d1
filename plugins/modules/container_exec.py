#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_exec
short_description: Run a command inside a running container
version_added: 0.2.0
description:
  - Runs one command in a running container, like C(docker exec), and returns its exit code and its output with
    stdout and stderr kept apart.
  - Fails when the command exits non-zero, unless O(fail_on_rc=false); the output is in the result either way.
  - Like M(ansible.builtin.command), it reports C(changed) whenever the command ran. O(creates) and O(removes) skip the
    command when a path in the container already exists or does not exist, which makes a task idempotent without
    C(changed_when). Use C(changed_when) on the result for anything finer.
  - In check mode the command does not run; with O(creates) or O(removes) the module still reports whether it would.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  container:
    description: Name or ID of the running container.
    type: str
    required: true
  command:
    description:
      - The command, as a list of words (run as it is) or a string (split into words like a shell would, but no
        shell runs it; use C([sh, -c, "..."]) for pipes and redirections).
    type: raw
    required: true
  env:
    description: Extra environment variables for the command.
    type: dict
  user:
    description: User (and group) to run as, C(name), C(uid) or C(uid:gid). Defaults to the container's user.
    type: str
  working_dir:
    description: Directory to run in. Defaults to the container's working directory.
    type: str
  tty:
    description: Allocate a pseudo-terminal; stdout and stderr then come as one stream in RV(stdout).
    type: bool
    default: false
  privileged:
    description: Run the command with extended privileges.
    type: bool
    default: false
  detach:
    description: Start the command and return at once, without its output or exit code (RV(exec_id) identifies it).
    type: bool
    default: false
  creates:
    description: A path in the container; when it exists the command is not run.
    type: str
  removes:
    description: A path in the container; when it does not exist the command is not run.
    type: str
  fail_on_rc:
    description: Fail the task when the command exits with a non-zero code.
    type: bool
    default: true
  exec_timeout:
    description: Seconds to wait for the command to finish (the connection's O(timeout) applies otherwise).
    type: int
attributes:
  check_mode:
    support: partial
    details: The command never runs in check mode; with O(creates) or O(removes) the result says whether it would.
  diff_mode:
    support: none
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Run the database migrations once
  berth.engine.container_exec:
    container: shop-web
    command: [./manage.py, migrate, --noinput]
    user: app
    env: {DJANGO_SETTINGS_MODULE: shop.settings}
  register: migrate
  changed_when: "'No migrations to apply' not in migrate.stdout"

- name: Initialise only once
  berth.engine.container_exec:
    container: shop-db
    command: [sh, -c, "psql -f /init.sql && touch /var/lib/postgresql/data/.initialised"]
    creates: /var/lib/postgresql/data/.initialised

- name: A command whose failure is data, not an error
  berth.engine.container_exec:
    container: shop-web
    command: test -f /app/maintenance
    fail_on_rc: false
  register: maintenance
"""

RETURN = r"""
rc:
  description: Exit code of the command (null when detached or skipped).
  returned: always
  type: int
  sample: 0
stdout:
  description: What the command wrote to stdout (everything, with O(tty=true)).
  returned: always
  type: str
stderr:
  description: What the command wrote to stderr.
  returned: always
  type: str
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
exec_id:
  description: ID of the exec instance.
  returned: when the command ran
  type: str
skipped_reason:
  description: Why the command did not run (O(creates), O(removes) or check mode).
  returned: when it did not run
  type: str
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_ops import (  # noqa: E402
    command_words,
    exec_body,
    find_container,
    path_exists,
    run_exec,
)

ARGUMENT_SPEC = dict(
    container=dict(type="str", required=True),
    command=dict(type="raw", required=True),
    env=dict(type="dict"),
    user=dict(type="str"),
    working_dir=dict(type="str"),
    tty=dict(type="bool", default=False),
    privileged=dict(type="bool", default=False),
    detach=dict(type="bool", default=False),
    creates=dict(type="str"),
    removes=dict(type="str"),
    fail_on_rc=dict(type="bool", default=True),
    exec_timeout=dict(type="int"),
)


def _skip_reason(client, container, params):
    if params["creates"] and path_exists(client, container["Id"], params["creates"]):
        return "%s exists (creates)" % params["creates"]
    if params["removes"] and not path_exists(client, container["Id"], params["removes"]):
        return "%s does not exist (removes)" % params["removes"]
    return None


def _result(outcome, changed):
    # failed=False is explicit: Ansible marks any result with a non-zero or null rc as failed otherwise.
    result = dict(changed=changed, failed=False, rc=outcome.get("rc"), stdout=outcome.get("stdout", ""),
                  stderr=outcome.get("stderr", ""))
    result["stdout_lines"] = result["stdout"].splitlines()
    result["stderr_lines"] = result["stderr"].splitlines()
    for key in ("exec_id", "skipped_reason"):
        if outcome.get(key):
            result[key] = outcome[key]
    return result


def main():
    module = engine_module(ARGUMENT_SPEC)
    params = module.params

    def execute(client):
        words = command_words(params["command"])
        timeout = params["exec_timeout"]
        if timeout is not None and not 1 <= timeout <= 7 * 86400:
            raise ValueError("exec_timeout must be between 1 and 604800 seconds, got %s" % timeout)
        env = {str(k): "" if v is None else str(v) for k, v in (params["env"] or {}).items()}
        container = find_container(client, params["container"])
        reason = _skip_reason(client, container, params)
        if reason:
            return _result({"skipped_reason": reason}, False)
        if module.check_mode:
            return _result({"skipped_reason": "check mode: %s would run" % words[0]}, True)
        body = exec_body(words, env, params["user"], params["working_dir"], params["tty"], params["privileged"])
        outcome = run_exec(client, container, body, params["detach"], timeout)
        result = _result(outcome, True)
        if outcome["rc"] and params["fail_on_rc"]:
            result.pop("failed")
            module.fail_json(msg="command %s in container %s exited with %s%s" % (
                words[0], params["container"], outcome["rc"],
                (": " + outcome["stderr"].strip().splitlines()[-1]) if outcome["stderr"].strip() else ""), **result)
        return result

    run(module, execute)


if __name__ == "__main__":
    main()
