"""A Debian 12 host (kernel 6.1.0-18-amd64, systemd, unified cgroup v2) as a file tree, for unit tests.

The contents are trimmed copies of the real files: /proc/self/mountinfo,
/proc/modules, /proc/filesystems, modules.builtin and modules.dep (Debian 12
ships uncompressed .ko, newer kernels .ko.xz), the kernel config, /proc/sys.
`host_tree(tmp_path, changes)` writes it under tmp_path; a change maps a
path to new content, or to None to leave the file out.
"""
from __future__ import annotations

from pathlib import Path

RELEASE = "6.1.0-18-amd64"

MOUNTINFO = """\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
60 26 8:17 / /srv/data rw,relatime shared:30 - xfs /dev/sdb1 rw,attr2,inode64,logbufs=8,logbsize=32k,noquota
"""

PROC_MODULES = """\
br_netfilter 32768 0 - Live 0x0000000000000000
bridge 311296 1 br_netfilter, Live 0x0000000000000000
stp 16384 1 bridge, Live 0x0000000000000000
llc 16384 2 bridge,stp, Live 0x0000000000000000
overlay 151552 0 - Live 0x0000000000000000
xfrm_user 53248 1 - Live 0x0000000000000000
"""

PROC_FILESYSTEMS = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup2\nnodev\toverlay\n\text4\n\txfs\n"

MODULES_BUILTIN = """\
kernel/arch/x86/crypto/crc32c-intel.ko
kernel/crypto/gcm.ko
kernel/fs/ext4/ext4.ko
kernel/lib/crc16.ko
"""

MODULES_DEP = """\
kernel/fs/overlayfs/overlay.ko:
kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko
kernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko
kernel/drivers/net/vxlan/vxlan.ko.xz: kernel/net/ipv4/udp_tunnel.ko kernel/net/ipv6/ip6_udp_tunnel.ko
kernel/net/ipv4/esp4.ko: kernel/net/xfrm/xfrm_algo.ko
kernel/net/xfrm/xfrm_user.ko: kernel/net/xfrm/xfrm_algo.ko
kernel/net/sched/sch_fq_codel.ko:
"""

KERNEL_CONFIG = """\
#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.76 Kernel Configuration
#
CONFIG_MODULES=y
CONFIG_NAMESPACES=y
CONFIG_NET_NS=y
CONFIG_PID_NS=y
CONFIG_IPC_NS=y
CONFIG_UTS_NS=y
CONFIG_CGROUPS=y
CONFIG_CGROUP_SCHED=y
CONFIG_CGROUP_BPF=y
CONFIG_KEYS=y
CONFIG_VETH=m
CONFIG_BRIDGE=m
CONFIG_BRIDGE_NETFILTER=m
CONFIG_IP_NF_FILTER=m
CONFIG_IP_NF_MANGLE=m
CONFIG_IP_NF_TARGET_MASQUERADE=m
CONFIG_IP6_NF_FILTER=m
CONFIG_IP6_NF_MANGLE=m
CONFIG_IP6_NF_TARGET_MASQUERADE=m
CONFIG_NETFILTER_XT_MATCH_ADDRTYPE=m
CONFIG_NETFILTER_XT_MATCH_CONNTRACK=m
CONFIG_NETFILTER_XT_MATCH_IPVS=m
CONFIG_NETFILTER_XT_MARK=m
CONFIG_IP_NF_RAW=m
CONFIG_IP_NF_NAT=m
CONFIG_NF_NAT=m
CONFIG_IP6_NF_RAW=m
CONFIG_IP6_NF_NAT=m
CONFIG_POSIX_MQUEUE=y
CONFIG_OVERLAY_FS=m
CONFIG_IP_VS=m
CONFIG_IP_VS_NFCT=y
CONFIG_IP_VS_PROTO_TCP=y
CONFIG_IP_VS_PROTO_UDP=y
CONFIG_IP_VS_RR=m
CONFIG_VXLAN=m
CONFIG_INET_ESP=m
CONFIG_XFRM_USER=m
CONFIG_CRYPTO_GCM=y
"""

FILES = {
    "proc/self/mountinfo": MOUNTINFO,
    "proc/modules": PROC_MODULES,
    "proc/filesystems": PROC_FILESYSTEMS,
    "proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz-%s root=UUID=0b5d ro quiet\n" % RELEASE,
    "proc/1/comm": "systemd\n",
    "proc/1/cgroup": "0::/init.scope\n",
    "proc/1/environ": "HOME=/\0TERM=linux\0BOOT_IMAGE=/boot/vmlinuz\0",
    "proc/self/ns/user": "",
    "proc/sys/net/ipv4/ip_forward": "1\n",
    "proc/sys/net/bridge/bridge-nf-call-iptables": "1\n",
    "proc/sys/net/bridge/bridge-nf-call-ip6tables": "1\n",
    "proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t6291456\n",
    "proc/sys/user/max_user_namespaces": "63230\n",
    "proc/sys/kernel/unprivileged_userns_clone": "1\n",
    "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
    "sys/module/overlay/refcnt": "0\n",
    "sys/module/br_netfilter/refcnt": "0\n",
    "lib/modules/%s/modules.builtin" % RELEASE: MODULES_BUILTIN,
    "lib/modules/%s/modules.dep" % RELEASE: MODULES_DEP,
    "lib/modules/%s/kernel/fs/overlayfs/overlay.ko" % RELEASE: "",
    "boot/config-%s" % RELEASE: KERNEL_CONFIG,
    "boot/grub/grub.cfg": "### BEGIN /etc/grub.d/00_header ###\n",
    "usr/sbin/update-grub": "#!/bin/sh\n",
    "etc/default/grub": 'GRUB_CMDLINE_LINUX=""\n',
    "etc/hostname": "secret-host-name-7f3a\n",
    "run/systemd/system/.present": "",
    "var/lib/docker/.present": "",
}


def host_tree(root: Path, changes: dict | None = None) -> Path:
    """Write the sample host under root; changes use paths without the leading slash."""
    files = dict(FILES)
    files.update(changes or {})
    for rel, content in files.items():
        if content is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root
