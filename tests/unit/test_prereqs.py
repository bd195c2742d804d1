"""Unit tests for plugins/module_utils/prereqs.py: pure parsing and evaluation.

The samples below are copied from real hosts: a Debian 12 VM in hybrid mode
(this development machine), a Debian 12 systemd host (unified), a CentOS 7
host (legacy), and container views of them.
"""

import gzip
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "collections"))

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr  # noqa: E402

HYBRID_MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 23 0:25 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:28 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:30 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:31 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:32 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:34 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 27 254:0 /var/lib/docker /var/lib/docker rw,relatime - ext4 /dev/vda rw,discard
"""

UNIFIED_MOUNTINFO = """\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
60 26 8:17 / /srv/data rw,relatime shared:30 - xfs /dev/sdb1 rw,attr2,inode64,noquota
61 26 0:50 / /mnt/my\\040disk rw,relatime shared:31 - ext4 /dev/sdc1 rw
"""

LEGACY_PROC_MOUNTS = """\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/mapper/centos-root / xfs rw,relatime,attr2,inode64,noquota 0 0
tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpuacct,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
cgroup /sys/fs/cgroup/devices cgroup rw,nosuid,nodev,noexec,relatime,devices 0 0
"""

CONTAINER_OVERLAY_MOUNTINFO = """\
600 500 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
601 600 0:61 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw
"""

KCONFIG = """\
#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_NAMESPACES=y
CONFIG_NET_NS=y
CONFIG_PID_NS=y
CONFIG_IPC_NS=y
CONFIG_UTS_NS=y
CONFIG_CGROUPS=y
CONFIG_CGROUP_SCHED=y
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
# CONFIG_NETFILTER_XT_MATCH_IPVS is not set
CONFIG_NETFILTER_XT_MARK=m
CONFIG_IP_NF_RAW=m
CONFIG_IP_NF_NAT=m
CONFIG_NF_NAT=m
CONFIG_IP6_NF_RAW=m
CONFIG_IP6_NF_NAT=m
CONFIG_POSIX_MQUEUE=y
CONFIG_CGROUP_FREEZER=y
CONFIG_CGROUP_DEVICE=y
CONFIG_CPUSETS=y
CONFIG_CGROUP_CPUACCT=y
CONFIG_MEMCG=y
CONFIG_CGROUP_BPF=y
CONFIG_OVERLAY_FS=m
CONFIG_LOCALVERSION="-amd64"
"""


# ---------------------------------------------------------------- mounts


def test_hybrid_layout():
    layout = pr.cgroup_layout(pr.parse_mounts(HYBRID_MOUNTINFO), "hugetlb\n")
    assert layout["mode"] == "hybrid"
    assert layout["v2_mountpoint"] == "/sys/fs/cgroup/unified"
    assert layout["v2_controllers"] == ["hugetlb"]
    assert "memory" in layout["v1_controllers"]
    assert "name=systemd" in layout["v1_controllers"]
    assert "/sys/fs/cgroup/pids" in layout["v1_mountpoints"]


def test_unified_layout_and_controllers():
    layout = pr.cgroup_layout(pr.parse_mounts(UNIFIED_MOUNTINFO), "cpuset cpu io memory hugetlb pids rdma misc\n")
    assert layout["mode"] == "unified"
    assert layout["v2_mountpoint"] == "/sys/fs/cgroup"
    assert layout["v1_controllers"] == []
    assert set(pr.V2_CONTROLLERS) <= set(layout["v2_controllers"])


def test_legacy_layout_from_proc_mounts():
    mounts = pr.parse_mounts(LEGACY_PROC_MOUNTS)
    layout = pr.cgroup_layout(mounts)
    assert layout["mode"] == "legacy"
    assert layout["v2_mountpoint"] is None
    assert layout["v2_controllers"] == []
    assert {"cpu", "cpuacct", "memory", "devices"} <= set(layout["v1_controllers"])


def test_no_cgroups():
    mounts = pr.parse_mounts("proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    assert pr.cgroup_layout(mounts)["mode"] == "none"


def test_container_view_of_unified_host():
    layout = pr.cgroup_layout(pr.parse_mounts(CONTAINER_OVERLAY_MOUNTINFO), "cpu memory pids\n")
    assert layout["mode"] == "unified"
    assert layout["v2_controllers"] == ["cpu", "memory", "pids"]


def test_mount_escapes_and_longest_prefix():
    mounts = pr.parse_mounts(UNIFIED_MOUNTINFO)
    assert pr.mount_for_path(mounts, "/mnt/my disk/docker")["fstype"] == "ext4"
    assert pr.mount_for_path(mounts, "/srv/data/docker")["fstype"] == "xfs"
    # /srv/database must not match the /srv/data mount
    assert pr.mount_for_path(mounts, "/srv/database")["mountpoint"] == "/"
    assert pr.mount_for_path(mounts, "/var/lib/docker")["source"] == "/dev/sda1"
    hybrid = pr.parse_mounts(HYBRID_MOUNTINFO)
    assert pr.mount_for_path(hybrid, "/var/lib/docker")["mountpoint"] == "/var/lib/docker"


# ---------------------------------------------------------------- kernel config


def test_parse_kernel_config_values():
    cfg = pr.parse_kernel_config(KCONFIG)
    assert cfg["CONFIG_VETH"] == "m"
    assert cfg["CONFIG_NAMESPACES"] == "y"
    assert cfg["CONFIG_NETFILTER_XT_MATCH_IPVS"] == "n"
    assert cfg["CONFIG_LOCALVERSION"] == "-amd64"
    assert pr.option_enabled(cfg, "CONFIG_OVERLAY_FS")
    assert not pr.option_enabled(cfg, "CONFIG_NETFILTER_XT_MATCH_IPVS")
    assert not pr.option_enabled(cfg, "CONFIG_DOES_NOT_EXIST")


def test_gzip_config_is_decoded():
    data = gzip.compress(KCONFIG.encode())
    assert pr.read_kernel_config_bytes(data) == KCONFIG
    assert pr.read_kernel_config_bytes(KCONFIG.encode()) == KCONFIG


def test_required_options_depend_on_cgroup_mode_and_driver():
    legacy = dict(pr.required_kernel_options("legacy"))
    unified = dict(pr.required_kernel_options("unified"))
    hybrid = dict(pr.required_kernel_options("hybrid"))
    assert "CONFIG_MEMCG" in legacy and "CONFIG_CGROUP_BPF" not in legacy
    assert "CONFIG_CGROUP_BPF" in unified and "CONFIG_MEMCG" not in unified
    assert "CONFIG_MEMCG" in hybrid and "CONFIG_CGROUP_BPF" in hybrid
    assert unified["CONFIG_OVERLAY_FS"] == "error"
    assert "CONFIG_OVERLAY_FS" not in dict(pr.required_kernel_options("unified", "btrfs"))
    extra = dict(pr.required_kernel_options("unified", extra=["VXLAN", "CONFIG_IPVLAN"]))
    assert extra["CONFIG_VXLAN"] == "error" and extra["CONFIG_IPVLAN"] == "error"


def test_missing_options_from_sample_config():
    cfg = pr.parse_kernel_config(KCONFIG)
    missing = pr.missing_kernel_options(cfg, pr.required_kernel_options("hybrid"))
    assert missing == [("CONFIG_NETFILTER_XT_MATCH_IPVS", "warning")]
    cfg_no_veth = pr.parse_kernel_config(KCONFIG.replace("CONFIG_VETH=m", "# CONFIG_VETH is not set"))
    missing = dict(pr.missing_kernel_options(cfg_no_veth, pr.required_kernel_options("unified")))
    assert missing["CONFIG_VETH"] == "error"


def test_kernel_version_tuple():
    assert pr.kernel_version_tuple("6.1.0-18-amd64") == (6, 1, 0)
    assert pr.kernel_version_tuple("3.10.0-1160.el7.x86_64") == (3, 10, 0)
    assert pr.kernel_version_tuple("6.18") == (6, 18, 0)
    assert pr.kernel_version_tuple("") == (0, 0, 0)


# ---------------------------------------------------------------- modules, fs


def test_filesystems_and_modules_parsing():
    fs = pr.parse_filesystems("nodev\tsysfs\nnodev\toverlay\n\text4\n")
    assert fs == ["sysfs", "overlay", "ext4"]
    loaded = pr.parse_proc_modules("overlay 151552 0 - Live 0x0\nbr_netfilter 32768 0 - Live 0x0\n")
    assert loaded == ["overlay", "br_netfilter"]
    builtin = pr.parse_modules_builtin("kernel/fs/overlayfs/overlay.ko\nkernel/net/bridge/br-netfilter.ko.xz\n")
    assert builtin == ["overlay", "br_netfilter"]


def test_module_status_evidence():
    st = pr.module_status("br_netfilter", [], [], [], [], ["net.bridge.bridge-nf-call-iptables"])
    assert st["available"] and not st["loaded"] and st["evidence"] == ["net.bridge sysctls"]
    st = pr.module_status("overlay", ["overlay"], [], ["overlay"], ["overlay"], [])
    assert st["loaded"] and "/sys/module" not in st["evidence"]
    st = pr.module_status("br_netfilter", [], [], [], ["overlay"], [])
    assert not st["available"] and st["evidence"] == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("naming   =version 2              bsize=4096   ascii-ci=0, ftype=1\n", 1),
        ("naming   =version 2              bsize=4096   ascii-ci=0 ftype=0\n", 0),
        ("meta-data=/dev/sdb1 isize=256\n", None),
    ],
)
def test_xfs_ftype(text, expected):
    assert pr.parse_xfs_ftype(text) == expected


def test_dtype_support():
    assert pr.dtype_support("ext4") is True
    assert pr.dtype_support("xfs", 1) is True
    assert pr.dtype_support("xfs", 0) is False
    assert pr.dtype_support("xfs", None) is None
    assert pr.dtype_support("nfs") is None


# ---------------------------------------------------------------- container, boot


def test_detect_container_variants():
    bare = pr.detect_container(pid1_cgroup_text="0::/init.scope\n", detect_virt="none")
    assert bare == {"is_container": False, "type": None, "evidence": []}
    docker = pr.detect_container(dockerenv=True, pid1_cgroup_text="0::/\n")
    assert docker["is_container"] and docker["type"] == "docker"
    podman = pr.detect_container(containerenv=True, pid1_environ={"container": "podman"})
    assert podman["type"] == "podman" and len(podman["evidence"]) == 2
    lxc = pr.detect_container(pid1_environ={"container": "lxc"})
    assert lxc["type"] == "lxc"
    v1 = pr.detect_container(pid1_cgroup_text="12:memory:/docker/0123abcd\n1:name=systemd:/docker/0123abcd\n")
    assert v1["is_container"] and v1["type"] == "docker"
    k8s = pr.detect_container(pid1_cgroup_text="0::/kubepods/besteffort/pod1/abc\n")
    assert k8s["type"] == "kubernetes"
    sdv = pr.detect_container(detect_virt="systemd-nspawn\n")
    assert sdv["type"] == "systemd-nspawn"


def test_cmdline():
    params = pr.parse_cmdline(
        "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet systemd.unified_cgroup_hierarchy=0 "
        "systemd.unified_cgroup_hierarchy=1 -- --init-arg=1"
    )
    assert params["systemd.unified_cgroup_hierarchy"] == "1"
    assert params["quiet"] == ""
    assert "--init-arg" not in params


def test_bootloader_kind():
    assert pr.bootloader_kind({}) == "none"
    assert pr.bootloader_kind({"/usr/sbin/update-grub": True}) == "none"
    assert pr.bootloader_kind({"/usr/sbin/update-grub": True, "/boot/grub/grub.cfg": True}) == "grub"
    assert pr.bootloader_kind({"/usr/sbin/grubby": True, "/boot/loader/entries": True}) == "grubby"


# ---------------------------------------------------------------- evaluate


def _facts(**over):
    facts = {
        "kernel": {
            "release": "6.1.0-18-amd64",
            "config_readable": True,
            "config_source": "/boot/config-6.1.0-18-amd64",
            "missing_options": [],
        },
        "cgroup": {
            "mode": "unified",
            "v2_mountpoint": "/sys/fs/cgroup",
            "v2_controllers": ["cpu", "cpuset", "io", "memory", "pids"],
        },
        "storage": {
            "data_root": "/var/lib/docker",
            "path_checked": "/var/lib",
            "fstype": "ext4",
            "d_type": True,
            "overlay_supported": True,
        },
        "sysctls": dict(pr.DEFAULT_SYSCTLS),
        "kernel_modules": {"overlay": {"available": True}, "br_netfilter": {"available": True}},
        "firewall": {"iptables": "/usr/sbin/iptables"},
        "userns": {"supported": True, "max_user_namespaces": 100},
        "init": {"pid1": "systemd", "systemd": True},
        "container": {"is_container": False, "evidence": []},
        "bootloader": {"type": "grub"},
    }
    for key, value in over.items():
        facts[key] = dict(facts[key], **value)
    return facts


def _ids(problems):
    return [p["id"] for p in problems]


def test_healthy_host_has_no_problems():
    assert pr.evaluate(_facts()) == []


def test_every_problem_has_the_four_fields():
    problems = pr.evaluate(
        _facts(
            kernel={"config_readable": False},
            cgroup={"mode": "legacy", "v2_mountpoint": None},
            firewall={"iptables": None},
            init={"systemd": False, "pid1": "init"},
        )
    )
    assert problems
    for p in problems:
        assert set(p) == {"id", "severity", "message", "fix"}
        assert p["severity"] in pr.SEVERITIES
        assert p["message"] and p["fix"]


def test_unreadable_config_is_info_only():
    problems = pr.evaluate(_facts(kernel={"config_readable": False, "config_source": None}))
    assert _ids(problems) == ["kernel_config_unreadable"]
    assert problems[0]["severity"] == "info"


def test_hybrid_host_without_bootloader_like_this_machine():
    problems = pr.evaluate(
        _facts(
            cgroup={"mode": "hybrid", "v2_mountpoint": "/sys/fs/cgroup/unified", "v2_controllers": ["hugetlb"]},
            bootloader={"type": "none"},
            init={"systemd": False, "pid1": "process_api"},
            kernel={"missing_options": [["CONFIG_NETFILTER_XT_MATCH_IPVS", "warning"]]},
        )
    )
    by_id = {p["id"]: p for p in problems}
    assert by_id["cgroup_v2_disabled"]["severity"] == "warning"
    assert "No bootloader" in by_id["cgroup_v2_disabled"]["fix"]
    assert by_id["no_bootloader"]["severity"] == "info"
    assert by_id["pid1_not_systemd"]["severity"] == "info"
    assert by_id["kernel_option_missing:CONFIG_NETFILTER_XT_MATCH_IPVS"]["severity"] == "warning"
    assert pr.summarize(problems)["error"] == 0
    # the v2 controller check only applies to unified hosts
    assert not any(i.startswith("cgroup_v2_controller_missing") for i in by_id)


def test_cgroup_v2_not_wanted():
    problems = pr.evaluate(_facts(cgroup={"mode": "legacy", "v2_mountpoint": None}), want_cgroup_v2=False)
    assert "cgroup_v2_disabled" not in _ids(problems)


def test_container_fix_points_outside():
    problems = pr.evaluate(
        _facts(cgroup={"mode": "hybrid"}, container={"is_container": True, "evidence": ["/.dockerenv exists"]})
    )
    by_id = {p["id"]: p for p in problems}
    assert "container host" in by_id["cgroup_v2_disabled"]["fix"]
    assert "/.dockerenv" in by_id["host_is_container"]["message"]


def test_missing_controllers_on_unified():
    problems = pr.evaluate(_facts(cgroup={"v2_controllers": ["cpu", "memory"]}))
    assert sorted(_ids(problems)) == [
        "cgroup_v2_controller_missing:cpuset",
        "cgroup_v2_controller_missing:io",
        "cgroup_v2_controller_missing:pids",
    ]


def test_xfs_ftype0_is_an_error():
    problems = pr.evaluate(_facts(storage={"fstype": "xfs", "xfs_ftype": 0, "d_type": False}))
    assert _ids(problems) == ["xfs_ftype_0"]
    assert problems[0]["severity"] == "error"
    assert "ftype=1" in problems[0]["fix"]
    ok = pr.evaluate(_facts(storage={"fstype": "xfs", "xfs_ftype": 1, "d_type": True}))
    assert ok == []


def test_data_root_on_overlay_and_unknown_fs():
    problems = pr.evaluate(_facts(storage={"fstype": "overlay", "d_type": True}))
    assert _ids(problems) == ["data_root_on_overlay"]
    problems = pr.evaluate(_facts(storage={"fstype": "nfs", "d_type": None}))
    assert _ids(problems) == ["d_type_unknown"]
    # Other storage drivers skip the overlay checks
    assert pr.evaluate(_facts(storage={"fstype": "overlay"}), storage_driver="vfs") == []


def test_overlay_unavailable_and_missing_error_option():
    problems = pr.evaluate(
        _facts(storage={"overlay_supported": False}, kernel={"missing_options": [["CONFIG_VETH", "error"]]})
    )
    summary = pr.summarize(problems)
    assert summary["error"] == 2
    assert set(summary["error_ids"]) == {"overlay_unavailable", "kernel_option_missing:CONFIG_VETH"}


def test_sysctls_and_modules():
    problems = pr.evaluate(
        _facts(
            sysctls={
                "net.ipv4.ip_forward": "0",
                "net.bridge.bridge-nf-call-iptables": None,
                "net.bridge.bridge-nf-call-ip6tables": None,
            },
            kernel_modules={"br_netfilter": {"available": False}},
        )
    )
    by_id = {p["id"]: p for p in problems}
    assert "sysctl -w net.ipv4.ip_forward=1" in by_id["sysctl_mismatch:net.ipv4.ip_forward"]["fix"]
    assert "br_netfilter" in by_id["sysctl_missing:net.bridge.bridge-nf-call-iptables"]["fix"]
    assert by_id["kernel_module_missing:br_netfilter"]["severity"] == "warning"


def test_custom_sysctls_compare_as_strings():
    facts = _facts(sysctls={"vm.max_map_count": "262144"})
    assert pr.evaluate(facts, sysctls={"vm.max_map_count": 262144}) == []
    assert _ids(pr.evaluate(facts, sysctls={"vm.max_map_count": 65530})) == ["sysctl_mismatch:vm.max_map_count"]


def test_iptables_missing_and_old_kernel():
    problems = pr.evaluate(_facts(firewall={"iptables": None}, kernel={"release": "3.2.0-4-amd64"}))
    assert set(pr.summarize(problems)["error_ids"]) == {"iptables_missing", "kernel_too_old"}


def test_unknown_severity_is_rejected():
    with pytest.raises(ValueError):
        pr.problem("x", "fatal", "m", "f")
