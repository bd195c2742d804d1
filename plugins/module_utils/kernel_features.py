# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the swarm's kernels have IP_VS (routing mesh, service VIPs) and ESP (encrypted overlays).

The engine accepts specs that need them on a kernel without them, reports every task running and
serves nothing; so the service and swarm_stack modules check first. The answer comes from node labels
io.berth.kernel.ip_vs / io.berth.kernel.esp when every node has them (the swarm role sets them), else
from the kernel of the host the module runs on (a manager). True, False, or None (cannot tell).
"""

from __future__ import annotations

import gzip
import os
import platform

from ansible_collections.berth.engine.plugins.module_utils.prereqs import (
    option_enabled,
    parse_kernel_config,
    parse_modules_builtin,
    parse_proc_modules,
)

FEATURES = {
    # feature: (kernel modules providing it, kernel config option, /proc entry present when it is loaded)
    "ip_vs": (("ip_vs",), "CONFIG_IP_VS", "/proc/net/ip_vs"),
    "esp": (("esp4", "esp6"), "CONFIG_INET_ESP", None),
}
LABEL_PREFIX = "io.berth.kernel."
TRUE_WORDS = ("true", "yes", "1", "y")


def from_node_labels(nodes):
    """{'ip_vs': bool, 'esp': bool, 'source': ...} from node labels, or None unless every node has both labels."""
    if not nodes:
        return None
    result = {}
    for feature in FEATURES:
        values = []
        for node in nodes:
            labels = ((node.get("Spec") or {}).get("Labels")) or {}
            if LABEL_PREFIX + feature not in labels:
                return None
            values.append(labels[LABEL_PREFIX + feature].strip().lower() in TRUE_WORDS)
        result[feature] = all(values)
    lacking = [n.get("Description", {}).get("Hostname") or n.get("ID") for n in nodes
               if any(((n.get("Spec") or {}).get("Labels") or {}).get(LABEL_PREFIX + f, "").lower() not in TRUE_WORDS
                      for f in FEATURES)]
    result["source"] = ("node labels %s* say node(s) %s lack them" % (LABEL_PREFIX, ", ".join(lacking))
                        if lacking else "node labels %s*" % LABEL_PREFIX)
    return result


def feature_present(feature, facts):
    """True/False/None for one feature from host facts (pure).

    facts: proc_entries (set of existing /proc paths), loaded (/proc/modules names or None when unreadable),
    builtin (modules.builtin names or None), loadable (module files under /lib/modules), config (parsed
    kernel config or None), modules_supported (CONFIG_MODULES, or None when unknown).
    """
    modules, option, proc_entry = FEATURES[feature]
    if proc_entry and proc_entry in facts.get("proc_entries", ()):
        return True
    known = set(facts.get("loaded") or ()) | set(facts.get("builtin") or ())
    if any(m in known for m in modules):
        return True
    config = facts.get("config")
    if config is not None and config.get(option) == "y":
        return True
    can_load = facts.get("modules_supported") is not False
    if can_load and any(m in (facts.get("loadable") or ()) for m in modules):
        return True
    if config is not None or facts.get("builtin") is not None:
        # Not built in, not loaded, and no module file that could be loaded.
        return False
    return None  # nothing readable to tell by


def _read(path, binary=False):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except OSError:
            return None
    return data if binary else data.decode("utf-8", "replace")


def _loadable_modules(release):
    base = "/lib/modules/%s" % release
    if not os.path.isdir(base):
        return None
    names = set()
    for _dir, _subdirs, files in os.walk(os.path.join(base, "kernel", "net")):
        for name in files:
            if ".ko" in name:
                names.add(name.split(".ko", 1)[0].replace("-", "_"))
    return names


def host_facts():
    """Read this host's kernel: /proc, /lib/modules, the kernel config (/proc/config.gz or /boot)."""
    release = platform.release()
    config_text = _read("/proc/config.gz") or _read("/boot/config-%s" % release)
    config = parse_kernel_config(config_text) if config_text else None
    modules_text = _read("/proc/modules")
    builtin_text = _read("/lib/modules/%s/modules.builtin" % release)
    return {
        "release": release,
        "proc_entries": {p for _m, _o, p in FEATURES.values() if p and os.path.exists(p)},
        "loaded": parse_proc_modules(modules_text) if modules_text is not None else None,
        "builtin": parse_modules_builtin(builtin_text) if builtin_text is not None else None,
        "loadable": _loadable_modules(release),
        "config": config,
        "modules_supported": None if config is None else option_enabled(config, "CONFIG_MODULES"),
    }


def from_host(facts):
    result = {feature: feature_present(feature, facts) for feature in FEATURES}
    lacking = [f for f in FEATURES if result[f] is False]
    result["source"] = ("the kernel %s of the host running the module lacks %s (and cannot load it)"
                        % (facts.get("release") or "?", " and ".join(lacking)) if lacking
                        else "the kernel of the host running the module")
    return result


def detect(nodes, facts_reader=host_facts):
    """Node labels when every node has them, else this host's kernel."""
    labelled = from_node_labels(nodes)
    if labelled is not None:
        return labelled
    return from_host(facts_reader())
