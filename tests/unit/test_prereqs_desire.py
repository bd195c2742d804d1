"""prereqs.desire: every name that becomes a path or an argument is validated before anything is read."""
from __future__ import annotations

import pytest

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr


def test_defaults():
    desired = pr.desire({})
    assert desired["sysctls"] == pr.DEFAULT_SYSCTLS
    assert desired["kernel_modules"] == ["overlay", "br_netfilter"]
    assert desired["modules_load_file"] == "/etc/modules-load.d/berth.conf"
    assert desired["sysctl_file"] == "/etc/sysctl.d/90-berth.conf"
    assert desired["fix"] is False and desired["cgroup_v2"] is True


def test_values_become_text_and_options_get_their_prefix():
    desired = pr.desire({"sysctls": {"vm.max_map_count": 262144, "net.ipv4.tcp_rmem": " 4096 131072 6291456 "},
                         "extra_kernel_options": ["VXLAN", "CONFIG_IPVLAN"]})
    assert desired["sysctls"] == {"vm.max_map_count": "262144", "net.ipv4.tcp_rmem": "4096 131072 6291456"}
    assert desired["extra_kernel_options"] == ["CONFIG_VXLAN", "CONFIG_IPVLAN"]


@pytest.mark.parametrize("name", ["x./etc/hostname", "../../etc/hostname", "net/ipv4/ip_forward", "net..ipv4",
                                  ".net.ipv4", "net.ipv4.", "", "net.ipv4.ip forward", "net.ipv4.\0x"])
def test_hostile_sysctl_names(name):
    with pytest.raises(ValueError) as err:
        pr.desire({"sysctls": {name: "1"}})
    assert str(err.value).startswith("sysctls: invalid sysctl name")


@pytest.mark.parametrize("value", ["1\nkernel.core_pattern = |/tmp/x", "", None, True, {"a": 1}, [1]])
def test_sysctl_values_are_single_line_scalars(value):
    with pytest.raises(ValueError) as err:
        pr.desire({"sysctls": {"net.ipv4.ip_forward": value}})
    assert str(err.value).startswith("sysctls.net.ipv4.ip_forward must be")


@pytest.mark.parametrize("name", ["../overlay", "-r", "--remove", "over lay", "ip_vs;reboot", "", "a/b"])
def test_hostile_module_names(name):
    with pytest.raises(ValueError) as err:
        pr.desire({"kernel_modules": [name]})
    assert str(err.value).startswith("kernel_modules: invalid kernel module name")


def test_good_names_pass():
    desired = pr.desire({"kernel_modules": ["br_netfilter", "ip_vs-rr"],
                         "sysctls": {"net.bridge.bridge-nf-call-iptables": "1", "fs.lease-break-time": 45}})
    assert desired["kernel_modules"] == ["br_netfilter", "ip_vs-rr"]


@pytest.mark.parametrize("option", ["kernel_config_path", "data_root", "modules_load_file", "sysctl_file"])
@pytest.mark.parametrize("value", ["/tmp/a\0b", "relative/path", "/etc/x\n/etc/y"])
def test_path_options(option, value):
    with pytest.raises(ValueError) as err:
        pr.desire({option: value})
    assert str(err.value).startswith(option + " must be")


def test_kernel_options_and_sysctls_shape():
    with pytest.raises(ValueError, match="extra_kernel_options: invalid kernel option"):
        pr.desire({"extra_kernel_options": ["CONFIG_X=y"]})
    with pytest.raises(ValueError, match="sysctls must be a mapping"):
        pr.desire({"sysctls": ["net.ipv4.ip_forward=1"]})
