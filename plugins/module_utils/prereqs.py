# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing, validation, checks and fix planning for berth.engine.host_prereqs.

Every function here takes text or plain values and returns plain values:
nothing reads the host, so the whole file is unit-testable without root
(tests/unit/test_prereqs*.py). host_access.py reads the host and applies the
fix plan; the role acts on the problems that remain.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.berth.engine.plugins.module_utils import rootless as rl
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan
from ansible_collections.berth.engine.plugins.module_utils.prereqs_parse import (  # noqa: F401 re-exported  # pylint: disable=unused-import
    CGROUP_V2_PARAM,
    DEFAULT_SYSCTLS,
    SEVERITIES,
    V2_CONTROLLERS,
    WHY_WARNING,
    bootloader_kind,
    cgroup_layout,
    detect_container,
    dtype_support,
    kernel_version_tuple,
    missing_kernel_options,
    module_status,
    mount_for_path,
    normalize_sysctl_value,
    option_enabled,
    parse_cmdline,
    parse_filesystems,
    parse_kernel_config,
    parse_modules_builtin,
    parse_modules_dep,
    parse_mounts,
    parse_proc_modules,
    parse_xfs_ftype,
    read_kernel_config_bytes,
    required_kernel_options,
)

# --------------------------------------------------------------------------
# Validation of the parameters (before anything is read)
# --------------------------------------------------------------------------

# A sysctl name becomes a path under /proc/sys: dotted words only, so it can
# never climb out of it (no '/', no empty part, hence no '..').
_SYSCTL_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
# A module name becomes a modprobe argument: no leading '-', which modprobe would take as an option.
_MODULE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_KERNEL_OPTION = re.compile(r"^[A-Za-z0-9_]+$")


def check_path_option(value, option, required=False):
    """An absolute path without NUL bytes (os calls raise on them), or None when not given."""
    if value in (None, ""):
        if required:
            raise ValueError("%s is required: give an absolute path" % option)
        return None
    if not isinstance(value, str) or "\0" in value or "\n" in value:
        raise ValueError("%s must be a path without NUL bytes or newlines, got %r" % (option, value))
    if not value.startswith("/"):
        raise ValueError("%s must be an absolute path, got %r" % (option, value))
    return value


def check_sysctl_name(name, option="sysctls"):
    if not isinstance(name, str) or not _SYSCTL_NAME.match(name):
        raise ValueError(
            "%s: invalid sysctl name %r: use dotted names such as net.ipv4.ip_forward (letters, digits, '_', "
            "'-' between dots; no '/', no empty part)" % (option, name)
        )
    return name


def check_sysctl_value(name, value, option="sysctls"):
    """The value as text; one line, since it is written to /proc/sys and into the persisted file."""
    if isinstance(value, (bool, dict, list)) or value is None:
        raise ValueError("%s.%s must be a number or a string, got %r" % (option, name, value))
    text = str(value).strip()
    if not text or any(c in text for c in "\0\n\r"):
        raise ValueError("%s.%s must be a non-empty single-line value, got %r" % (option, name, value))
    return text


def check_module_name(name, option="kernel_modules"):
    if not isinstance(name, str) or not _MODULE_NAME.match(name):
        raise ValueError(
            "%s: invalid kernel module name %r: use letters, digits, '_' and '-' (not first), as in br_netfilter"
            % (option, name)
        )
    return name


def check_kernel_option(name, option="extra_kernel_options"):
    if not isinstance(name, str) or not _KERNEL_OPTION.match(name):
        raise ValueError("%s: invalid kernel option %r: use a name such as CONFIG_VXLAN or VXLAN" % (option, name))
    return name if name.startswith("CONFIG_") else "CONFIG_" + name


def desire(params):
    """Validate the module parameters into the desired state; ValueError names the option."""
    sysctls = params.get("sysctls")
    sysctls = DEFAULT_SYSCTLS if sysctls is None else sysctls
    if not isinstance(sysctls, dict):
        raise ValueError("sysctls must be a mapping of sysctl name to value, got %r" % (sysctls,))
    modules = params.get("kernel_modules")
    modules = ["overlay", "br_netfilter"] if modules is None else modules
    fix = bool(params.get("fix"))
    return {
        "name": "host",
        "data_root": check_path_option(params.get("data_root") or "/var/lib/docker", "data_root"),
        "storage_driver": params.get("storage_driver") or "overlay2",
        "kernel_modules": [check_module_name(m) for m in modules],
        "sysctls": dict((check_sysctl_name(k), check_sysctl_value(k, v)) for k, v in sysctls.items()),
        "cgroup_v2": params.get("cgroup_v2", True) is not False,
        "extra_kernel_options": [check_kernel_option(o) for o in params.get("extra_kernel_options") or []],
        "kernel_config_path": check_path_option(params.get("kernel_config_path"), "kernel_config_path"),
        "fix": fix,
        "modules_load_file": check_path_option(
            params.get("modules_load_file") or MODULES_LOAD_FILE, "modules_load_file", required=fix
        ),
        "sysctl_file": check_path_option(params.get("sysctl_file") or SYSCTL_FILE, "sysctl_file", required=fix),
        "rootless": rl.desire(params),
    }


# --------------------------------------------------------------------------
# Swarm kernel features (moby check-config.sh, swarm section)
# --------------------------------------------------------------------------

# option -> (module that provides it, option it is compiled into). Bool
# sub-options (NFCT, PROTO_*) have no module: they are part of ip_vs.
SWARM_OPTIONS = (
    ("CONFIG_IP_VS", "ip_vs", None),
    ("CONFIG_IP_VS_NFCT", None, "CONFIG_IP_VS"),
    ("CONFIG_IP_VS_PROTO_TCP", None, "CONFIG_IP_VS"),
    ("CONFIG_IP_VS_PROTO_UDP", None, "CONFIG_IP_VS"),
    ("CONFIG_IP_VS_RR", "ip_vs_rr", None),
    ("CONFIG_VXLAN", "vxlan", None),
    ("CONFIG_INET_ESP", "esp4", None),
    ("CONFIG_XFRM_USER", "xfrm_user", None),
    ("CONFIG_CRYPTO_GCM", "gcm", None),
)
SWARM_DERIVED = (
    ("routing_mesh", ("CONFIG_IP_VS", "CONFIG_IP_VS_NFCT", "CONFIG_IP_VS_PROTO_TCP", "CONFIG_IP_VS_PROTO_UDP",
                      "CONFIG_IP_VS_RR")),
    ("vip", ("CONFIG_IP_VS",)),
    ("overlay", ("CONFIG_VXLAN",)),
    ("encrypted_overlay", ("CONFIG_INET_ESP", "CONFIG_XFRM_USER", "CONFIG_CRYPTO_GCM")),
)


def _module_option_status(value, module, loaded, builtin, available):
    """builtin | module | missing | unknown for an option provided by a module."""
    if value == "y" or module in builtin:
        return "builtin"
    if module in loaded or module in available:
        return "module"
    if value is None:
        return "unknown"
    # =m without the module file installed is as good as missing.
    return "missing"


def swarm_features(kernel_config, loaded_modules, builtin_modules, available_modules):
    """What this kernel offers swarm: per option builtin | module | missing | unknown, and derived booleans.

    kernel_config: the dict from parse_kernel_config, or None when no config
    is readable (then only module evidence counts and the rest is unknown);
    loaded_modules: /proc/modules names; builtin_modules: modules.builtin
    names; available_modules: names installed under /lib/modules (modules.dep).
    A derived boolean is None when one of its options is unknown and none is missing.
    """
    loaded, builtin, available = set(loaded_modules or ()), set(builtin_modules or ()), set(available_modules or ())
    config = kernel_config
    options = {}
    for option, module, parent in SWARM_OPTIONS:
        value = None if config is None else config.get(option, "n")
        if module:
            status = _module_option_status(value, module, loaded, builtin, available)
            options[option] = {"status": status, "module": module, "loaded": module in loaded}
            continue
        parent_status = options[parent]["status"]
        if value is None:
            status = parent_status if parent_status == "missing" else "unknown"
        else:
            status = parent_status if value in ("y", "m") else "missing"
        options[option] = {"status": status, "module": None, "loaded": options[parent]["loaded"]}
    result = {"options": options}
    for feature, needed in SWARM_DERIVED:
        statuses = [options[o]["status"] for o in needed]
        if "missing" in statuses:
            result[feature] = False
        elif "unknown" in statuses:
            result[feature] = None
        else:
            result[feature] = True
    return result


# --------------------------------------------------------------------------
# Checks: one pure function per area, each returning a list of problems
# --------------------------------------------------------------------------


def problem(pid, severity, message, fix):
    """One problem record. severity is error | warning | info."""
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r" % severity)
    return {"id": pid, "severity": severity, "message": message, "fix": fix}


def check_kernel_version(kernel):
    release = kernel.get("release")
    version = kernel_version_tuple(release)
    if version < (3, 10, 0):
        return [
            problem(
                "kernel_too_old",
                "error",
                "Kernel %s is older than 3.10, the oldest the engine supports." % release,
                "Upgrade the kernel (e.g. the distribution's current kernel package) and reboot.",
            )
        ]
    if version < (4, 0, 0):
        return [
            problem(
                "kernel_old",
                "warning",
                "Kernel %s is older than 4.0: overlay2 and current engines do not support it." % release,
                "Upgrade to a 4.x or newer kernel.",
            )
        ]
    return []


def check_kernel_options(kernel):
    if not kernel.get("config_readable"):
        return [
            problem(
                "kernel_config_unreadable",
                "info",
                "Kernel config not readable (no /proc/config.gz, no /boot/config-%s): "
                "kernel options were not checked." % kernel.get("release"),
                "Nothing required; to check options, load the configs module "
                "(modprobe configs) or install the kernel's config file in /boot.",
            )
        ]
    problems = []
    for name, sev in kernel.get("missing_options", []):
        why = WHY_WARNING.get(name)
        problems.append(
            problem(
                "kernel_option_missing:%s" % name,
                sev,
                "Kernel option %s is not enabled (read from %s)%s."
                % (name, kernel.get("config_source"), (": " + why) if why else ""),
                "Use a kernel built with %s=y or =m (the distribution's generic "
                "kernel has it); this cannot be changed without a new kernel." % name,
            )
        )
    return problems


def _cgroup_v2_fix(in_container, bootloader_type):
    if in_container:
        return "The cgroup mode is the container host's: change it on the host that runs this container."
    if bootloader_type == "none":
        return (
            "No bootloader Berth can configure was found: boot the kernel with %s=1 through whatever "
            "starts this machine (hypervisor, firmware), or set berth_cgroup_v2: false." % CGROUP_V2_PARAM
        )
    return (
        "Add %s=1 to the kernel command line and reboot (the prereqs role does this with "
        "berth_cgroup_v2: true and berth_allow_reboot: true)." % CGROUP_V2_PARAM
    )


def check_cgroup_mode(cgroup, want_cgroup_v2, in_container, bootloader_type):
    mode = cgroup.get("mode")
    if mode == "none":
        return [
            problem(
                "cgroup_not_mounted",
                "error",
                "No cgroup hierarchy is mounted under /sys/fs/cgroup.",
                "Mount cgroup2 at /sys/fs/cgroup (systemd does it at boot), or "
                "install cgroupfs-mount on a host without systemd.",
            )
        ]
    if mode == "unified" or not want_cgroup_v2:
        return []
    v2 = cgroup.get("v2_mountpoint")
    return [
        problem(
            "cgroup_v2_disabled",
            "warning",
            "The cgroup mode is %s (cgroup v1 controllers%s), not unified cgroup v2."
            % (mode, ", cgroup2 at %s" % v2 if v2 else ""),
            _cgroup_v2_fix(in_container, bootloader_type),
        )
    ]


def check_cgroup_controllers(cgroup):
    if cgroup.get("mode") != "unified":
        return []
    have = set(cgroup.get("v2_controllers") or [])
    return [
        problem(
            "cgroup_v2_controller_missing:%s" % c,
            "warning",
            "The cgroup v2 controller %s is not available at %s: limits using it will be ignored or rejected."
            % (c, cgroup.get("v2_mountpoint")),
            "Enable the controller in the kernel, or delegate it to this cgroup (cgroup.subtree_control) "
            "when running nested.",
        )
        for c in V2_CONTROLLERS
        if c not in have
    ]


def check_overlay(storage, storage_driver):
    if storage_driver not in ("overlay2", "overlay") or storage.get("overlay_supported"):
        return []
    return [
        problem(
            "overlay_unavailable",
            "error",
            "overlayfs is neither in /proc/filesystems nor loadable: the %s storage driver cannot work."
            % storage_driver,
            "Load the overlay module (modprobe overlay, persisted by the prereqs role) or use a kernel "
            "with CONFIG_OVERLAY_FS.",
        )
    ]


def check_backing_filesystem(storage, storage_driver):
    """overlay2 cannot stack on overlayfs and needs d_type (xfs: ftype=1)."""
    if storage_driver not in ("overlay2", "overlay"):
        return []
    fstype = storage.get("fstype")
    data_root = storage.get("data_root")
    problems = []
    if fstype == "overlay":
        problems.append(
            problem(
                "data_root_on_overlay",
                "error",
                "The data root %s is on an overlay filesystem: %s cannot stack on overlayfs."
                % (data_root, storage_driver),
                "Mount a volume (ext4, xfs with ftype=1, or a container volume) at the data root.",
            )
        )
    if fstype == "xfs" and storage.get("xfs_ftype") == 0:
        problems.append(
            problem(
                "xfs_ftype_0",
                "error",
                "The data root %s is on xfs formatted with ftype=0 (no d_type support): %s refuses it."
                % (data_root, storage_driver),
                "Reformat the filesystem with mkfs.xfs -n ftype=1 (or put the data root on another filesystem).",
            )
        )
    elif storage.get("d_type") is None and fstype:
        problems.append(
            problem(
                "d_type_unknown",
                "warning",
                "Could not tell whether %s (%s) supports d_type." % (storage.get("path_checked"), fstype),
                "Use ext4, or xfs with ftype=1, for the data root.",
            )
        )
    elif storage.get("d_type") is False and fstype != "xfs":
        problems.append(
            problem(
                "d_type_unsupported",
                "error",
                "The filesystem %s under the data root does not support d_type." % fstype,
                "Use ext4, or xfs with ftype=1, for the data root.",
            )
        )
    return problems


def check_kernel_modules(modules, names=None):
    """modules: facts['kernel_modules']; names: the modules asked for (default: all reported)."""
    problems = []
    for name in names if names is not None else sorted(modules):
        status = modules.get(name)
        if status is None or status.get("available"):
            continue
        problems.append(
            problem(
                "kernel_module_missing:%s" % name,
                "warning",
                "Kernel module %s is not loaded or built in." % name,
                "modprobe %s and list it in /etc/modules-load.d/ (the prereqs role does both)." % name,
            )
        )
    return problems


def check_sysctls(current, wanted):
    """current: name -> value read (None when absent); wanted: name -> value."""
    problems = []
    for name in sorted(wanted):
        want = normalize_sysctl_value(wanted[name])
        have = current.get(name)
        if have is None:
            fix = "Load br_netfilter (modprobe br_netfilter)" if name.startswith("net.bridge.") else (
                "Load the module that provides it")
            problems.append(
                problem(
                    "sysctl_missing:%s" % name,
                    "warning",
                    "The sysctl %s does not exist on this host." % name,
                    fix + ", then set %s=%s in /etc/sysctl.d/." % (name, want),
                )
            )
        elif normalize_sysctl_value(have) != want:
            problems.append(
                problem(
                    "sysctl_mismatch:%s" % name,
                    "warning",
                    "The sysctl %s is %s, Berth wants %s." % (name, have, want),
                    "sysctl -w %s=%s and persist it in /etc/sysctl.d/ (the prereqs role does both)." % (name, want),
                )
            )
    return problems


def check_firewall(firewall):
    if firewall.get("iptables"):
        return []
    return [
        problem(
            "iptables_missing",
            "error",
            "No iptables command: the engine programs container networking with it.",
            "Install the iptables package (apt-get install iptables / dnf install iptables-nft).",
        )
    ]


def check_userns(userns):
    """User namespaces only matter for userns-remap and rootless mode: information."""
    if userns.get("supported"):
        return []
    return [
        problem(
            "userns_unavailable",
            "info",
            "User namespaces are not available (max_user_namespaces=%s)." % userns.get("max_user_namespaces"),
            "Only needed for userns-remap or rootless mode: enable CONFIG_USER_NS "
            "and set user.max_user_namespaces > 0.",
        )
    ]


def check_init(init):
    if init.get("systemd"):
        return []
    return [
        problem(
            "pid1_not_systemd",
            "info",
            "PID 1 is %s, not systemd: services are managed through init scripts." % init.get("pid1"),
            "Nothing required; the runtime role uses /etc/init.d/docker here.",
        )
    ]


def check_container_host(container):
    if not container.get("is_container"):
        return []
    return [
        problem(
            "host_is_container",
            "info",
            "This host looks like a container (%s): its kernel, boot parameters and some sysctls belong "
            "to the machine outside." % "; ".join(container.get("evidence", [])),
            "Nothing to do here; change kernel settings on the outer host.",
        )
    ]


def check_bootloader(bootloader):
    if bootloader.get("type", "none") != "none":
        return []
    return [
        problem(
            "no_bootloader",
            "info",
            "No bootloader configuration Berth can edit (grub or grubby): the "
            "kernel command line cannot be changed from this host.",
            "Change boot parameters where this machine is defined (hypervisor, cloud image, firmware).",
        )
    ]


def evaluate(facts, want_cgroup_v2=True, storage_driver="overlay2", sysctls=None, kernel_modules=None):
    """Turn gathered facts into a list of problems (id, severity, message, fix), area by area.

    facts is the dict the module returns (kernel, cgroup, storage, sysctls,
    kernel_modules, firewall, userns, init, container, bootloader); the
    missing kernel options in facts["kernel"]["missing_options"] were computed
    with required_kernel_options() and missing_kernel_options().
    """
    kernel = facts.get("kernel", {})
    cgroup = facts.get("cgroup", {})
    storage = facts.get("storage", {})
    container = facts.get("container", {})
    bootloader = facts.get("bootloader", {})
    in_container = bool(container.get("is_container"))
    return (
        check_kernel_version(kernel)
        + check_kernel_options(kernel)
        + check_cgroup_mode(cgroup, want_cgroup_v2, in_container, bootloader.get("type", "none"))
        + check_cgroup_controllers(cgroup)
        + check_overlay(storage, storage_driver)
        + check_backing_filesystem(storage, storage_driver)
        + check_kernel_modules(facts.get("kernel_modules", {}), kernel_modules)
        + check_sysctls(facts.get("sysctls", {}), DEFAULT_SYSCTLS if sysctls is None else sysctls)
        + check_firewall(facts.get("firewall", {}))
        + check_userns(facts.get("userns", {}))
        + check_init(facts.get("init", {}))
        + check_container_host(container)
        + check_bootloader(bootloader)
        + rl.evaluate(facts.get("rootless"), facts.get("init", {}), cgroup)
    )


def sort_problems(problems):
    """Most severe first, keeping the order of evaluate() within a severity."""
    order = dict((s, i) for i, s in enumerate(SEVERITIES))
    return sorted(problems, key=lambda p: order[p["severity"]])


def summarize(problems):
    """Counts per severity plus the error ids, for a one-line report."""
    counts = dict((s, 0) for s in SEVERITIES)
    for p in problems:
        counts[p["severity"]] = counts.get(p["severity"], 0) + 1
    counts["error_ids"] = [p["id"] for p in problems if p["severity"] == "error"]
    return counts


# --------------------------------------------------------------------------
# Fixes: load modules, set sysctls, persist both (plan only; the host side applies it)
# --------------------------------------------------------------------------

MODULES_LOAD_FILE = "/etc/modules-load.d/berth.conf"
SYSCTL_FILE = "/etc/sysctl.d/90-berth.conf"
PERSISTED_MODE = 0o644
_MANAGED = "# Managed by Ansible (berth.engine.prereqs): %s\n"


def render_modules_load(modules):
    """The modules-load.d file: one module a line (the format systemd-modules-load and kmod read)."""
    return _MANAGED % "modules the container engine needs." + "".join("%s\n" % m for m in modules)


def render_sysctl_conf(sysctls):
    """The sysctl.d file, sorted by name so that the same settings always give the same file."""
    return _MANAGED % "settings the container engine needs." + "".join(
        "%s = %s\n" % (name, sysctls[name]) for name in sorted(sysctls)
    )


class HostPlan(Plan):
    """A Plan plus the text diffs of the persisted files and whether the host is a container."""

    def __init__(self, name, in_container=False):
        Plan.__init__(self, "host", name)
        self.files = []
        self.in_container = in_container

    def diffs(self):
        """One text diff per file written, then the live sysctl values."""
        result = list(self.files)
        if self.before or self.after:
            result.append({"before_header": "sysctls (live)", "after_header": "sysctls (wanted)",
                           "before": dict(self.before), "after": dict(self.after)})
        return result


def _plan_file(plan, path, content, current, owner=(0, 0)):
    """Write the file when its content, mode or owner differ. current: {content, mode, uid, gid} or None."""
    current = current or {}
    before = current.get("content")
    if before == content and current.get("mode") == PERSISTED_MODE and \
            (current.get("uid", 0), current.get("gid", 0)) == tuple(owner):
        return
    reason = "absent" if before is None else ("content" if before != content else "mode or owner")
    plan.add("write_file", path=path, content=content, reason=reason)
    plan.files.append({"before_header": path, "after_header": path, "before": before or "", "after": content})


def _plan_modules(plan, desired, kernel, modules):
    missing = [m for m in desired["kernel_modules"] if not (modules.get(m) or {}).get("available")]
    if desired["kernel_modules"] and not kernel.get("modules_supported"):
        plan.warnings.append(
            "kernel modules: this kernel cannot load modules (no /proc/modules); "
            + ("%s must be built in" % ", ".join(missing) if missing else "the ones needed are built in")
        )
        return
    for name in missing:
        if not (modules.get(name) or {}).get("installed"):
            plan.warnings.append(
                "kernel module %s: not installed under /lib/modules/%s, so it cannot be loaded here%s"
                % (name, kernel.get("release"), " (this host is a container: load it on the outer host)"
                   if plan.in_container else "")
            )
            continue
        plan.add("load_module", name=name)


def _plan_sysctls(plan, desired, current, writable):
    loading = plan.has("load_module")
    for name in sorted(desired["sysctls"]):
        want = desired["sysctls"][name]
        have = current.get(name)
        if have is not None and normalize_sysctl_value(have) == normalize_sysctl_value(want):
            continue
        if have is None and not loading:
            plan.warnings.append("sysctl %s: does not exist on this host (no module provides it)" % name)
            continue
        if have is not None and not writable.get(name):
            plan.warnings.append(
                "sysctl %s: cannot be set here, /proc/sys is read-only%s" % (
                    name, " inside a container: set it on the outer host" if plan.in_container else "")
            )
            continue
        plan.add("set_sysctl", name=name, value=want, before=have)
        plan.differ(name, have, want)


def plan_fixes(desired, state):
    """What fix mode does, from the desired state and what read() found.

    state: facts (the gathered facts), files (path -> {content, mode, uid, gid}
    or None), owner ((uid, gid) the files get: root's, or the user's when not
    root), sysctl_writable (name -> bool). Modules first, since loading
    br_netfilter creates the net.bridge sysctls; then the live sysctls; then
    the two files. Warnings say what cannot be fixed on this host and why.
    """
    facts = state["facts"]
    plan = HostPlan(desired["name"], bool(facts.get("container", {}).get("is_container")))
    _plan_modules(plan, desired, facts.get("kernel", {}), facts.get("kernel_modules", {}))
    _plan_sysctls(plan, desired, facts.get("sysctls", {}), state.get("sysctl_writable", {}))
    files, owner = state.get("files", {}), state.get("owner", (0, 0))
    if desired["kernel_modules"]:
        path = desired["modules_load_file"]
        _plan_file(plan, path, render_modules_load(desired["kernel_modules"]), files.get(path), owner)
    if desired["sysctls"]:
        path = desired["sysctl_file"]
        _plan_file(plan, path, render_sysctl_conf(desired["sysctls"]), files.get(path), owner)
    if facts.get("rootless"):
        _plan_rootless(plan, desired, facts, files, owner)
    return plan


def _plan_rootless(plan, desired, facts, files, owner):
    """Rootless mode's sysctls (live and persisted), subordinate ID ranges and the delegation drop-in."""
    found = facts["rootless"]
    wanted = rl.wanted_sysctls(found["sysctls"], desired["rootless"]["unprivileged_port_start"])
    _plan_sysctls(plan, {"sysctls": wanted}, found["sysctls"], found["sysctl_writable"])
    if wanted:
        _plan_file(plan, rl.SYSCTL_FILE, rl.render_sysctls(wanted), files.get(rl.SYSCTL_FILE), owner)
    add = rl.subid_lines(found["users"], found["passwd"], found["subuid"], found["subgid"])
    for path, lines in zip((rl.SUBUID_FILE, rl.SUBGID_FILE), add):
        if lines:
            current = files.get(path)
            _plan_file(plan, path, rl.appended((current or {}).get("content"), lines), current, owner)
    if facts.get("init", {}).get("systemd"):
        _plan_file(plan, rl.DELEGATE_DROPIN, rl.render_delegate(), files.get(rl.DELEGATE_DROPIN), owner)
