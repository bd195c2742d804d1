# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of what host_prereqs reads (mount tables, cgroups, kernel config, modules,
/proc/1, the kernel command line) and the kernel facts they are checked against.

Split out of prereqs.py, which re-exports every name: callers keep using prereqs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os
import re

# Kernel options from moby's contrib/check-config.sh, section "Generally
# Necessary", with the severity Berth gives a missing one. Options that only
# matter for a feature (swarm load balancing, IPv6, the raw table) are
# warnings; the rest are errors: the engine cannot run containers without
# them. CONFIG_OVERLAY_FS is added separately for the overlay2 driver.
GENERALLY_NECESSARY = (
    ("CONFIG_NAMESPACES", "error"),
    ("CONFIG_NET_NS", "error"),
    ("CONFIG_PID_NS", "error"),
    ("CONFIG_IPC_NS", "error"),
    ("CONFIG_UTS_NS", "error"),
    ("CONFIG_CGROUPS", "error"),
    ("CONFIG_CGROUP_SCHED", "error"),
    ("CONFIG_KEYS", "error"),
    ("CONFIG_VETH", "error"),
    ("CONFIG_BRIDGE", "error"),
    ("CONFIG_BRIDGE_NETFILTER", "error"),
    ("CONFIG_IP_NF_FILTER", "error"),
    ("CONFIG_IP_NF_MANGLE", "warning"),
    ("CONFIG_IP_NF_TARGET_MASQUERADE", "error"),
    ("CONFIG_IP6_NF_FILTER", "warning"),
    ("CONFIG_IP6_NF_MANGLE", "warning"),
    ("CONFIG_IP6_NF_TARGET_MASQUERADE", "warning"),
    ("CONFIG_NETFILTER_XT_MATCH_ADDRTYPE", "error"),
    ("CONFIG_NETFILTER_XT_MATCH_CONNTRACK", "error"),
    ("CONFIG_NETFILTER_XT_MATCH_IPVS", "warning"),
    ("CONFIG_NETFILTER_XT_MARK", "warning"),
    ("CONFIG_IP_NF_RAW", "warning"),
    ("CONFIG_IP_NF_NAT", "error"),
    ("CONFIG_NF_NAT", "error"),
    ("CONFIG_IP6_NF_RAW", "warning"),
    ("CONFIG_IP6_NF_NAT", "warning"),
    ("CONFIG_POSIX_MQUEUE", "error"),
)
# Only checked on cgroup v1 (legacy or hybrid) hosts.
CGROUP_V1_OPTIONS = (
    ("CONFIG_CGROUP_FREEZER", "error"),
    ("CONFIG_CGROUP_DEVICE", "error"),
    ("CONFIG_CPUSETS", "error"),
    ("CONFIG_CGROUP_CPUACCT", "error"),
    ("CONFIG_MEMCG", "error"),
)
# Device access control on cgroup v2 is an eBPF program (kernel >= 4.15).
CGROUP_V2_OPTIONS = (("CONFIG_CGROUP_BPF", "error"),)

WHY_WARNING = {
    "CONFIG_NETFILTER_XT_MATCH_IPVS": "needed by swarm service load balancing",
    "CONFIG_NETFILTER_XT_MARK": "needed by swarm and some network plugins",
    "CONFIG_IP_NF_MANGLE": "needed by some network drivers",
    "CONFIG_IP_NF_RAW": "used by newer engines to protect published ports",
    "CONFIG_IP6_NF_FILTER": "needed for IPv6 container networking",
    "CONFIG_IP6_NF_MANGLE": "needed for IPv6 container networking",
    "CONFIG_IP6_NF_TARGET_MASQUERADE": "needed for IPv6 container networking",
    "CONFIG_IP6_NF_RAW": "needed for IPv6 container networking",
    "CONFIG_IP6_NF_NAT": "needed for IPv6 container networking",
}

# Controllers the engine uses on a unified hierarchy.
V2_CONTROLLERS = ("cpu", "cpuset", "io", "memory", "pids")
V1_CONTROLLERS = (
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "misc",
)

# Filesystems known to return d_type from readdir(). xfs depends on ftype.
DTYPE_FILESYSTEMS = ("ext2", "ext3", "ext4", "btrfs", "tmpfs", "f2fs", "zfs", "overlay")

DEFAULT_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}

SEVERITIES = ("error", "warning", "info")

# Boot parameter that makes systemd mount only the unified (v2) hierarchy.
CGROUP_V2_PARAM = "systemd.unified_cgroup_hierarchy"


# --------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------


def _unescape_mount(field):
    """Decode the octal escapes (\\040 for a space ...) used in mount tables."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """Parse /proc/self/mountinfo into a list of dicts.

    Each dict has mountpoint, fstype, source, options (mount options) and
    super_options (filesystem specific, e.g. the cgroup v1 controllers).
    """
    mounts = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or " - " not in line:
            continue
        pre, post = line.split(" - ", 1)
        pre_f = pre.split()
        post_f = post.split()
        if len(pre_f) < 6 or len(post_f) < 2:
            continue
        mounts.append(
            {
                "mountpoint": _unescape_mount(pre_f[4]),
                "root": _unescape_mount(pre_f[3]),
                "options": pre_f[5],
                "fstype": post_f[0],
                "source": _unescape_mount(post_f[1]),
                "super_options": post_f[2] if len(post_f) > 2 else "",
            }
        )
    return mounts


def parse_proc_mounts(text):
    """Parse /proc/mounts (fstab format) into the same dicts as parse_mountinfo."""
    mounts = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mounts.append(
            {
                "mountpoint": _unescape_mount(fields[1]),
                "root": "/",
                "options": fields[3],
                "fstype": fields[2],
                "source": _unescape_mount(fields[0]),
                "super_options": fields[3],
            }
        )
    return mounts


def parse_mounts(text):
    """Parse either mount table format (mountinfo is detected by ' - ')."""
    text = text or ""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if " - " in first:
        return parse_mountinfo(text)
    return parse_proc_mounts(text)


def cgroup_layout(mounts, v2_controllers_text=None):
    """Tell the cgroup mode from a parsed mount table.

    Returns a dict: mode (unified | hybrid | legacy | none), v2_mountpoint,
    v2_controllers (from the cgroup.controllers text of the v2 mount, given
    separately because reading it is I/O), v1_controllers and v1_mountpoints.
    """
    v2_mounts = [m for m in mounts if m["fstype"] == "cgroup2"]
    v1_mounts = [m for m in mounts if m["fstype"] == "cgroup"]
    v1_controllers = set()
    for m in v1_mounts:
        for opt in re.split(r",", m.get("super_options", "") + "," + m.get("options", "")):
            if opt in V1_CONTROLLERS or opt.startswith("name="):
                v1_controllers.add(opt)
    v2_mountpoint = None
    if v2_mounts:
        # Prefer the canonical places: /sys/fs/cgroup, then .../unified.
        by_mp = dict((m["mountpoint"], m) for m in v2_mounts)
        for candidate in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            if candidate in by_mp:
                v2_mountpoint = candidate
                break
        if v2_mountpoint is None:
            v2_mountpoint = v2_mounts[0]["mountpoint"]
    if v2_mountpoint == "/sys/fs/cgroup" and not v1_mounts:
        mode = "unified"
    elif v2_mountpoint == "/sys/fs/cgroup":
        # cgroup2 at the top with v1 hierarchies mounted as well is unusual
        # but still a unified host as far as the engine is concerned.
        mode = "unified"
    elif v1_mounts and v2_mountpoint:
        mode = "hybrid"
    elif v1_mounts:
        mode = "legacy"
    elif v2_mountpoint:
        mode = "unified"
    else:
        mode = "none"
    v2_controllers = sorted(set((v2_controllers_text or "").split())) if v2_mountpoint else []
    return {
        "mode": mode,
        "v2_mountpoint": v2_mountpoint,
        "v2_controllers": v2_controllers,
        "v1_controllers": sorted(v1_controllers),
        "v1_mountpoints": sorted(m["mountpoint"] for m in v1_mounts),
    }


def read_kernel_config_bytes(data):
    """Decode a kernel config given as bytes, gunzipping /proc/config.gz data."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def parse_kernel_config(text):
    """Parse a kernel .config into {"CONFIG_X": "y" | "m" | "n" | value}.

    "# CONFIG_X is not set" lines give "n"; options absent from the file are
    simply absent from the dict.
    """
    config = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$", line)
        if m:
            config[m.group(1)] = "n"
            continue
        if line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key.startswith("CONFIG_"):
            config[key] = value.strip().strip('"')
    return config


def option_enabled(config, option):
    """True when the option is built in (y) or a module (m)."""
    return config.get(option) in ("y", "m")


def kernel_version_tuple(release):
    """'6.1.0-18-amd64' -> (6, 1, 0). Unknown parts are 0."""
    nums = re.findall(r"\d+", (release or "").split("-")[0])
    nums = [int(n) for n in nums[:3]]
    while len(nums) < 3:
        nums.append(0)
    return tuple(nums)


def required_kernel_options(cgroup_mode, storage_driver="overlay2", extra=None):
    """The (option, severity) pairs to check for this host."""
    opts = list(GENERALLY_NECESSARY)
    if cgroup_mode in ("legacy", "hybrid"):
        opts.extend(CGROUP_V1_OPTIONS)
    if cgroup_mode in ("unified", "hybrid"):
        opts.extend(CGROUP_V2_OPTIONS)
    if storage_driver in ("overlay2", "overlay", None, ""):
        opts.append(("CONFIG_OVERLAY_FS", "error"))
    for opt in extra or []:
        name = opt if opt.startswith("CONFIG_") else "CONFIG_" + opt
        opts.append((name, "error"))
    seen = set()
    result = []
    for name, sev in opts:
        if name not in seen:
            seen.add(name)
            result.append((name, sev))
    return result


def missing_kernel_options(config, options):
    """The options (from required_kernel_options) the config does not enable."""
    return [(name, sev) for name, sev in options if not option_enabled(config, name)]


def parse_filesystems(text):
    """Parse /proc/filesystems into the list of filesystem names."""
    names = []
    for line in (text or "").splitlines():
        fields = line.split()
        if fields:
            names.append(fields[-1])
    return names


def parse_proc_modules(text):
    """Parse /proc/modules into the list of loaded module names."""
    return [line.split()[0] for line in (text or "").splitlines() if line.split()]


def parse_modules_builtin(text):
    """Parse modules.builtin ('kernel/fs/overlayfs/overlay.ko') into names."""
    names = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        base = os.path.basename(line)
        base = re.sub(r"\.ko(\.[a-z0-9]+)?$", "", base)
        names.append(base.replace("-", "_"))
    return names


def module_status(name, loaded, builtin, sysfs_modules, filesystems, sysctl_present, installed=()):
    """Whether a kernel module's function is there, and why we think so.

    loaded: names from /proc/modules; builtin: names from modules.builtin;
    sysfs_modules: entries of /sys/module; filesystems: /proc/filesystems;
    sysctl_present: names of sysctls that exist (for br_netfilter);
    installed: names in modules.dep (what modprobe could load).
    """
    norm = name.replace("-", "_")
    evidence = []
    if norm in loaded:
        evidence.append("loaded")
    if norm in builtin:
        evidence.append("built-in")
    if norm in sysfs_modules and "loaded" not in evidence:
        evidence.append("/sys/module")
    if norm == "overlay" and "overlay" in filesystems:
        evidence.append("/proc/filesystems")
    if norm == "br_netfilter" and "net.bridge.bridge-nf-call-iptables" in sysctl_present:
        evidence.append("net.bridge sysctls")
    return {
        "name": name,
        "loaded": norm in loaded,
        "builtin": norm in builtin,
        "available": bool(evidence),
        "installed": norm in installed,
        "evidence": evidence,
    }


def mount_for_path(mounts, path):
    """The mount entry whose mountpoint is the longest prefix of path."""
    best = None
    for m in mounts:
        mp = m["mountpoint"]
        covers = mp == "/" or path == mp or path.startswith(mp.rstrip("/") + "/")
        if covers and (best is None or len(mp) > len(best["mountpoint"])):
            best = m
    return best


def parse_xfs_ftype(text):
    """Read ftype=N from xfs_info output; None when absent."""
    m = re.search(r"ftype=(\d)", text or "")
    return int(m.group(1)) if m else None


def dtype_support(fstype, xfs_ftype=None):
    """True/False when d_type support is known for the filesystem, else None."""
    if fstype == "xfs":
        if xfs_ftype is None:
            return None
        return xfs_ftype == 1
    if fstype in DTYPE_FILESYSTEMS:
        return True
    return None


def parse_cgroup_file(text):
    """Parse /proc/<pid>/cgroup into a list of (hierarchy, controllers, path)."""
    entries = []
    for line in (text or "").splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) == 3:
            entries.append((parts[0], parts[1], parts[2]))
    return entries


_CGROUP_PATH_HINTS = (
    ("docker", re.compile(r"/docker[/-]|^/docker$")),
    ("kubernetes", re.compile(r"/kubepods")),
    ("podman", re.compile(r"/libpod|/machine.slice/libpod")),
    ("lxc", re.compile(r"/lxc[/.]|^/lxc$|lxc\.payload")),
    ("containerd", re.compile(r"/containerd")),
)


def detect_container(dockerenv=False, containerenv=False, pid1_cgroup_text=None, pid1_environ=None, detect_virt=None):
    """Decide whether the host is itself a container, with the evidence.

    dockerenv/containerenv: whether /.dockerenv and /run/.containerenv exist;
    pid1_cgroup_text: /proc/1/cgroup; pid1_environ: dict of PID 1's
    environment or None when unreadable; detect_virt: the output of
    `systemd-detect-virt --container` or None when the tool is absent.
    """
    evidence = []
    kind = None
    if detect_virt is not None:
        dv = detect_virt.strip()
        if dv and dv != "none":
            evidence.append("systemd-detect-virt --container: %s" % dv)
            kind = kind or dv
    if dockerenv:
        evidence.append("/.dockerenv exists")
        kind = kind or "docker"
    if containerenv:
        evidence.append("/run/.containerenv exists")
        kind = kind or "podman"
    if pid1_environ and pid1_environ.get("container"):
        evidence.append("PID 1 environment container=%s" % pid1_environ["container"])
        kind = kind or pid1_environ["container"]
    for _h, _c, path in parse_cgroup_file(pid1_cgroup_text):
        hint = next((name for name, rx in _CGROUP_PATH_HINTS if rx.search(path)), None)
        if hint:
            # One line of evidence is enough: every hierarchy shows the same path.
            evidence.append("/proc/1/cgroup path %s" % path)
            kind = kind or hint
            break
    return {"is_container": bool(evidence), "type": kind, "evidence": evidence}


def parse_cmdline(text):
    """Split /proc/cmdline into a dict; later occurrences win, flags map to ''."""
    params = {}
    for token in (text or "").split():
        if token == "--":
            break
        if "=" in token:
            k, v = token.split("=", 1)
            params[k] = v
        else:
            params[token] = ""
    return params


def bootloader_kind(exists):
    """Which bootloader tooling the role can drive, from a path -> bool map.

    'grub' (Debian/Ubuntu update-grub with a grub.cfg), 'grubby' (RHEL
    family), or 'none' (no bootloader we control: containers, firecracker
    style VMs, systemd-boot only hosts ...).
    """
    grub_cfg = any(exists.get(p) for p in ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"))
    grubby = exists.get("/usr/sbin/grubby") or exists.get("/sbin/grubby")
    if grubby and (grub_cfg or exists.get("/boot/loader/entries")):
        return "grubby"
    update_grub = exists.get("/usr/sbin/update-grub") or exists.get("/usr/sbin/grub-mkconfig")
    if update_grub and grub_cfg:
        return "grub"
    return "none"


def parse_modules_dep(text):
    """Parse modules.dep ('kernel/net/.../ip_vs.ko.xz: dep.ko ...') into the installed module names."""
    return parse_modules_builtin("\n".join(line.split(":", 1)[0] for line in (text or "").splitlines()))


def normalize_sysctl_value(value):
    """Compare sysctl values by their words: /proc/sys separates them with tabs, users with spaces."""
    return " ".join(str(value).split())
