#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: runtime_facts
short_description: Everything the runtime role decides on, read in one call without changing anything
version_added: 0.2.0
description:
  - Reads, in one module run, what the C(berth.engine.runtime) role needs to decide what to do on a host - the
    installed engine packages and their versions, whether systemd runs the host and the state of the engine's
    units, whether the daemon answers on O(docker_host) and what it reports, the current daemon.json, the
    docker unit's drop-ins and C(/etc/default/docker), where dockerd is and whether it has C(--validate), which
    of O(paths) exist (the files the role's audit rules watch), and whether an earlier run left a daemon restart
    pending.
  - O(gather) limits the reading to the parts asked for.
  - With O(wait), waits until the daemon answers C(/_ping) (after a restart).
  - Never changes anything.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  gather:
    description: The parts to read.
    type: list
    elements: str
    choices: [packages, service, daemon, dockerd, files, paths]
    default: [packages, service, daemon, dockerd, files, paths]
  packages:
    description: Packages to look up (with C(dpkg-query) or C(rpm)); only installed ones are returned.
    type: list
    elements: str
    default: []
  commands:
    description: Commands to look for in the PATH and the sbin directories.
    type: list
    elements: str
    default: []
  paths:
    description:
      - Paths to look for; the existing ones are returned in RV(paths) with the file each resolves to.
      - A dangling symbolic link does not exist.
    type: list
    elements: path
    default: []
  wait:
    description: Seconds to wait for the daemon to answer C(/_ping); V(0) asks once.
    type: int
    default: 0
  daemon_json:
    description: The daemon's configuration file.
    type: path
    default: /etc/docker/daemon.json
  dropin_dir:
    description: The directory of docker.service's systemd drop-ins.
    type: path
    default: /etc/systemd/system/docker.service.d
  sysv_defaults:
    description: The init script's settings file.
    type: path
    default: /etc/default/docker
  restart_marker:
    description: The file the runtime role leaves while a daemon restart is pending.
    type: path
    default: /var/lib/berth/runtime-restart-pending
attributes:
  check_mode:
    support: full
    details: Runs the same in check mode; it never changes anything.
  diff_mode:
    support: full
    details: There is never a difference to show.
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the engine's state on the host
  berth.engine.runtime_facts:
    packages: [docker.io, docker-ce, containerd]
    timeout: 5
  register: runtime

- name: Show the daemon's version
  ansible.builtin.debug:
    msg: "{{ runtime.daemon.version if runtime.daemon.reachable else 'no daemon' }}"

- name: Find which of the engine's binaries exist, and the files they are
  berth.engine.runtime_facts:
    gather: [paths]
    paths: [/usr/bin/dockerd, /usr/sbin/dockerd, /usr/bin/runc, /usr/sbin/runc]
  register: binaries

- name: Wait up to 90 s for the daemon after a restart
  berth.engine.runtime_facts:
    gather: [daemon]
    wait: 90
"""

RETURN = r"""
packages:
  description: Installed packages among O(packages), with their versions.
  returned: when O(gather) has C(packages)
  type: dict
  sample: {"docker.io": "20.10.24+dfsg1-1+deb12u1", "containerd": "1.6.20~ds1-1+deb12u1"}
commands:
  description: Where each of O(commands) is, or an empty string.
  returned: when O(gather) has C(packages)
  type: dict
systemd:
  description: Whether systemd runs the host (C(/run/systemd/system) exists).
  returned: when O(gather) has C(service)
  type: bool
units:
  description: containerd.service, docker.socket and docker.service with C(load) (C(loaded), C(not-found)),
    C(enabled) (the unit file state) and C(active) states; empty without systemd.
  returned: when O(gather) has C(service)
  type: dict
exec_start:
  description: The command line systemd starts dockerd with (docker.service's ExecStart), or an empty string.
  returned: when O(gather) has C(service)
  type: str
  sample: /usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
daemon:
  description: What the daemon answered.
  returned: when O(gather) has C(daemon)
  type: dict
  contains:
    reachable:
      description: Whether it answered C(/_ping).
      type: bool
    version:
      description: Engine version.
      type: str
    api_version:
      description: Newest API version it speaks.
      type: str
    live_restore:
      description: Whether live-restore is on.
      type: bool
    swarm:
      description: Swarm state (C(inactive), C(active) ...).
      type: str
    storage_driver:
      description: Storage driver.
      type: str
    error:
      description: Why it did not answer.
      type: str
dockerd:
  description: C(path) of dockerd (empty when there is none) and C(validate), whether it has C(--validate).
  returned: when O(gather) has C(dockerd)
  type: dict
daemon_json:
  description: C(exists), C(content) (the parsed document, or null when it is not valid JSON) and C(text).
  returned: when O(gather) has C(files)
  type: dict
dropins:
  description: docker.service's drop-ins in O(dropin_dir), file name to content.
  returned: when O(gather) has C(files)
  type: dict
sysv_defaults:
  description: The content of O(sysv_defaults), or an empty string.
  returned: when O(gather) has C(files)
  type: str
sysv_opts:
  description: The last C(DOCKER_OPTS=) line of O(sysv_defaults), or an empty string.
  returned: when O(gather) has C(files)
  type: str
paths:
  description: The existing ones among O(paths), in their order, each with the file it resolves to (symbolic
    links followed, as C(readlink -f) does); two paths of one file (merged C(/usr)) have the same value.
  returned: when O(gather) has C(paths)
  type: dict
  sample:
    /usr/sbin/dockerd: /usr/sbin/dockerd
    /lib/systemd/system/docker.service: /usr/lib/systemd/system/docker.service
    /usr/lib/systemd/system/docker.service: /usr/lib/systemd/system/docker.service
restart_pending:
  description: Whether O(restart_marker) exists.
  returned: always
  type: bool
"""

import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

from ansible_collections.berth.engine.plugins.module_utils.common import client_for, engine_module  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint  # noqa: E402

PARTS = ["packages", "service", "daemon", "dockerd", "files", "paths"]
ARGUMENT_SPEC = dict(
    gather=dict(type="list", elements="str", choices=PARTS, default=list(PARTS)),
    packages=dict(type="list", elements="str", default=[]),
    commands=dict(type="list", elements="str", default=[]),
    paths=dict(type="list", elements="path", default=[]),
    wait=dict(type="int", default=0),
    daemon_json=dict(type="path", default="/etc/docker/daemon.json"),
    dropin_dir=dict(type="path", default="/etc/systemd/system/docker.service.d"),
    sysv_defaults=dict(type="path", default="/etc/default/docker"),
    restart_marker=dict(type="path", default="/var/lib/berth/runtime-restart-pending"),
)
UNITS = ["containerd.service", "docker.socket", "docker.service"]
SBIN_DIRS = ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"]


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def installed_packages(module, names):
    """{name: version} of the installed ones among names (one dpkg-query or rpm call)."""
    if not names:
        return {}
    if module.get_bin_path("dpkg-query"):
        argv = ["dpkg-query", "-W", "-f", "${db:Status-Status} ${Package} ${Version}\\n"] + names
        _unused, out, _unused = module.run_command(argv)  # non-zero when some are unknown: expected
        return parse_dpkg(out)
    if module.get_bin_path("rpm"):
        _unused, out, _unused = module.run_command(["rpm", "-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n"] + names)
        return parse_rpm(out, names)
    return {}


def parse_dpkg(out):
    """dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}' lines -> {package: version} if installed."""
    rows = [line.split(" ", 2) for line in out.splitlines()]
    return {r[1]: r[2] for r in rows if len(r) == 3 and r[0] == "installed"}


def parse_rpm(out, names):
    """rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}' lines; unknown ones say 'package x is not installed'."""
    rows = [line.split(" ") for line in out.splitlines()]
    return {r[0]: r[1] for r in rows if len(r) == 2 and r[0] in names}


def service_state(module):
    """systemd or not, the engine units' states and dockerd's command line, from one systemctl call."""
    if not os.path.isdir("/run/systemd/system"):
        return dict(systemd=False, units={}, exec_start="")
    _unused, out, _unused = module.run_command(
        ["systemctl", "show", "--property=Id,LoadState,UnitFileState,ActiveState,ExecStart"] + UNITS)
    return dict(systemd=True, **parse_systemctl_show(out))


def parse_systemctl_show(out):
    """systemctl show of several units (blank-line separated blocks) -> units' states and dockerd's argv."""
    units, exec_start = {}, ""
    for block in out.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit = props.get("Id", "")
        if not unit:
            continue
        units[unit] = {"load": props.get("LoadState", ""), "enabled": props.get("UnitFileState", ""),
                       "active": props.get("ActiveState", "")}
        if unit == "docker.service":
            match = re.search(r"argv\[\]=([^;]*)", props.get("ExecStart", ""))
            exec_start = match.group(1).strip() if match else ""
    return dict(units=units, exec_start=exec_start)


def daemon_state(module, wait):
    """Ask the daemon, through the collection's one engine client; with wait, until it answers."""
    deadline = time.monotonic() + max(wait, 0)
    while True:
        client = client_for(module.params)
        try:
            client.get(endpoint("_ping"))
            version = client.get(endpoint("version")) or {}
            info = client.get(endpoint("info")) or {}
        except EngineError as err:
            if time.monotonic() < deadline:
                time.sleep(1)
                continue
            return dict(reachable=False, error=str(err))
        return dict(reachable=True, version=version.get("Version", ""), api_version=version.get("ApiVersion", ""),
                    live_restore=bool(info.get("LiveRestoreEnabled")),
                    swarm=(info.get("Swarm") or {}).get("LocalNodeState", "inactive"),
                    storage_driver=info.get("Driver", ""))


def dockerd_state(module):
    path = module.get_bin_path("dockerd", opt_dirs=SBIN_DIRS) or ""
    validate = False
    if path:
        _unused, out, err = module.run_command([path, "--help"])
        validate = "--validate" in out + err
    return dict(path=path, validate=validate)


def file_state(params):
    text = read_text(params["daemon_json"])
    try:
        content = json.loads(text) if text and text.strip() else ({} if text is not None else None)
    except ValueError:
        content = None
    dropins = {}
    for path in sorted(glob.glob(os.path.join(params["dropin_dir"], "*.conf"))):
        dropins[os.path.basename(path)] = read_text(path) or ""
    defaults = read_text(params["sysv_defaults"]) or ""
    opts = [line.strip() for line in defaults.splitlines() if re.match(r"^\s*DOCKER_OPTS=", line)]
    return dict(daemon_json=dict(exists=text is not None, content=content, text=text or ""),
                dropins=dropins, sysv_defaults=defaults, sysv_opts=opts[-1] if opts else "")


def existing_paths(paths):
    """{path: the file it resolves to} for the ones among paths that exist, in their order."""
    return {path: os.path.realpath(path) for path in paths if os.path.exists(path)}


def gather(module):
    params = module.params
    wanted = set(params["gather"])
    result = dict(changed=False, restart_pending=os.path.exists(params["restart_marker"]))
    if "packages" in wanted:
        result["packages"] = installed_packages(module, params["packages"])
        result["commands"] = {name: module.get_bin_path(name, opt_dirs=SBIN_DIRS) or ""
                              for name in params["commands"]}
    if "service" in wanted:
        result.update(service_state(module))
    if "daemon" in wanted:
        result["daemon"] = daemon_state(module, params["wait"])
    if "dockerd" in wanted:
        result["dockerd"] = dockerd_state(module)
    if "files" in wanted:
        result.update(file_state(params))
    if "paths" in wanted:
        result["paths"] = existing_paths(params["paths"])
    return result


def main():
    module = engine_module(ARGUMENT_SPEC)
    failure = None
    try:
        result = gather(module)
    except (EngineError, ValueError, OSError) as err:
        failure = "reading the runtime's state failed: %s" % err
    if failure:
        module.fail_json(msg=failure)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
