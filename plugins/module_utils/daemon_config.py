# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure part of berth.engine.daemon_config: merge, check and compare daemon.json settings.

Nothing here touches the host: values in, values (or ValueError) out, so every rule is
unit-tested without a daemon (tests/unit/test_daemon_config.py). The module reads the file,
runs `dockerd --validate` and writes.
"""

from __future__ import annotations

import difflib
import json

from ansible_collections.berth.engine.plugins.module_utils.plan import Plan
from ansible_collections.berth.engine.plugins.module_utils.prereqs import check_backing_filesystem

# dockerd's daemon.json keys (the json tags of its Config, 20.10 to 28) and the JSON type
# each must have. dockerd itself only reports "the following directives don't match" or a
# Go unmarshalling error when it starts; checking here names the key before anything is written.
KEY_TYPES = {
    "allow-direct-routing": "bool",
    "allow-nondistributable-artifacts": "list",
    "authorization-plugins": "list",
    "bip": "str",
    "bip6": "str",
    "bridge": "str",
    "builder": "dict",
    "cdi-spec-dirs": "list",
    "cgroup-parent": "str",
    "containerd": "str",
    "containerd-namespace": "str",
    "containerd-plugin-namespace": "str",
    "cpu-rt-period": "int",
    "cpu-rt-runtime": "int",
    "cri-containerd": "bool",
    "data-root": "str",
    "debug": "bool",
    "default-address-pools": "list",
    "default-cgroupns-mode": "str",
    "default-gateway": "str",
    "default-gateway-v6": "str",
    "default-ipc-mode": "str",
    "default-network-opts": "dict",
    "default-runtime": "str",
    "default-shm-size": "str",
    "default-ulimits": "dict",
    "dns": "list",
    "dns-opts": "list",
    "dns-search": "list",
    "exec-opts": "list",
    "exec-root": "str",
    "experimental": "bool",
    "features": "dict",
    "firewall-backend": "str",
    "fixed-cidr": "str",
    "fixed-cidr-v6": "str",
    "group": "str",
    "host-gateway-ip": "str",
    "host-gateway-ips": "list",
    "hosts": "list",
    "icc": "bool",
    "init": "bool",
    "init-path": "str",
    "insecure-registries": "list",
    "ip": "str",
    "ip-forward": "bool",
    "ip-forward-no-drop": "bool",
    "ip-masq": "bool",
    "ip6tables": "bool",
    "iptables": "bool",
    "ipv6": "bool",
    "labels": "list",
    "live-restore": "bool",
    "log-driver": "str",
    "log-format": "str",
    "log-level": "str",
    "log-opts": "dict",
    "max-concurrent-downloads": "int",
    "max-concurrent-uploads": "int",
    "max-download-attempts": "int",
    "metrics-addr": "str",
    "mtu": "int",
    "network-control-plane-mtu": "int",
    "no-new-privileges": "bool",
    "node-generic-resources": "list",
    "oom-score-adjust": "int",
    "pidfile": "str",
    "proxies": "dict",
    "raw-logs": "bool",
    "registry-mirrors": "list",
    "rootless": "bool",
    "runtimes": "dict",
    "seccomp-profile": "str",
    "selinux-enabled": "bool",
    "shutdown-timeout": "int",
    "storage-driver": "str",
    "storage-opts": "list",
    "swarm-default-advertise-addr": "str",
    "tls": "bool",
    "tlscacert": "str",
    "tlscert": "str",
    "tlskey": "str",
    "tlsverify": "bool",
    "userland-proxy": "bool",
    "userland-proxy-path": "str",
    "userns-remap": "str",
}

TYPE_WORDS = {"bool": "true or false", "str": "a string", "int": "an integer", "list": "a list",
              "dict": "a mapping"}
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
DEFAULT_DATA_ROOT = "/var/lib/docker"
OVERLAY_DRIVERS = ("overlay2", "overlay")
# Backing filesystems overlay2 cannot use. dockerd does not fail on them: with
# no storage-driver set it silently starts on vfs and an empty data root.
REFUSED_FILESYSTEMS = ("data_root_on_overlay", "xfs_ftype_0", "d_type_unsupported")


def as_json(value):
    return json.dumps(value, sort_keys=True)


def render(config):
    """The file's text: sorted keys, two-space indent, final newline (stable, so diffs stay small)."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def merge(defaults, overrides):
    """overrides over defaults: mappings merge key by key, other values replace; None removes the key."""
    result = {}
    for key, value in (defaults or {}).items():
        if value is not None:
            result[key] = value
    for key, value in (overrides or {}).items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        elif isinstance(value, dict):
            result[key] = merge({}, value)
        else:
            result[key] = value
    return result


def type_error(key, value, want):
    """The message for one value of the wrong JSON type, or None when it fits."""
    wrong = {
        "bool": not isinstance(value, bool),
        "str": not isinstance(value, str),
        "int": isinstance(value, bool) or not isinstance(value, int),
        "list": not isinstance(value, (list, tuple)),
        "dict": not isinstance(value, dict),
    }[want]
    if not wrong:
        return None
    return "%s must be %s, got %s" % (key, TYPE_WORDS[want], as_json(value))


def unknown_key_error(key):
    close = difflib.get_close_matches(key, list(KEY_TYPES), n=1, cutoff=0.6)
    hint = " (did you mean %s?)" % close[0] if close else ""
    return ("%s is not a daemon.json setting dockerd knows%s; if your dockerd is newer than Berth's table, "
            "set allow_unknown_keys" % (key, hint))


def problems(config, allow_unknown=False, swarm_active=False):
    """Every reason the effective configuration would be refused, as messages (empty: it is fine)."""
    found = []
    for key in sorted(config):
        value = config[key]
        want = KEY_TYPES.get(key)
        if want is None:
            if not allow_unknown:
                found.append(unknown_key_error(key))
            continue
        message = type_error(key, value, want)
        if message:
            found.append(message)
    log_opts = config.get("log-opts")
    if isinstance(log_opts, dict):
        for key in sorted(log_opts):
            if not isinstance(log_opts[key], str):
                found.append("log-opts.%s must be a string (quote it), got %s" % (key, as_json(log_opts[key])))
    level = config.get("log-level")
    if isinstance(level, str) and level not in LOG_LEVELS:
        found.append("log-level must be one of %s, got %s" % (", ".join(LOG_LEVELS), as_json(level)))
    if swarm_active and config.get("live-restore") is True:
        found.append("live-restore cannot be enabled on a swarm node (the daemon refuses to start)")
    return found


def effective_config(defaults, config, swarm_active=False):
    """What daemon.json must contain: config over defaults; on a swarm node the live-restore default goes."""
    merged = merge(defaults, config)
    if swarm_active and "live-restore" not in (config or {}):
        merged.pop("live-restore", None)
    return merged


def desire(params):
    """Validated desired state from the module's parameters. Raises ValueError listing every problem."""
    defaults, config = params.get("defaults") or {}, params.get("config") or {}
    for option, value in (("defaults", defaults), ("config", config)):
        if not isinstance(value, dict):
            raise ValueError("%s must be a mapping of daemon.json settings, got %s" % (option, as_json(value)))
    effective = effective_config(defaults, config, params.get("swarm_active", False))
    found = problems(effective, params.get("allow_unknown_keys", False), params.get("swarm_active", False))
    if found:
        raise ValueError("%s was left unchanged: %s" % (params["path"], "; ".join(found)))
    if params.get("rootless"):
        found = rootless_problems(effective)
        if found:
            raise ValueError("%s was left unchanged: %s" % (params["path"], "; ".join(found)))
    return {"name": params["path"], "config": effective, "content": render(effective),
            "mode": int(params.get("mode") or "0644", 8), "rootless": bool(params.get("rootless"))}


def parse_current(text):
    """(parsed document or None, why it could not be parsed or None) of the file's current text."""
    if text is None:
        return None, None
    if not text.strip():
        return {}, None
    try:
        document = json.loads(text)
    except ValueError as err:
        return None, "is not valid JSON (%s)" % err
    if not isinstance(document, dict):
        return None, "is not a JSON object"
    return document, None


def changed_keys(before, after):
    """Top-level keys whose value differs, compared as JSON (so true and 1 differ)."""
    before = before or {}
    return sorted(k for k in set(before) | set(after)
                  if k not in before or k not in after or as_json(before[k]) != as_json(after[k]))


def plan(desired, state):
    """Compare the desired configuration with the file as read. Pure.

    state: {"exists": bool, "text": str or None, "mode": int or None, "uid": int or None,
    "storage": the data root's filesystem (host_access.Host.storage()) or None, "owner_uid": who should own
    the file (0; a rootless engine's user), "rootless": see refuse_rootless_data_root}.
    Raises ValueError when the write would put overlay2 on a filesystem it cannot use.
    """
    result = Plan("daemon.json", desired["name"])
    current, unparseable = parse_current(state.get("text") if state.get("exists") else None)
    if unparseable:
        result.warnings.append("%s %s; it is replaced (the old file is kept as the backup)"
                               % (desired["name"], unparseable))
    same = current is not None and as_json(current) == as_json(desired["config"])
    if not same:
        keys = changed_keys(current, desired["config"]) if current is not None else sorted(desired["config"])
        refuse_storage(desired, state, keys)
        if desired.get("rootless"):
            refuse_rootless_data_root(desired, state)
        result.add("write", keys=keys, backup=bool(state.get("exists")))
        result.differ("content", render(current) if current is not None else (state.get("text") or ""),
                      desired["content"])
    elif state.get("mode") != desired["mode"] or state.get("uid") not in (None, state.get("owner_uid", 0)):
        result.add("set_attributes", mode="%04o" % desired["mode"])
    return result


def storage_target(config):
    """(data root, storage driver) the file makes dockerd use; the driver is overlay2 when dockerd picks."""
    return config.get("data-root") or DEFAULT_DATA_ROOT, config.get("storage-driver") or "overlay2"


def storage_refusals(config, storage):
    """Why overlay2 cannot run on the data root's filesystem, as "message fix" strings (empty: it can).

    storage: host_access.Host.storage() of the data root, or None when it was not read.
    """
    _data_root, driver = storage_target(config)
    if driver not in OVERLAY_DRIVERS or not storage:
        return []
    return ["%s %s" % (p["message"], p["fix"]) for p in check_backing_filesystem(storage, driver)
            if p["id"] in REFUSED_FILESYSTEMS]


def refuse_storage(desired, state, keys):
    """Raise ValueError when a write that sets up the storage would put overlay2 where it cannot run.

    Checked when the file is new or changes data-root or storage-driver: other edits of a host that
    already runs are not blocked by a filesystem the daemon has been using all along.
    """
    if state.get("exists") and not {"data-root", "storage-driver"} & set(keys):
        return
    found = storage_refusals(desired["config"], state.get("storage"))
    if found:
        raise ValueError("%s was left unchanged: %s" % (desired["name"], " ".join(found)))


def restart_needed(result):
    """A daemon restart is needed when the content changes (attributes alone do not count)."""
    return result.has("write")


def file_diff(result, path):
    """Diff mode's before/after texts of the file."""
    return {"before": result.before.get("content", ""), "after": result.after.get("content", ""),
            "before_header": "%s (before)" % path, "after_header": "%s (after)" % path}


# --------------------------------------------------------------------------
# Rootless engines (a user's ~/.config/docker/daemon.json)
# --------------------------------------------------------------------------

# Settings a rootless dockerd cannot honour, with the reason.
ROOTLESS_REFUSED = {
    "userns-remap": "userns-remap cannot be used by a rootless engine: it already runs in the user's own user "
                    "namespace (its root is the user); remove it",
    "iptables": "iptables is not a host setting for a rootless engine: its rules live in RootlessKit's network "
                "namespace behind slirp4netns and never reach the host's firewall, and false only breaks the "
                "containers' outbound traffic; remove it",
}
ROOTLESS_DATA_ROOT = "~/.local/share/docker"


def rootless_problems(config):
    """Why a rootless engine's daemon.json would be refused, as messages (empty: it is fine). Pure."""
    return [ROOTLESS_REFUSED[key] for key in sorted(ROOTLESS_REFUSED) if key in config]


def rootless_data_root_refusal(data_root, owner_uid, user_uid):
    """Why the rootless engine of user_uid cannot keep its data at data_root, whose nearest existing
    directory belongs to owner_uid; None when it can. Pure."""
    if owner_uid is None or owner_uid == user_uid:
        return None
    return ("data-root %s is on a directory owned by uid %d, not by the engine's user (uid %d): a rootless "
            "engine cannot create or chown its layers there. Use a directory the user owns (default %s)"
            % (data_root, owner_uid, user_uid, ROOTLESS_DATA_ROOT))


def refuse_rootless_data_root(desired, state):
    """Raise ValueError when the rootless engine's data root is not the user's.

    state["rootless"]: {"uid": the user's uid, "data_root_owner": uid owning the data root or its nearest
    existing parent}, read by the module.
    """
    found = state.get("rootless") or {}
    message = rootless_data_root_refusal(desired["config"].get("data-root", ROOTLESS_DATA_ROOT),
                                         found.get("data_root_owner"), found.get("uid"))
    if message:
        raise ValueError("%s was left unchanged: %s" % (desired["name"], message))
