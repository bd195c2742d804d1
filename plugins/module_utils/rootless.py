# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure checks and fix planning for rootless mode (host_prereqs with rootless_users).

What a host needs before an unprivileged user can run dockerd inside a user
namespace: user namespaces the user may create, subordinate ID ranges,
setuid newuidmap/newgidmap, a systemd user manager (lingering) and, on
cgroup v2, the cpu cpuset io memory pids controllers delegated to it.
Everything here takes text or plain values: host_access.Host reads the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Controllers dockerd needs in the user's cgroup to apply resource limits.
DELEGATED_CONTROLLERS = ("cpu", "cpuset", "io", "memory", "pids")
DELEGATE_DROPIN = "/etc/systemd/system/user@.service.d/90-berth-delegate.conf"
SYSCTL_FILE = "/etc/sysctl.d/90-berth-rootless.conf"
SUBUID_FILE = "/etc/subuid"
SUBGID_FILE = "/etc/subgid"
# One user namespace needs 65536 subordinate IDs (root to nobody); shadow's
# useradd starts allocating at 100000.
SUBID_COUNT = 65536
SUBID_FLOOR = 100000
# Debian's default for a small machine; a host set to more keeps its value.
MIN_USER_NAMESPACES = 15000
USERNS_CLONE = "kernel.unprivileged_userns_clone"
MAX_USERNS = "user.max_user_namespaces"
PORT_START = "net.ipv4.ip_unprivileged_port_start"
_MANAGED = "# Managed by Ansible (berth.engine.prereqs): %s\n"
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$")


def desire(params):
    """The rootless part of the desired state; ValueError names the option."""
    users = params.get("rootless_users") or []
    for name in users:
        if not isinstance(name, str) or not _USER_NAME.match(name) or len(name) > 32:
            raise ValueError("rootless_users: %r is not a user name (lower-case letters, digits, _ . -)" % (name,))
    port = params.get("unprivileged_port_start")
    if port is not None and not (isinstance(port, int) and 0 <= port <= 65535):
        raise ValueError("unprivileged_port_start must be a port number 0-65535, got %r" % (port,))
    return {"users": list(users), "unprivileged_port_start": port}


# --------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------


def parse_passwd(text):
    """name -> uid of /etc/passwd."""
    users = {}
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[2].isdigit():
            users[fields[0]] = int(fields[2])
    return users


def parse_subids(text):
    """/etc/subuid or /etc/subgid as (owner, start, count) triples; malformed lines are skipped."""
    entries = []
    for line in (text or "").splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            entries.append((fields[0], int(fields[1]), int(fields[2])))
    return entries


def parse_delegate(text):
    """The controllers a user@.service drop-in delegates (Delegate=yes: all of them)."""
    controllers = []
    for line in (text or "").splitlines():
        key, _sep, value = line.strip().partition("=")
        if key.strip() != "Delegate":
            continue
        value = value.strip()
        if value.lower() in ("yes", "true", "1", "on"):
            controllers = list(DELEGATED_CONTROLLERS)
        elif value.lower() in ("no", "false", "0", "off", ""):
            controllers = []
        else:
            controllers = value.split()
    return controllers


def subid_count(entries, name, uid):
    """How many subordinate IDs the user owns (by name or by uid)."""
    owners = (name, str(uid))
    return sum(count for owner, _start, count in entries if owner in owners)


def next_subid_start(*tables):
    """The first ID after every range in use in any of the tables (at least SUBID_FLOOR)."""
    ends = [start + count for entries in tables for _owner, start, count in entries]
    return max([SUBID_FLOOR] + ends)


# --------------------------------------------------------------------------
# Checks: problems in host_prereqs' format (id, severity, message, fix)
# --------------------------------------------------------------------------


def _problem(pid, severity, message, fix):
    return {"id": pid, "severity": severity, "message": message, "fix": fix}


def check_userns(userns):
    """The kernel must let an unprivileged user create a user namespace."""
    if not userns.get("present"):
        return [_problem("rootless_userns_missing", "error",
                         "Rootless mode: the kernel has no user namespaces (no /proc/self/ns/user).",
                         "Use a kernel built with CONFIG_USER_NS=y.")]
    found = []
    if not userns.get("max_user_namespaces"):
        found.append(_problem("rootless_userns_disabled", "error",
                              "Rootless mode: user.max_user_namespaces is %s, so no user may create a user "
                              "namespace." % userns.get("max_user_namespaces"),
                              "Set user.max_user_namespaces to %d or more (the prereqs role does, unless "
                              "/proc/sys is read-only here)." % MIN_USER_NAMESPACES))
    if userns.get("unprivileged_userns_clone") == 0:
        found.append(_problem("rootless_userns_clone_disabled", "error",
                              "Rootless mode: kernel.unprivileged_userns_clone is 0, so only root may create "
                              "user namespaces.",
                              "Set kernel.unprivileged_userns_clone=1 (the prereqs role does, unless /proc/sys "
                              "is read-only here)."))
    return found


def check_idmap(idmap):
    """newuidmap/newgidmap (package uidmap) write the user's ID map: setuid root or with file capabilities."""
    found = []
    for tool in ("newuidmap", "newgidmap"):
        info = idmap.get(tool) or {}
        if not info.get("path"):
            found.append(_problem("rootless_%s_missing" % tool, "error",
                                  "Rootless mode: %s is not installed." % tool,
                                  "Install the uidmap package (shadow-utils on RPM distributions)."))
        elif not info.get("privileged"):
            found.append(_problem("rootless_%s_unprivileged" % tool, "error",
                                  "Rootless mode: %s is neither setuid root nor has file capabilities, so it "
                                  "cannot map the subordinate IDs." % info["path"],
                                  "Reinstall the uidmap package (chmod u+s %s)." % info["path"]))
    return found


def check_users(users, passwd, subuid, subgid):
    """Each rootless user must exist and own SUBID_COUNT subordinate UIDs and GIDs."""
    found = []
    for name in users:
        if name not in passwd:
            found.append(_problem("rootless_user_missing:%s" % name, "error",
                                  "Rootless mode: user %s does not exist." % name,
                                  "Create the user first (ansible.builtin.user), then run the role again."))
            continue
        if passwd[name] == 0:
            found.append(_problem("rootless_user_root:%s" % name, "error",
                                  "Rootless mode: %s is root; rootless mode is for unprivileged users." % name,
                                  "Name an unprivileged user in berth_rootless_users."))
            continue
        for path, table in ((SUBUID_FILE, subuid), (SUBGID_FILE, subgid)):
            have = subid_count(table, name, passwd[name])
            if have < SUBID_COUNT:
                found.append(_problem("rootless_subids_missing:%s:%s" % (name, path), "error",
                                      "Rootless mode: %s owns %d subordinate IDs in %s, fewer than %d."
                                      % (name, have, path, SUBID_COUNT),
                                      "Add a range of %d for %s after the ranges in use (the prereqs role does)."
                                      % (SUBID_COUNT, name)))
    return found


def check_session(init, cgroup, delegated):
    """A systemd user manager runs the user's dockerd; cgroup v2 with delegation applies its limits."""
    if not init.get("systemd"):
        return [_problem("rootless_no_systemd", "error",
                         "Rootless mode: PID 1 is %s, not systemd: there is no user manager to run the user's "
                         "dockerd at boot (lingering)." % init.get("pid1"),
                         "Use a host booted with systemd for rootless mode, or run the engine rootful.")]
    if cgroup.get("mode") != "unified":
        return [_problem("rootless_cgroup_v1", "warning",
                         "Rootless mode on cgroup %s: a rootless engine cannot use cgroup v1, so memory, CPU and "
                         "pids limits of its containers will not apply." % cgroup.get("mode"),
                         "Boot into cgroup v2 (berth_cgroup_v2: true with berth_allow_reboot).")]
    missing = [c for c in DELEGATED_CONTROLLERS if c not in delegated]
    if missing:
        return [_problem("rootless_controllers_not_delegated", "warning",
                         "Rootless mode: user sessions are not delegated the %s controller(s): limits that use "
                         "them will not apply." % " ".join(missing),
                         "Add Delegate=%s to a user@.service drop-in (the prereqs role writes %s)."
                         % (" ".join(DELEGATED_CONTROLLERS), DELEGATE_DROPIN))]
    return []


def evaluate(facts, init, cgroup):
    """Every rootless problem, from host_access.Host.rootless() facts and the init and cgroup facts."""
    if not facts:
        return []
    return (check_userns(facts.get("userns", {}))
            + check_idmap(facts.get("idmap", {}))
            + check_users(facts.get("users", []), facts.get("passwd", {}),
                          facts.get("subuid", []), facts.get("subgid", []))
            + check_session(init, cgroup, facts.get("delegated", [])))


# --------------------------------------------------------------------------
# Fixes (plan only)
# --------------------------------------------------------------------------


def wanted_sysctls(current, port_start=None):
    """The sysctls rootless mode sets: userns_clone only where the kernel has it; a larger max is kept."""
    wanted = {}
    if current.get(USERNS_CLONE) is not None:
        wanted[USERNS_CLONE] = "1"
    have = current.get(MAX_USERNS)
    if have is not None:
        have = int(have) if str(have).isdigit() else 0
        wanted[MAX_USERNS] = str(max(have, MIN_USER_NAMESPACES))
    if port_start is not None:
        wanted[PORT_START] = str(port_start)
    return wanted


def render_sysctls(sysctls):
    return _MANAGED % "rootless container engines." + "".join(
        "%s = %s\n" % (name, sysctls[name]) for name in sorted(sysctls))


def render_delegate():
    """user@.service drop-in: the user manager (and the user's dockerd under it) gets these controllers."""
    return (_MANAGED % "delegate cgroup controllers to rootless engines."
            + "[Service]\nDelegate=%s\n" % " ".join(DELEGATED_CONTROLLERS))


def subid_lines(users, passwd, subuid, subgid):
    """(subuid lines, subgid lines) to append: one SUBID_COUNT range per user lacking one, after every range
    in use in either file, the same start in both so that a user's UIDs and GIDs match."""
    start = next_subid_start(subuid, subgid)
    add_uid, add_gid = [], []
    for name in users:
        if name not in passwd or passwd[name] == 0:
            continue
        lacks_uid = subid_count(subuid, name, passwd[name]) < SUBID_COUNT
        lacks_gid = subid_count(subgid, name, passwd[name]) < SUBID_COUNT
        if not (lacks_uid or lacks_gid):
            continue
        line = "%s:%d:%d\n" % (name, start, SUBID_COUNT)
        if lacks_uid:
            add_uid.append(line)
        if lacks_gid:
            add_gid.append(line)
        start += SUBID_COUNT
    return add_uid, add_gid


def appended(text, lines):
    """text with lines added at its end (a missing final newline first)."""
    text = text or ""
    if lines and text and not text.endswith("\n"):
        text += "\n"
    return text + "".join(lines)


# The files fix mode may write, read beforehand to compare.
FIX_FILES = (SYSCTL_FILE, SUBUID_FILE, SUBGID_FILE, DELEGATE_DROPIN)
