#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_prereqs
short_description: Check whether a host can run the container engine, and fix kernel modules and sysctls
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
    is itself a container; which bootloader tooling exists; the kernel
    features swarm needs (IPVS, VXLAN, ESP/XFRM/GCM).
  - Without O(fix) it never changes anything and reports C(changed=false).
    With O(fix=true) it loads the missing O(kernel_modules), sets the
    O(sysctls) that differ, persists both (O(modules_load_file),
    O(sysctl_file), written atomically), and checks the host again only when
    a module or sysctl changed. What cannot be fixed here (no module support,
    a read-only /proc/sys in a container) is listed in RV(notes).
  - Every name that becomes a path or a command argument is validated before
    anything is read.
  - The C(berth.engine.prereqs) role acts on the problems that remain.
author:
  - Berth maintainers (!UNKNOWN)
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
      - Names are letters, digits, C(_) and C(-) (not first).
    type: list
    elements: str
    default: [overlay, br_netfilter]
  sysctls:
    description:
      - Sysctls to read and compare, as name to wanted value.
      - Names are dotted words of letters, digits, C(_) and C(-)
        (C(net.ipv4.ip_forward)); C(/) and empty parts are refused. Values
        are numbers or single-line strings.
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
        /proc/config.gz or /boot/config-RELEASE. An absolute path.
    type: path
  fix:
    description:
      - Load the missing kernel modules, set the sysctls that differ and
        persist both. C(changed) only when something changed.
    type: bool
    default: false
  modules_load_file:
    description:
      - With O(fix=true), the file listing O(kernel_modules) for
        systemd-modules-load or kmod at boot. Not written when
        O(kernel_modules) is empty.
    type: path
    default: /etc/modules-load.d/berth.conf
  sysctl_file:
    description:
      - With O(fix=true), the file persisting O(sysctls). Not written when
        O(sysctls) is empty.
    type: path
    default: /etc/sysctl.d/90-berth.conf
  rootless_users:
    description:
      - Users that will run a rootless engine. Adds the rootless checks
        (RV(rootless)) - user namespaces an unprivileged user may create,
        existing users that own 65536 subordinate UIDs and GIDs,
        setuid C(newuidmap)/C(newgidmap), systemd, and on cgroup v2 the
        C(cpu cpuset io memory pids) controllers delegated to user sessions
        (cgroup v1 is a warning - limits will not apply).
      - With O(fix=true) it also sets C(kernel.unprivileged_userns_clone=1)
        where the kernel has it and C(user.max_user_namespaces) to at least
        15000 (persisted in /etc/sysctl.d/90-berth-rootless.conf), gives each
        user a 65536 range in /etc/subuid and /etc/subgid after every range
        in use, and writes the drop-in
        /etc/systemd/system/user@.service.d/90-berth-delegate.conf (run
        C(systemctl daemon-reload) after it changed).
    type: list
    elements: str
    default: []
  unprivileged_port_start:
    description:
      - With O(rootless_users) and O(fix=true), set
        C(net.ipv4.ip_unprivileged_port_start) to this value, so that
        rootless engines can publish ports from it up (for example C(80)).
        Unset leaves the kernel's value (1024).
    type: int
attributes:
  check_mode:
    support: full
    description: Reports the fixes O(fix=true) would make, and the facts as they are.
  diff_mode:
    support: full
    description: The persisted files' before and after, and the live sysctl values that change.
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

- name: Load, set and persist the modules and sysctls the engine needs
  berth.engine.host_prereqs:
    fix: true
    sysctls:
      net.ipv4.ip_forward: 1
      vm.max_map_count: 262144

- name: Prepare the host for a rootless engine run by alice, with ports from 80 up
  berth.engine.host_prereqs:
    fix: true
    rootless_users: [alice]
    unprivileged_port_start: 80

- name: Does this kernel carry the swarm routing mesh?
  ansible.builtin.debug:
    msg: "{{ prereqs.swarm.routing_mesh }}"
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
  description: >-
    Per requested module, whether it is loaded, built in, available, installed under /lib/modules
    (so modprobe can load it), and the evidence.
  returned: always
  type: dict
swarm:
  description: The kernel features swarm needs, from the kernel config, /proc/modules, modules.builtin and modules.dep.
  returned: always
  type: dict
  contains:
    options:
      description: >-
        Per option (CONFIG_IP_VS, CONFIG_IP_VS_NFCT, CONFIG_IP_VS_PROTO_TCP, CONFIG_IP_VS_PROTO_UDP, CONFIG_IP_VS_RR,
        CONFIG_VXLAN, CONFIG_INET_ESP, CONFIG_XFRM_USER, CONFIG_CRYPTO_GCM) its status (C(builtin), C(module),
        C(missing), or C(unknown) without a readable config), the module providing it and whether that is loaded.
      type: dict
    routing_mesh:
      description: The IPVS family is there (ingress routing mesh); null when unknown.
      type: bool
    vip:
      description: IP_VS is there (service virtual IPs); null when unknown.
      type: bool
    overlay:
      description: VXLAN is there (overlay networks); null when unknown.
      type: bool
    encrypted_overlay:
      description: INET_ESP, XFRM_USER and CRYPTO_GCM are there (encrypted overlay networks); null when unknown.
      type: bool
  sample:
    options:
      CONFIG_IP_VS: {status: missing, module: ip_vs, loaded: false}
      CONFIG_VXLAN: {status: builtin, module: vxlan, loaded: false}
    routing_mesh: false
    vip: false
    overlay: true
    encrypted_overlay: false
actions:
  description: >-
    With O(fix=true), what was done (in check mode, what would be done), in order - C(load_module),
    C(set_sysctl), C(write_file).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "set_sysctl", "name": "net.ipv4.ip_forward", "value": "1", "before": "0"}]
notes:
  description: With O(fix=true), what could not be fixed on this host and why.
  returned: always
  type: list
  elements: str
  sample: ["sysctl net.bridge.bridge-nf-call-iptables: cannot be set here, /proc/sys is read-only"]
firewall:
  description: Paths of iptables, ip6tables and nft (null when absent) and the iptables backend.
  returned: always
  type: dict
userns:
  description: User namespace support (supported, max_user_namespaces, unprivileged_userns_clone).
  returned: always
  type: dict
rootless:
  description: >-
    With O(rootless_users): the users and their uids (passwd), the subordinate ranges of /etc/subuid and
    /etc/subgid (owner, start, count), user namespace facts, newuidmap/newgidmap (path, privileged), the
    controllers user@.service delegates, and the rootless sysctls. Empty otherwise.
  returned: always
  type: dict
  sample:
    users: [alice]
    passwd: {alice: 1001}
    subuid: [[alice, 100000, 65536]]
    delegated: [cpu, cpuset, io, memory, pids]
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

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from ansible_collections.berth.engine.plugins.module_utils import rootless as rl
from ansible_collections.berth.engine.plugins.module_utils.common import checked_module
from ansible_collections.berth.engine.plugins.module_utils.host_access import Host, HostError, HostPrereqs
from ansible_collections.berth.engine.plugins.module_utils.resource import converge

ARGUMENT_SPEC = dict(
    data_root=dict(type="path", default="/var/lib/docker"),
    storage_driver=dict(type="str", default="overlay2"),
    kernel_modules=dict(type="list", elements="str", default=["overlay", "br_netfilter"]),
    sysctls=dict(type="dict", default=dict(pr.DEFAULT_SYSCTLS)),
    cgroup_v2=dict(type="bool", default=True),
    extra_kernel_options=dict(type="list", elements="str", default=[]),
    kernel_config_path=dict(type="path"),
    fix=dict(type="bool", default=False),
    modules_load_file=dict(type="path", default=pr.MODULES_LOAD_FILE),
    sysctl_file=dict(type="path", default=pr.SYSCTL_FILE),
    rootless_users=dict(type="list", elements="str", default=[]),
    unprivileged_port_start=dict(type="int"),
)
# Fixes that change the running kernel: only after one of these are the facts read again.
LIVE_ACTIONS = ("load_module", "set_sysctl")


def main():
    module = checked_module(ARGUMENT_SPEC, supports_check_mode=True)  # the value checks every module makes
    host = Host(run=module.run_command, which=module.get_bin_path)
    # fail_json outside the except blocks: inside one, ansible-core attaches the handled exception as a traceback.
    failure = None
    try:
        resource = HostPrereqs(host, module.params, module.check_mode)
    except ValueError as err:
        failure = "host_prereqs: %s. Nothing was read or changed." % err
    if failure:
        module.fail_json(msg=failure)
    try:
        plan, state, result = converge(resource)
    except HostError as err:
        failure = ("host_prereqs could not persist a fix: %s. Make the directory writable or choose "
                   "another modules_load_file/sysctl_file." % err)
    if failure:
        module.fail_json(msg=failure)
    facts = state["facts"]
    done = plan.actions if module.check_mode else result["done"]
    # Rootless fixes (ID ranges, the drop-in) change what is checked too.
    if any(a["action"] in LIVE_ACTIONS or a.get("path") in rl.FIX_FILES for a in result["done"]):
        facts = host.gather(resource.desired)
    desired = resource.desired
    problems = pr.sort_problems(pr.evaluate(facts, want_cgroup_v2=desired["cgroup_v2"],
                                            storage_driver=desired["storage_driver"],
                                            sysctls=desired["sysctls"], kernel_modules=desired["kernel_modules"]))
    extra = {"diff": plan.diffs()} if module._diff and done else {}
    module.exit_json(changed=bool(done), actions=[_public(a) for a in done], notes=plan.warnings + result["notes"],
                     problems=problems, summary=pr.summarize(problems), **dict(facts, **extra))


def _public(action):
    """An action without the file content (the diff shows that)."""
    return dict((k, v) for k, v in action.items() if k != "content")


if __name__ == "__main__":
    main()
