"""berth.engine.host_prereqs and the prereqs role on this machine.

Facts are compared with what the kernel says through other paths (os.uname,
statfs of /sys/fs/cgroup, /proc/sys, PATH lookups); the role's files are read
back from disk.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.ansible import run_module, run_playbook

MODULE = "berth.engine.host_prereqs"
CGROUP2_MAGIC = "63677270"


def _fs_magic(path: str) -> str:
    return subprocess.run(["stat", "-f", "-c", "%t", path], capture_output=True, text=True, check=True).stdout.strip()


def _cgroup_mode_independently() -> str:
    if _fs_magic("/sys/fs/cgroup") == CGROUP2_MAGIC:
        return "unified"
    unified = Path("/sys/fs/cgroup/unified")
    if unified.is_dir() and _fs_magic(str(unified)) == CGROUP2_MAGIC:
        return "hybrid"
    return "legacy"


def _prereqs(args=None, **kwargs):
    result = run_module(MODULE, args or {}, **kwargs)
    assert not result["failed"], (result["msg"] or "") + "\n" + result["_stdout"][-3000:]
    return result


def test_facts_match_the_kernel():
    r = _prereqs()
    assert r["changed"] is False
    assert r["kernel"]["release"] == os.uname().release
    assert r["kernel"]["cmdline"] == Path("/proc/cmdline").read_text().strip()
    assert r["cgroup"]["mode"] == _cgroup_mode_independently()
    for name, value in r["sysctls"].items():
        path = Path("/proc/sys", *name.split("."))
        assert value == (path.read_text().strip() if path.exists() else None), name
    assert bool(r["firewall"]["iptables"]) == bool(shutil.which("iptables", path="/usr/sbin:/sbin:/usr/bin:/bin"))
    assert r["init"]["systemd"] == Path("/run/systemd/system").is_dir()
    assert r["kernel"]["modules_supported"] == Path("/proc/modules").exists()
    assert r["container"]["is_container"] == bool(r["container"]["evidence"])
    if Path("/.dockerenv").exists():
        assert r["container"]["is_container"] and "/.dockerenv exists" in r["container"]["evidence"]
    with open("/proc/filesystems") as fh:
        assert r["storage"]["overlay_supported"] or "overlay" not in fh.read()
    # every problem is complete, and the summary counts them
    for p in r["problems"]:
        assert set(p) == {"id", "severity", "message", "fix"} and p["severity"] in ("error", "warning", "info")
    assert r["summary"]["error"] == len([p for p in r["problems"] if p["severity"] == "error"])
    ids = {p["id"] for p in r["problems"]}
    assert ("cgroup_v2_disabled" in ids) == (r["cgroup"]["mode"] != "unified")
    assert ("pid1_not_systemd" in ids) == (not r["init"]["systemd"])


def test_check_mode_reports_the_same_and_changes_nothing():
    normal = _prereqs()
    checked = _prereqs(check=True)
    assert checked["changed"] is False
    for key in ("kernel", "cgroup", "storage", "sysctls", "container", "bootloader"):
        assert checked[key] == normal[key], key
    assert [p["id"] for p in checked["problems"]] == [p["id"] for p in normal["problems"]]


@pytest.mark.parametrize("compress", [False, True])
def test_kernel_config_from_a_file(tmp_path, compress):
    text = "CONFIG_NAMESPACES=y\nCONFIG_VETH=m\n# CONFIG_BRIDGE is not set\n"
    path = tmp_path / ("config.gz" if compress else "config")
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    r = _prereqs({"kernel_config_path": str(path), "extra_kernel_options": ["BERTH_TEST_OPTION"]})
    assert r["kernel"]["config_source"] == str(path) and r["kernel"]["config_readable"]
    missing = dict(r["kernel"]["missing_options"])
    assert "CONFIG_NAMESPACES" not in missing and "CONFIG_VETH" not in missing
    assert missing["CONFIG_BRIDGE"] == "error"
    assert missing["CONFIG_BERTH_TEST_OPTION"] == "error"
    assert "kernel_option_missing:CONFIG_BRIDGE" in r["summary"]["error_ids"]


def test_unreadable_kernel_config_is_only_information(tmp_path):
    r = _prereqs({"kernel_config_path": str(tmp_path / "absent")})
    assert not r["kernel"]["config_readable"] and r["kernel"]["missing_options"] == []
    unreadable = [p for p in r["problems"] if p["id"] == "kernel_config_unreadable"]
    assert len(unreadable) == 1 and unreadable[0]["severity"] == "info"


def test_data_root_that_does_not_exist_checks_its_parent(tmp_path):
    r = _prereqs({"data_root": str(tmp_path / "a" / "b")})
    assert r["storage"]["data_root_exists"] is False
    assert r["storage"]["path_checked"] == str(tmp_path.resolve())


PLAY = """
- hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.prereqs
"""


def test_role_persists_modules_and_sysctls_and_is_idempotent():
    first = run_playbook(PLAY)
    assert not first.failed, first.describe()
    modules = Path("/etc/modules-load.d/berth.conf").read_text().split()
    assert "overlay" in modules and "br_netfilter" in modules
    sysctl_lines = [ln.strip() for ln in Path("/etc/sysctl.d/90-berth.conf").read_text().splitlines()]
    assert "net.ipv4.ip_forward = 1" in sysctl_lines
    assert "net.bridge.bridge-nf-call-iptables = 1" in sysctl_lines
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"

    second = run_playbook(PLAY)
    assert not second.failed and not second.changed, second.describe()

    report = second.task("Report the host's prerequisites")["result"]["msg"]
    text = "\n".join(report)
    assert report[0].startswith("cgroup mode: " + _cgroup_mode_independently())
    if _cgroup_mode_independently() != "unified":
        # This machine: hybrid and no bootloader -> reported, not fatal.
        assert "cgroup v2: cannot be enabled" in text
    assert not Path("/etc/default/grub.d/90-berth-cgroup.cfg").exists() or Path("/boot/grub/grub.cfg").exists()


def test_role_fails_with_the_itemized_hard_requirements():
    if not (Path("/proc/config.gz").exists() or Path(f"/boot/config-{os.uname().release}").exists()):
        pytest.skip("no readable kernel config on this machine: kernel options are not checked")
    run = run_playbook(PLAY, extra_vars={"berth_kernel_options_extra": ["CONFIG_BERTH_DOES_NOT_EXIST"]})
    assert run.failed
    failed = [t for t in run.tasks if t["status"] == "failed"]
    assert [t["task"] for t in failed] == ["Fail on the requirements that are still missing"], run.describe()
    msg = failed[0]["msg"]
    text = "\n".join(msg) if isinstance(msg, list) else msg
    assert "hard requirements" in text
    assert "- kernel_option_missing:CONFIG_BERTH_DOES_NOT_EXIST | Kernel option CONFIG_BERTH_DOES_NOT_EXIST" in text

    option = "CONFIG_BERTH_DOES_NOT_EXIST"
    ignored = run_playbook(
        PLAY,
        extra_vars={
            "berth_kernel_options_extra": [option],
            "berth_prereqs_ignore": ["kernel_option_missing:" + option],
        },
    )
    assert not ignored.failed, ignored.describe()
