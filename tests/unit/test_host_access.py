"""plugins/module_utils/host_access.py against a sample host tree (tests/unit/prereqs_samples.py).

Host reads below a root, so a Debian 12 host written to tmp_path stands in
for /; fix mode writes its sysctls and files into that tree too.
"""
from __future__ import annotations

import pytest

from ansible_collections.berth.engine.plugins.module_utils import host_access as hf
from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from ansible_collections.berth.engine.plugins.module_utils.resource import converge
from tests.unit.prereqs_samples import RELEASE, host_tree

TOOLS = {"iptables": "/usr/sbin/iptables", "ip6tables": "/usr/sbin/ip6tables", "modprobe": "/usr/sbin/modprobe",
         "systemd-detect-virt": "/usr/bin/systemd-detect-virt"}


class FakeCommands:
    """run/which for Host: canned outputs, and a modprobe that loads into the tree's /proc/modules."""

    def __init__(self, root, modprobe_rc=0):
        self.root = root
        self.modprobe_rc = modprobe_rc
        self.calls = []

    def which(self, name):
        return TOOLS.get(name)

    def run(self, argv):
        self.calls.append(argv)
        if argv[0].endswith("iptables"):
            return 0, "iptables v1.8.9 (nf_tables)\n", ""
        if argv[0].endswith("systemd-detect-virt"):
            return 1, "none\n", ""
        if argv[0].endswith("modprobe"):
            if self.modprobe_rc:
                return self.modprobe_rc, "", "modprobe: FATAL: Module %s not found.\n" % argv[1]
            with open(self.root / "proc/modules", "a") as f:
                f.write("%s 16384 0 - Live 0x0\n" % argv[1])
            if argv[1] == "br_netfilter":
                (self.root / "proc/sys/net/bridge").mkdir(parents=True, exist_ok=True)
                for name in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables"):
                    (self.root / "proc/sys/net/bridge" / name).write_text("0\n")
            return 0, "", ""
        return 127, "", "unexpected command"


def make_host(root, changes=None, modprobe_rc=0):
    host_tree(root, changes)
    commands = FakeCommands(root, modprobe_rc)
    return hf.Host(root=str(root), run=commands.run, which=commands.which, release=RELEASE, version="#1 SMP"), commands


def desired(**params):
    return pr.desire(params)


def test_gather_reads_every_source(tmp_path):
    host, _unused = make_host(tmp_path)
    facts = host.gather(desired())
    assert facts["kernel"]["config_source"] == "/boot/config-%s" % RELEASE
    assert facts["kernel"]["missing_options"] == [] and facts["kernel"]["modules_supported"]
    assert facts["cgroup"]["mode"] == "unified" and "memory" in facts["cgroup"]["v2_controllers"]
    assert facts["sysctls"] == dict(pr.DEFAULT_SYSCTLS)
    assert facts["kernel_modules"]["overlay"]["loaded"] and facts["kernel_modules"]["overlay"]["installed"]
    assert facts["storage"]["fstype"] == "ext4" and facts["storage"]["path_checked"] == "/var/lib/docker"
    assert facts["storage"]["overlay_supported"] and facts["storage"]["d_type"] is True
    assert facts["firewall"]["iptables_backend"] == "nf_tables"
    assert facts["userns"] == {"supported": True, "max_user_namespaces": 63230, "unprivileged_userns_clone": 1}
    assert facts["init"] == {"pid1": "systemd", "systemd": True}
    assert facts["container"]["is_container"] is False
    assert facts["bootloader"]["type"] == "grub"
    assert pr.evaluate(facts) == []


def test_swarm_features_from_the_tree(tmp_path):
    host, _unused = make_host(tmp_path)
    swarm = host.gather(desired())["swarm"]
    assert swarm["options"]["CONFIG_IP_VS"] == {"status": "module", "module": "ip_vs", "loaded": False}
    assert swarm["options"]["CONFIG_XFRM_USER"]["loaded"] is True
    assert swarm["options"]["CONFIG_CRYPTO_GCM"]["status"] == "builtin"
    assert swarm["routing_mesh"] and swarm["vip"] and swarm["overlay"] and swarm["encrypted_overlay"]


def test_kernel_config_override_and_proc_config_gz(tmp_path):
    import gzip

    host, _unused = make_host(tmp_path, {"proc/config.gz": None})
    (tmp_path / "proc/config.gz").write_bytes(gzip.compress(b"CONFIG_NAMESPACES=y\n"))
    config, source = host.kernel_config()
    assert source == "/proc/config.gz" and config == {"CONFIG_NAMESPACES": "y"}
    assert host.kernel_config("/absent") == (None, None)


def test_sysctl_names_never_leave_proc_sys(tmp_path):
    host, _unused = make_host(tmp_path)
    assert host.sysctl_path("net.bridge.bridge-nf-call-iptables") == "/proc/sys/net/bridge/bridge-nf-call-iptables"
    for hostile in ("x./etc/hostname", "../../etc/hostname", "net..ipv4", "a/b"):
        with pytest.raises(ValueError) as err:
            host.sysctls([hostile])
        assert "secret-host-name" not in str(err.value)


def test_fix_loads_sets_and_persists_then_is_idempotent(tmp_path):
    changes = {"proc/modules": "overlay 151552 0 - Live 0x0\n", "sys/module/br_netfilter/refcnt": None,
               "proc/sys/net/bridge/bridge-nf-call-iptables": None,
               "proc/sys/net/bridge/bridge-nf-call-ip6tables": None, "proc/sys/net/ipv4/ip_forward": "0\n"}
    host, commands = make_host(tmp_path, changes)
    params = dict(fix=True, sysctls=dict(pr.DEFAULT_SYSCTLS, **{"net.ipv4.tcp_rmem": "4096 131072 6291456"}))
    resource = hf.HostPrereqs(host, params)
    plan, state, result = converge(resource)
    assert plan.action_names() == ["load_module", "set_sysctl", "set_sysctl", "set_sysctl", "write_file",
                                   "write_file"]
    assert [a["action"] for a in result["done"]] == plan.action_names() and result["notes"] == []
    assert ["/usr/sbin/modprobe", "br_netfilter"] in commands.calls
    assert (tmp_path / "proc/sys/net/ipv4/ip_forward").read_text() == "1"
    assert (tmp_path / "proc/sys/net/bridge/bridge-nf-call-iptables").read_text() == "1"
    persisted = (tmp_path / "etc/modules-load.d/berth.conf").read_text().splitlines()
    assert persisted[1:] == ["overlay", "br_netfilter"]
    sysctl_conf = (tmp_path / "etc/sysctl.d/90-berth.conf").read_text()
    assert "net.ipv4.ip_forward = 1\n" in sysctl_conf and "net.ipv4.tcp_rmem = 4096 131072 6291456\n" in sysctl_conf
    assert oct((tmp_path / "etc/sysctl.d/90-berth.conf").stat().st_mode & 0o777) == "0o644"
    assert not list((tmp_path / "etc/sysctl.d").glob(".berth-*"))  # no temporary file left behind

    again = hf.HostPrereqs(host, params)
    plan, _state, result = converge(again)
    assert plan.actions == [] and result == {"done": [], "notes": []}


def test_check_mode_plans_without_touching_the_tree(tmp_path):
    host, commands = make_host(tmp_path, {"proc/sys/net/ipv4/ip_forward": "0\n"})
    plan, _state, result = converge(hf.HostPrereqs(host, {"fix": True}, check_mode=True))
    assert plan.action_names() == ["set_sysctl", "write_file", "write_file"]
    assert result == {"done": [], "notes": []}
    assert (tmp_path / "proc/sys/net/ipv4/ip_forward").read_text() == "0\n"
    assert not (tmp_path / "etc/modules-load.d").exists()
    assert not any(c[0].endswith("modprobe") for c in commands.calls)
    diffs = plan.diffs()
    assert diffs[0]["after_header"] == "/etc/modules-load.d/berth.conf" and diffs[0]["before"] == ""
    assert diffs[-1]["before"] == {"net.ipv4.ip_forward": "0"} and diffs[-1]["after"] == {"net.ipv4.ip_forward": "1"}


def test_a_module_that_cannot_be_loaded_is_a_note(tmp_path):
    changes = {"proc/modules": "", "sys/module/br_netfilter/refcnt": None,
               "proc/sys/net/bridge/bridge-nf-call-iptables": None,
               "proc/sys/net/bridge/bridge-nf-call-ip6tables": None}
    host, _unused = make_host(tmp_path, changes, modprobe_rc=1)
    plan, _state, result = converge(hf.HostPrereqs(host, {"fix": True}))
    assert "load_module" in plan.action_names()
    assert any("br_netfilter: modprobe failed: modprobe: FATAL" in n for n in result["notes"])
    # the bridge sysctls did not appear: noted, not written, not a change
    assert any("bridge-nf-call-iptables: does not exist" in n for n in result["notes"])
    assert [a["action"] for a in result["done"]] == ["write_file", "write_file"]


def test_unwritable_persisted_file_fails_clearly(tmp_path):
    host, _unused = make_host(tmp_path, {"etc/sysctl.d": "a file where the directory should be"})
    with pytest.raises(hf.HostError) as err:
        converge(hf.HostPrereqs(host, {"fix": True, "sysctl_file": "/etc/sysctl.d/90-berth.conf"}))
    assert "cannot write" in str(err.value) and "/etc/sysctl.d/90-berth.conf" in str(err.value)


def test_container_without_proc_modules_and_readonly_sysctls(tmp_path):
    changes = {"proc/modules": None, "lib/modules/%s/modules.dep" % RELEASE: None,
               "proc/sys/net/ipv4/ip_forward": "0\n", ".dockerenv": ""}
    host, _unused = make_host(tmp_path, changes)
    (tmp_path / "proc/sys/net/ipv4/ip_forward").chmod(0o444)
    resource = hf.HostPrereqs(host, {"fix": True})
    state = resource.read()
    state["sysctl_writable"] = {"net.ipv4.ip_forward": False}  # root ignores the mode bits; /proc/sys would not
    plan = resource.plan(state)
    assert "set_sysctl" not in plan.action_names()
    assert any("ip_forward: cannot be set here" in w and "outer host" in w for w in plan.warnings)
    assert any("cannot load modules" in w and "built in" in w for w in plan.warnings)
