#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_config
short_description: Write the Docker daemon's daemon.json, checked, atomically and with a backup
version_added: 0.2.0
description:
  - Merges O(config) over O(defaults) (mappings merge key by key, other values replace, C(null) removes a key),
    checks every key against the daemon.json settings dockerd knows and the JSON type each must have, and writes
    the result to O(path).
  - Unknown keys fail with the closest known key (unless O(allow_unknown_keys=true)); a value of the wrong type
    fails naming the key, its value and the type dockerd expects. Nothing is written then.
  - The file is compared by content, not by text, so a file that says the same in another layout is left alone.
  - A new file is written to a temporary file next to O(path), checked with C(dockerd --validate) where the
    installed dockerd has it (23.0 and later), then the old file is copied to a backup and the new one renamed
    over it.
  - Refuses a new file, or one that changes C(data-root) or C(storage-driver), when the storage driver is
    C(overlay2) (also when unset, as dockerd then picks it) and the data root's filesystem cannot carry it
    (overlayfs, xfs formatted with C(ftype=0), or another filesystem without d_type). dockerd would not fail
    there; it would start on C(vfs) and an empty data root.
  - Never restarts the daemon; RV(restart_needed) says whether a restart is due.
author:
  - Berth maintainers (!UNKNOWN)
extends_documentation_fragment:
  - berth.engine.attributes
options:
  path:
    description: The daemon's configuration file.
    type: path
    default: /etc/docker/daemon.json
  defaults:
    description: Settings the file has unless O(config) overrides them.
    type: dict
    default: {}
  config:
    description:
      - Settings merged over O(defaults). A key set to C(null) removes that default.
    type: dict
    default: {}
  allow_unknown_keys:
    description:
      - Pass keys that are not in Berth's table of dockerd settings through (for a dockerd newer than the table).
        dockerd still refuses keys it does not know.
    type: bool
    default: false
  swarm_active:
    description:
      - The daemon is a swarm node. dockerd refuses C(live-restore) there, so a C(live-restore) from O(defaults)
        is dropped and one set in O(config) fails.
    type: bool
    default: false
  validate_with:
    description:
      - The dockerd binary that checks the new file with C(--validate --config-file) before it replaces O(path).
      - V(auto) looks for dockerd and uses it when its C(--help) lists C(--validate); an empty string skips it.
    type: str
    default: auto
  backup:
    description: Copy the file being replaced to C(<path>.<pid>.<date>~) first.
    type: bool
    default: true
  mode:
    description: Permissions of the file (an octal string).
    type: str
    default: "0644"
  restart_marker:
    description:
      - A file to create just before a changed O(path) is put in place, so that a run interrupted before it
        restarts the daemon still leaves a trace that a restart is due (the runtime role removes it after the
        restart). Not created when only the file's attributes change.
    type: path
  rootless:
    description:
      - O(path) is the daemon.json of a rootless engine (C(~/.config/docker/daemon.json)), written as its user
        (C(become_user)). Refuses C(userns-remap) and C(iptables), which a rootless engine cannot honour, and a
        C(data-root) (default C(~/.local/share/docker)) whose nearest existing directory the user does not own.
      - The file belongs to the user running the module instead of root.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports what would be written; C(dockerd --validate) is not run.
  diff_mode:
    support: full
    details: Before and after are the file's JSON text, keys sorted.
"""

EXAMPLES = r"""
- name: Secure defaults with the user's settings over them
  berth.engine.daemon_config:
    defaults:
      log-driver: json-file
      log-opts: {max-size: 10m, max-file: "3"}
      live-restore: true
    config:
      log-opts: {max-size: 50m}
      registry-mirrors: [https://mirror.example.com]
  register: daemon_json

- name: Restart the daemon when the file changed
  ansible.builtin.service:
    name: docker
    state: restarted
  when: daemon_json.restart_needed
"""

RETURN = r"""
config:
  description: The configuration the file holds after the task (would hold, in check mode).
  returned: success
  type: dict
  sample: {"live-restore": true, "log-driver": "json-file", "log-opts": {"max-file": "3", "max-size": "10m"}}
path:
  description: The file.
  returned: always
  type: str
actions:
  description: What was done (in check mode, would be done), C(write) or C(set_attributes).
  returned: success
  type: list
  elements: str
changed_keys:
  description: Top-level keys whose value changes.
  returned: success
  type: list
  elements: str
restart_needed:
  description: The content changed, so the daemon must be restarted to use it.
  returned: success
  type: bool
existed:
  description: Whether the file existed before the task.
  returned: success
  type: bool
backup_file:
  description: The copy of the previous file; empty when there was nothing to back up.
  returned: success
  type: str
  sample: /etc/docker/daemon.json.1234.2026-01-01@12:00:00~
validated:
  description: Whether C(dockerd --validate) accepted the new file (false when it was not run).
  returned: success
  type: bool
"""

import os  # noqa: E402
import stat  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.berth.engine.plugins.module_utils import daemon_config as pure  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.host_facts import Host  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import Resource, converge  # noqa: E402

ARGUMENT_SPEC = dict(
    path=dict(type="path", default="/etc/docker/daemon.json"),
    defaults=dict(type="dict", default={}),
    config=dict(type="dict", default={}),
    allow_unknown_keys=dict(type="bool", default=False),
    swarm_active=dict(type="bool", default=False),
    validate_with=dict(type="str", default="auto"),
    backup=dict(type="bool", default=True),
    mode=dict(type="str", default="0644"),
    restart_marker=dict(type="path"),
    rootless=dict(type="bool", default=False),
)
DOCKERD_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")


class DaemonJson(Resource):
    """daemon.json as a resource: the file on the host instead of an engine object."""

    kind = "daemon.json"

    def __init__(self, module):
        self.module = module
        super().__init__(None, module.params, check_mode=module.check_mode)

    def desire(self, params):
        try:
            int(params["mode"], 8)
        except ValueError:
            raise ValueError("mode must be an octal string such as 0644, got %r" % params["mode"]) from None
        return pure.desire(params)

    def read(self, known=None):
        state = self._read_file(self.name)
        state["storage"] = self._read_storage()
        state["owner_uid"] = os.geteuid() if self.desired["rootless"] else 0
        if self.desired["rootless"]:
            data_root = os.path.expanduser(self.desired["config"].get("data-root", pure.ROOTLESS_DATA_ROOT))
            state["rootless"] = {"uid": os.geteuid(), "data_root_owner": _owner_of_nearest(data_root)}
        return state

    def _read_storage(self):
        """The data root's filesystem, for the overlay2 drivers only (others do not care)."""
        data_root, driver = pure.storage_target(self.desired["config"])
        if driver not in pure.OVERLAY_DRIVERS:
            return None
        host = Host(run=self.module.run_command, which=self.module.get_bin_path)
        return host.storage(data_root, host.mounts(), {"filesystems": (), "installed": ()})

    @staticmethod
    def _read_file(path):
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return {"exists": False, "text": None, "mode": None, "uid": None}
        except OSError as err:
            raise ValueError("cannot read %s: %s" % (path, err.strerror)) from None
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError as err:
            raise ValueError("cannot read %s: %s" % (path, err.strerror)) from None
        return {"exists": True, "text": text, "mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid}

    def plan(self, state):
        return pure.plan(self.desired, state)

    def apply(self, plan, state):
        if not plan.has("write"):
            self._set_attributes(self.name)
            return {"backup_file": "", "validated": False}
        directory = os.path.dirname(self.name) or "."
        os.makedirs(directory, mode=0o755, exist_ok=True)
        handle, candidate = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(self.name))
        try:
            with os.fdopen(handle, "w") as out:
                out.write(self.desired["content"])
                out.flush()
                os.fsync(out.fileno())
            self._set_attributes(candidate)
            validated = self._validate(candidate)
            backup = ""
            if state["exists"] and self.module.params["backup"]:
                backup = self.module.backup_local(self.name)
            self._mark_restart_pending()
            os.replace(candidate, self.name)
        finally:
            if os.path.exists(candidate):
                os.unlink(candidate)
        return {"backup_file": backup, "validated": validated}

    def _mark_restart_pending(self):
        marker = self.module.params["restart_marker"]
        if marker:
            os.makedirs(os.path.dirname(marker) or ".", mode=0o755, exist_ok=True)
            with open(marker, "w") as out:
                out.write("%s changed; daemon restart pending\n" % self.name)

    def _set_attributes(self, path):
        os.chmod(path, self.desired["mode"])
        if os.geteuid() == 0:
            os.chown(path, 0, 0)

    def _validate(self, candidate):
        """Run dockerd --validate on the candidate; a refusal fails before the live file is touched."""
        dockerd = self._dockerd()
        if not dockerd:
            return False
        rc, out, err = self.module.run_command([dockerd, "--validate", "--config-file", candidate])
        if rc != 0:
            said = " ".join((err or out or "exit status %d" % rc).replace(candidate, "the new file").split())
            raise ValueError("dockerd --validate refused the new configuration, so %s was left unchanged. "
                             "dockerd said: %s" % (self.name, said))
        return True

    def _dockerd(self):
        wanted = self.module.params["validate_with"]
        if wanted != "auto":
            return wanted
        path = self.module.get_bin_path("dockerd", opt_dirs=list(DOCKERD_DIRS))
        if not path:
            return ""
        rc, out, err = self.module.run_command([path, "--help"])
        return path if "--validate" in (out or "") + (err or "") else ""


def _owner_of_nearest(path):
    """uid owning path or its nearest existing parent."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and path != "/":
        path = os.path.dirname(path)
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    path = module.params["path"]
    failure = None
    try:
        resource = DaemonJson(module)
        plan, state, done = converge(resource)
    except ValueError as err:  # refused settings, or dockerd --validate said no
        failure = str(err)
    except OSError as err:
        failure = "writing %s failed: %s; the previous file is unchanged" % (path, err)
    if failure:
        # Outside the except block, so ansible-core attaches no traceback to a handled error.
        module.fail_json(msg=failure, path=path)
    for warning in plan.warnings:
        module.warn(warning)
    write = [a for a in plan.actions if a["action"] == "write"]
    result = dict(
        changed=plan.changed,
        path=path,
        actions=plan.action_names(),
        config=resource.desired["config"],
        changed_keys=write[0]["keys"] if write else [],
        restart_needed=pure.restart_needed(plan),
        existed=state["exists"],
        backup_file=(done or {}).get("backup_file", ""),
        validated=(done or {}).get("validated", False),
    )
    if module._diff:
        result["diff"] = pure.file_diff(plan, path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
