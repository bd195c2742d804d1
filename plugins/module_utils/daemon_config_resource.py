# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""daemon.json as a resource on the one contract (resource.py): the file on the host, not an engine object.

read() stats and reads the file and the data root's filesystem; the plan is daemon_config.plan (pure);
apply() writes a candidate next to the file, has dockerd --validate it, backs the old file up and renames
the candidate over it, so a refused or failed write leaves the previous file as it was.
"""

from __future__ import annotations

import os
import stat
import tempfile

from ansible_collections.berth.engine.plugins.module_utils import daemon_config as pure
from ansible_collections.berth.engine.plugins.module_utils.host_access import Host
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource, converge

# Where dockerd is looked for when validate_with is auto.
DOCKERD_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")


class DaemonJson(Resource):
    """daemon.json at params["path"]. `host` runs commands and backs files up: the AnsibleModule's
    run_command(argv), get_bin_path(name, opt_dirs=...) and backup_local(path)."""

    kind = "daemon.json"

    def __init__(self, params, check_mode=False, host=None):
        self.params = params
        self.host = host
        super().__init__(None, params, check_mode=check_mode)

    def desire(self, params):
        try:
            int(params["mode"], 8)
        except ValueError:
            raise ValueError("mode must be an octal string such as 0644, got %r" % params["mode"]) from None
        return pure.desire(params)

    def read(self, known=UNREAD):
        state = read_file(self.name)
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
        host = Host(run=self.host.run_command, which=self.host.get_bin_path)
        return host.storage(data_root, host.mounts(), {"filesystems": (), "installed": ()})

    def plan(self, state):
        return pure.plan(self.desired, state)

    def apply(self, plan, state):
        """Write (or only fix the attributes); {backup_file, validated}. Raises ValueError naming what failed."""
        try:
            if not plan.has("write"):
                self._set_attributes(self.name)
                return {"backup_file": "", "validated": False}
            return self._write(state)
        except OSError as err:
            raise ValueError("writing %s failed: %s; the previous file is unchanged" % (self.name, err)) from None

    def _write(self, state):
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
            if state["exists"] and self.params["backup"]:
                backup = self.host.backup_local(self.name)
            self._mark_restart_pending()
            os.replace(candidate, self.name)
        finally:
            if os.path.exists(candidate):
                os.unlink(candidate)
        return {"backup_file": backup, "validated": validated}

    def _mark_restart_pending(self):
        marker = self.params["restart_marker"]
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
        rc, out, err = self.host.run_command([dockerd, "--validate", "--config-file", candidate])
        if rc != 0:
            said = " ".join((err or out or "exit status %d" % rc).replace(candidate, "the new file").split())
            raise ValueError("dockerd --validate refused the new configuration, so %s was left unchanged. "
                             "dockerd said: %s" % (self.name, said))
        return True

    def _dockerd(self):
        wanted = self.params["validate_with"]
        if wanted != "auto":
            return wanted
        path = self.host.get_bin_path("dockerd", opt_dirs=list(DOCKERD_DIRS))
        if not path:
            return ""
        rc, out, err = self.host.run_command([path, "--help"])
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


def read_file(path):
    """{exists, text, mode, uid} of the file; ValueError when it cannot be read."""
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


def converge_daemon_json(module):
    """The module's result: the file converged (or, in check mode, planned), with warnings and diff."""
    resource = DaemonJson(module.params, module.check_mode, host=module)
    plan, state, done = converge(resource)
    for warning in plan.warnings:
        module.warn(warning)
    write = [a for a in plan.actions if a["action"] == "write"]
    result = dict(
        changed=plan.changed,
        path=resource.name,
        actions=plan.action_names(),
        config=resource.desired["config"],
        changed_keys=write[0]["keys"] if write else [],
        restart_needed=pure.restart_needed(plan),
        existed=state["exists"],
        backup_file=(done or {}).get("backup_file", ""),
        validated=(done or {}).get("validated", False),
    )
    if module._diff:
        result["diff"] = pure.file_diff(plan, resource.name)
    return result
