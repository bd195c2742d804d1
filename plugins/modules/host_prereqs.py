#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_prereqs
short_description: Check whether a host can run the container engine, without changing it
version_added: "0.1.0"
description:
  - Gathers the kernel facts the container engine depends on and returns them
    together with a list of problems, each with an id, a severity, a message
    and the fix.
  - Reads the kernel release and command line; the cgroup mode (C(unified),
    C(hybrid) - cgroup v1 plus a cgroup2 mount at /sys/fs/cgroup/unified - or
    C(legacy)) and the cgroup v2 controllers; overlay support; the kernel
    options moby's C(check-config.sh) lists as generally necessary plus
    C(CONFIG_OVERLAY_FS), from /proc/config.gz or /boot/config-RELEASE when
    present; the filesystem under the data root and its d_type support (xfs
    needs ftype=1); the bridge and forwarding sysctls; kernel modules;
    iptables/nft; user namespaces; whether PID 1 is systemd; whether the host
    is itself a container; which bootloader tooling exists.
  - Never changes anything, so it always reports C(changed=false). The
    C(berth.engine.prereqs) role acts on its problems.
author:
  - Berth maintainers
options:
  data_root:
    description:
      - The engine's data root. The filesystem under it (or under its nearest
        existing parent) is checked for overlay and d_type support.
    type: path
    default: /var/lib/docker
  storage_driver:
    description:
      - The storage driver the engine is expected to use. C(overlay2) adds
        C(CONFIG_OVERLAY_FS) and the d_type checks.
    type: str
    default: overlay2
  kernel_modules:
    description:
      - Kernel modules whose function must be present (loaded, built in, or
        visible through what they provide).
    type: list
    elements: str
    default: [overlay, br_netfilter]
  sysctls:
    description:
      - Sysctls to read and compare, as name to wanted value.
    type: dict
    default:
      net.ipv4.ip_forward: "1"
      net.bridge.bridge-nf-call-iptables: "1"
      net.bridge.bridge-nf-call-ip6tables: "1"
  cgroup_v2:
    description:
      - Report a host that is not on the unified cgroup v2 hierarchy as a
        problem (severity warning).
    type: bool
    default: true
  extra_kernel_options:
    description:
      - More kernel options to require (severity error), with or without the
        C(CONFIG_) prefix.
    type: list
    elements: str
    default: []
  kernel_config_path:
    description:
      - Read the kernel config from this file (plain or gzip) instead of
        /proc/config.gz or /boot/config-RELEASE.
    type: path
attributes:
  check_mode:
    support: full
    description: The module never changes anything; check mode returns the same facts.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
notes:
  - Runs without root, but some facts (PID 1's environment, xfs_info) need
    root to be complete.
seealso:
  - name: moby check-config.sh
    description: The list of kernel options the engine needs.
    link: https://github.com/moby/moby/blob/master/contrib/check-config.sh
"""

EXAMPLES = r"""
- name: Check the host
  berth.engine.host_prereqs:
  register: prereqs

- name: Stop on hard problems
  ansible.builtin.assert:
    that: prereqs.summary.error == 0
    fail_msg: "{{ prereqs.problems | selectattr('severity', 'equalto', 'error') | map(attribute='message') | list }}"

- name: Check a custom data root and one more kernel option
  berth.engine.host_prereqs:
    data_root: /srv/docker
    extra_kernel_options: [CONFIG_VXLAN]
"""

RETURN = r"""
kernel:
  description: Kernel facts.
  returned: always
  type: dict
  contains:
    release:
      description: C(uname -r).
      type: str
    version:
      description: C(uname -v).
      type: str
    cmdline:
      description: The kernel command line from /proc/cmdline.
      type: str
    cgroup_v2_param:
      description: Value of systemd.unified_cgroup_hierarchy on the command line, or null.
      type: str
    config_source:
      description: The file the kernel config was read from, or null.
      type: str
    config_readable:
      description: Whether a kernel config was found and read.
      type: bool
    missing_options:
      description: Required options the config does not enable, as [name, severity] pairs.
      type: list
    modules_supported:
      description: Whether the kernel loads modules at all (/proc/modules exists).
      type: bool
  sample:
    release: 6.1.0-18-amd64
    config_source: /boot/config-6.1.0-18-amd64
    config_readable: true
    missing_options: []
cgroup:
  description: Cgroup layout.
  returned: always
  type: dict
  contains:
    mode:
      description: C(unified), C(hybrid), C(legacy) or C(none).
      type: str
    v2_mountpoint:
      description: Where cgroup2 is mounted, or null.
      type: str
    v2_controllers:
      description: Controllers listed in cgroup.controllers of the cgroup2 mount.
      type: list
      elements: str
    v1_controllers:
      description: Controllers with a cgroup v1 hierarchy mounted.
      type: list
      elements: str
    v1_mountpoints:
      description: Mount points of the v1 hierarchies.
      type: list
      elements: str
storage:
  description: Storage facts for the data root.
  returned: always
  type: dict
  contains:
    data_root:
      description: The data root asked for.
      type: str
    data_root_exists:
      description: Whether it exists.
      type: bool
    path_checked:
      description: The data root or its nearest existing parent.
      type: str
    mountpoint:
      description: Mount point holding path_checked.
      type: str
    fstype:
      description: Filesystem type there.
      type: str
    source:
      description: Device or source of that mount.
      type: str
    xfs_ftype:
      description: ftype of an xfs filesystem (from xfs_info), else null.
      type: int
    d_type:
      description: Whether the filesystem supports d_type; null when unknown.
      type: bool
    overlay_supported:
      description: Whether overlayfs is registered or loadable.
      type: bool
sysctls:
  description: Current values of the requested sysctls; null for those that do not exist.
  returned: always
  type: dict
  sample: {"net.ipv4.ip_forward": "1"}
kernel_modules:
  description: Per requested module, whether it is loaded, built in, available, and the evidence.
  returned: always
  type: dict
firewall:
  description: Paths of iptables, ip6tables and nft (null when absent) and the iptables backend.
  returned: always
  type: dict
userns:
  description: User namespace support (supported, max_user_namespaces, unprivileged_userns_clone).
  returned: always
  type: dict
init:
  description: PID 1's name and whether the host runs systemd.
  returned: always
  type: dict
  contains:
    pid1:
      description: Command name of PID 1.
      type: str
    systemd:
      description: Whether systemd is the running init (/run/systemd/system exists).
      type: bool
container:
  description: Whether the host is itself a container, its kind, and the evidence.
  returned: always
  type: dict
bootloader:
  description: Bootloader tooling the prereqs role can drive.
  returned: always
  type: dict
  contains:
    type:
      description: C(grub), C(grubby) or C(none).
      type: str
problems:
  description: What is wrong or noteworthy, most severe first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable identifier, e.g. C(cgroup_v2_disabled) or C(kernel_option_missing:CONFIG_VETH).
      type: str
    severity:
      description: C(error) (the engine cannot work), C(warning) or C(info).
      type: str
    message:
      description: What was found.
      type: str
    fix:
      description: How to fix it.
      type: str
summary:
  description: Number of problems per severity and the ids of the errors.
  returned: always
  type: dict
  sample: {"error": 0, "warning": 1, "info": 2, "error_ids": []}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except OSError:
        return None


def _sysctl_path(name):
    return os.path.join("/proc/sys", *name.split("."))


def _nearest_existing(path):
    path = os.path.abspath(path)
    while not os.path.exists(path) and path != "/":
        path = os.path.dirname(path)
    return os.path.realpath(path)


def gather(module):
    p = module.params
    release = os.uname()[2]
    facts = {}

    # Kernel and its config
    cmdline = (_read("/proc/cmdline") or "").strip()
    params = pr.parse_cmdline(cmdline)
    candidates = (
        [p["kernel_config_path"]] if p["kernel_config_path"] else ["/proc/config.gz", "/boot/config-%s" % release]
    )
    config_text, config_source = None, None
    for cand in candidates:
        data = _read(cand, binary=True)
        if data:
            try:
                config_text = pr.read_kernel_config_bytes(data)
                config_source = cand
                break
            except (OSError, EOFError):
                continue

    # Mounts and cgroups
    mounts = pr.parse_mounts(_read("/proc/self/mountinfo") or _read("/proc/mounts") or "")
    layout = pr.cgroup_layout(mounts)
    if layout["v2_mountpoint"]:
        layout = pr.cgroup_layout(mounts, _read(os.path.join(layout["v2_mountpoint"], "cgroup.controllers")) or "")

    required = pr.required_kernel_options(layout["mode"], p["storage_driver"], p["extra_kernel_options"])
    config = pr.parse_kernel_config(config_text) if config_text else {}
    missing = [list(x) for x in pr.missing_kernel_options(config, required)] if config_text else []

    proc_modules = _read("/proc/modules")
    facts["kernel"] = {
        "release": release,
        "version": os.uname()[3],
        "cmdline": cmdline,
        "cgroup_v2_param": params.get(pr.CGROUP_V2_PARAM),
        "config_source": config_source,
        "config_readable": config_text is not None,
        "missing_options": missing,
        "modules_supported": proc_modules is not None,
    }
    facts["cgroup"] = layout

    # Sysctls
    current = {}
    for name in p["sysctls"]:
        value = _read(_sysctl_path(name))
        current[name] = value.strip() if value is not None else None
    facts["sysctls"] = current

    # Kernel modules
    filesystems = pr.parse_filesystems(_read("/proc/filesystems"))
    loaded = pr.parse_proc_modules(proc_modules)
    builtin = pr.parse_modules_builtin(_read("/lib/modules/%s/modules.builtin" % release))
    try:
        sysfs = os.listdir("/sys/module")
    except OSError:
        sysfs = []
    present = [n for n in ("net.bridge.bridge-nf-call-iptables",) if os.path.exists(_sysctl_path(n))]
    facts["kernel_modules"] = dict(
        (m, pr.module_status(m, loaded, builtin, sysfs, filesystems, present)) for m in p["kernel_modules"]
    )

    # Storage
    data_root = p["data_root"]
    checked = _nearest_existing(data_root)
    mnt = pr.mount_for_path(mounts, checked) or {}
    fstype = mnt.get("fstype")
    xfs_ftype = None
    if fstype == "xfs":
        xfs_info = module.get_bin_path("xfs_info")
        if xfs_info:
            rc, out, err = module.run_command([xfs_info, mnt["mountpoint"]])
            if rc == 0:
                xfs_ftype = pr.parse_xfs_ftype(out)
    overlay_loadable = any(
        os.path.exists("/lib/modules/%s/kernel/fs/overlayfs/overlay.ko%s" % (release, ext))
        for ext in ("", ".xz", ".zst", ".gz")
    )
    facts["storage"] = {
        "data_root": data_root,
        "data_root_exists": os.path.exists(data_root),
        "path_checked": checked,
        "mountpoint": mnt.get("mountpoint"),
        "fstype": fstype,
        "source": mnt.get("source"),
        "xfs_ftype": xfs_ftype,
        "d_type": pr.dtype_support(fstype, xfs_ftype),
        "overlay_supported": "overlay" in filesystems or overlay_loadable,
    }

    # Firewall tools
    iptables = module.get_bin_path("iptables")
    backend = None
    if iptables:
        rc, out, err = module.run_command([iptables, "--version"])
        if "nf_tables" in out:
            backend = "nf_tables"
        elif "legacy" in out or rc == 0:
            backend = "legacy"
    facts["firewall"] = {
        "iptables": iptables,
        "ip6tables": module.get_bin_path("ip6tables"),
        "nft": module.get_bin_path("nft"),
        "iptables_backend": backend,
    }

    # User namespaces
    max_userns = _read("/proc/sys/user/max_user_namespaces")
    unpriv = _read("/proc/sys/kernel/unprivileged_userns_clone")
    max_userns = int(max_userns) if max_userns and max_userns.strip().isdigit() else None
    facts["userns"] = {
        "supported": bool(max_userns) and os.path.exists("/proc/self/ns/user"),
        "max_user_namespaces": max_userns,
        "unprivileged_userns_clone": int(unpriv) if unpriv and unpriv.strip().isdigit() else None,
    }

    # Init system
    pid1 = (_read("/proc/1/comm") or "").strip() or None
    facts["init"] = {"pid1": pid1, "systemd": os.path.isdir("/run/systemd/system")}

    # Container detection
    environ = _read("/proc/1/environ")
    pid1_env = None
    if environ is not None:
        pid1_env = dict(kv.split("=", 1) for kv in environ.split("\0") if "=" in kv)
    detect_virt = None
    sdv = module.get_bin_path("systemd-detect-virt")
    if sdv:
        rc, out, err = module.run_command([sdv, "--container"])
        detect_virt = out.strip() or "none"
    facts["container"] = pr.detect_container(
        dockerenv=os.path.exists("/.dockerenv"),
        containerenv=os.path.exists("/run/.containerenv"),
        pid1_cgroup_text=_read("/proc/1/cgroup"),
        pid1_environ=pid1_env,
        detect_virt=detect_virt,
    )

    # Bootloader tooling
    paths = (
        "/boot/grub/grub.cfg",
        "/boot/grub2/grub.cfg",
        "/boot/loader/entries",
        "/usr/sbin/grubby",
        "/sbin/grubby",
        "/usr/sbin/update-grub",
        "/usr/sbin/grub-mkconfig",
        "/etc/default/grub",
    )
    exists = dict((x, os.path.exists(x)) for x in paths)
    facts["bootloader"] = {
        "type": pr.bootloader_kind(exists),
        "grub_defaults": exists["/etc/default/grub"],
    }
    return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            data_root=dict(type="path", default="/var/lib/docker"),
            storage_driver=dict(type="str", default="overlay2"),
            kernel_modules=dict(type="list", elements="str", default=["overlay", "br_netfilter"]),
            sysctls=dict(type="dict", default=dict(pr.DEFAULT_SYSCTLS)),
            cgroup_v2=dict(type="bool", default=True),
            extra_kernel_options=dict(type="list", elements="str", default=[]),
            kernel_config_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    sysctls = dict((k, str(v)) for k, v in module.params["sysctls"].items())
    module.params["sysctls"] = sysctls
    facts = gather(module)
    problems = pr.evaluate(
        facts,
        want_cgroup_v2=module.params["cgroup_v2"],
        storage_driver=module.params["storage_driver"],
        sysctls=sysctls,
        kernel_modules=module.params["kernel_modules"],
    )
    order = dict((s, i) for i, s in enumerate(pr.SEVERITIES))
    problems.sort(key=lambda x: order[x["severity"]])
    module.exit_json(changed=False, problems=problems, summary=pr.summarize(problems), **facts)


if __name__ == "__main__":
    main()
