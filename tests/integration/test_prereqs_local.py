"""berth.engine.host_prereqs and the prereqs role on this machine.

Facts are compared with what the kernel says through other paths (os.uname,
statfs of /sys/fs/cgroup, /proc/sys, PATH lookups); the role's files are read
back from disk.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.ansible import module_helpers, run_module, run_playbook

MODULE = "berth.engine.host_prereqs"
CGROUP2_MAGIC = "63677270"
converge, ok, fails = module_helpers(MODULE)
# A sysctl nothing else on this machine depends on: the seconds a lease holder gets before its lease breaks.
HARMLESS_SYSCTL = "fs.lease-break-time"
HARMLESS_PATH = Path("/proc/sys/fs/lease-break-time")
SWARM_MODULES = {"CONFIG_IP_VS": "ip_vs", "CONFIG_IP_VS_RR": "ip_vs_rr", "CONFIG_VXLAN": "vxlan",
                 "CONFIG_INET_ESP": "esp4", "CONFIG_XFRM_USER": "xfrm_user", "CONFIG_CRYPTO_GCM": "gcm"}


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


def test_hostile_names_fail_before_anything_is_read():
    secret = Path("/etc/hostname").read_text().strip()
    cases = [
        ({"sysctls": {"x./etc/hostname": "1"}}, "sysctls: invalid sysctl name 'x./etc/hostname'"),
        ({"sysctls": {"kernel/../../../etc/hostname": "1"}}, "sysctls: invalid sysctl name"),
        ({"sysctls": {"net.ipv4.ip_forward": "1\nkernel.core_pattern = |/tmp/x"}}, "sysctls.net.ipv4.ip_forward"),
        ({"kernel_modules": ["-r"]}, "kernel_modules: invalid kernel module name '-r'"),
        ({"kernel_modules": ["../../etc/hostname"]}, "kernel_modules: invalid kernel module name"),
        ({"kernel_config_path": "/etc/hostname\u0000.gz"}, "kernel_config_path must not contain a NUL byte"),
        ({"data_root": "/var/lib/docker\u0000"}, "data_root must not contain a NUL byte"),
        ({"fix": True, "sysctl_file": "relative.conf"}, "sysctl_file must be an absolute path"),
    ]
    for args, expected in cases:
        msg = fails(args)
        assert expected in msg, (args, msg)
        assert secret not in msg.replace("'x./etc/hostname'", ""), (args, msg)


def _kernel_config_text() -> str | None:
    if Path("/proc/config.gz").exists():
        return gzip.decompress(Path("/proc/config.gz").read_bytes()).decode()
    boot = Path(f"/boot/config-{os.uname().release}")
    return boot.read_text() if boot.exists() else None


def _installed_modules() -> set[str]:
    lib = Path("/lib/modules", os.uname().release)
    names = set()
    if lib.is_dir():
        for path in lib.rglob("*.ko*"):
            names.add(re.sub(r"\.ko(\.\w+)?$", "", path.name).replace("-", "_"))
    return names


def test_swarm_features_match_the_kernel():
    r = ok({})
    config = _kernel_config_text()
    assert config is not None, "this machine has /proc/config.gz; without a config the statuses are 'unknown'"
    loaded = set()
    if Path("/proc/modules").exists():
        loaded = {line.split()[0] for line in Path("/proc/modules").read_text().splitlines() if line.strip()}
    installed = _installed_modules()
    for option, module in SWARM_MODULES.items():
        value = re.search(rf"^{option}=(\w+)$", config, re.M)
        value = value.group(1) if value else "n"
        if value == "y":
            expected = "builtin"
        elif module in loaded or (value == "m" and module in installed):
            expected = "module"
        else:
            expected = "missing"
        assert r["swarm"]["options"][option]["status"] == expected, option
        assert r["swarm"]["options"][option]["loaded"] == (module in loaded), option
    has = {o: r["swarm"]["options"][o]["status"] in ("builtin", "module") for o in SWARM_MODULES}
    assert r["swarm"]["vip"] == has["CONFIG_IP_VS"]
    assert r["swarm"]["overlay"] == has["CONFIG_VXLAN"]
    assert r["swarm"]["encrypted_overlay"] == (
        has["CONFIG_INET_ESP"] and has["CONFIG_XFRM_USER"] and has["CONFIG_CRYPTO_GCM"])
    if Path("/proc/net/ip_vs").exists():  # IPVS is live in this kernel
        assert r["swarm"]["vip"] is True
    if not re.search(r"^CONFIG_IP_VS=[ym]$", config, re.M):
        assert r["swarm"]["vip"] is False and r["swarm"]["routing_mesh"] is False
        assert not Path("/proc/net/ip_vs").exists()


@pytest.fixture
def harmless_sysctl():
    original = HARMLESS_PATH.read_text().strip()
    yield original
    HARMLESS_PATH.write_text(original)


def test_fix_sets_and_persists_with_check_and_diff(tmp_path, harmless_sysctl):
    wanted = str(int(harmless_sysctl) + 7)
    args = {"fix": True, "kernel_modules": ["overlay"], "sysctls": {HARMLESS_SYSCTL: wanted},
            "modules_load_file": str(tmp_path / "modules-load.d" / "berth.conf"),
            "sysctl_file": str(tmp_path / "sysctl.d" / "90-berth.conf")}

    checked = ok(args, check=True, diff=True)
    assert checked["changed"] is True
    assert [a["action"] for a in checked["actions"]] == ["set_sysctl", "write_file", "write_file"]
    assert HARMLESS_PATH.read_text().strip() == harmless_sysctl, "check mode changed the kernel"
    assert not (tmp_path / "sysctl.d").exists(), "check mode wrote a file"
    diffs = checked["diff"] if isinstance(checked["diff"], list) else [checked["diff"]]
    assert any(d.get("after_header") == args["sysctl_file"] and f"{HARMLESS_SYSCTL} = {wanted}" in d["after"]
               for d in diffs), diffs

    fixed = ok(args)
    assert fixed["changed"] is True
    assert not [n for n in fixed["notes"] if "sysctl" in n], fixed["notes"]
    assert HARMLESS_PATH.read_text().strip() == wanted
    assert fixed["sysctls"][HARMLESS_SYSCTL] == wanted  # the facts were read again after the change
    assert not any(p["id"].startswith("sysctl_") for p in fixed["problems"])
    lines = Path(args["sysctl_file"]).read_text().splitlines()
    assert f"{HARMLESS_SYSCTL} = {wanted}" in lines and lines[0].startswith("# Managed by Ansible")
    assert Path(args["modules_load_file"]).read_text().splitlines()[1:] == ["overlay"]
    assert oct(Path(args["sysctl_file"]).stat().st_mode & 0o777) == "0o644"

    again = ok(args, check=True)
    assert again["changed"] is False and again["actions"] == []
    assert ok(args)["changed"] is False


def test_fix_fails_clearly_when_a_file_cannot_be_written(tmp_path, harmless_sysctl):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    msg = fails({"fix": True, "kernel_modules": [], "sysctls": {HARMLESS_SYSCTL: harmless_sysctl},
                 "sysctl_file": str(blocker / "90-berth.conf")})
    assert "could not persist" in msg and str(blocker / "90-berth.conf") in msg


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


def test_role_restores_a_drifted_file_in_one_module_run(tmp_path):
    # Private file paths: other tests provision this host with the role at the same time.
    path = tmp_path / "sysctl.d" / "90-berth.conf"
    role_vars = {"berth_sysctl_file": str(path), "berth_modules_load_file": str(tmp_path / "modules.conf")}
    first = run_playbook(PLAY, extra_vars=role_vars)
    assert not first.failed and first.changed, first.describe()
    good = path.read_text()
    assert "net.ipv4.ip_forward = 1" in good.splitlines()
    path.write_text(good.replace("net.ipv4.ip_forward = 1", "net.ipv4.ip_forward = 0"))

    checked = run_playbook(PLAY, extra_vars=role_vars, check=True, diff=True)
    assert not checked.failed and checked.changed, checked.describe()
    assert path.read_text() != good, "check mode rewrote the file"
    fixed = run_playbook(PLAY, extra_vars=role_vars)
    assert not fixed.failed, fixed.describe()
    changed = [t["task"] for t in fixed.tasks if t["changed"]]
    assert changed == ["Check the host, load its kernel modules and set its sysctls"], fixed.describe()
    assert path.read_text() == good
    assert not run_playbook(PLAY, extra_vars=role_vars).changed


def test_role_fails_with_the_itemized_hard_requirements(tmp_path):
    # A kernel config with every option this host needs, from what the module says is missing from a bare one.
    bare = tmp_path / "bare-config"
    bare.write_text("CONFIG_BERTH_BARE=y\n")
    needed = [name for name, _severity in _prereqs({"kernel_config_path": str(bare)})["kernel"]["missing_options"]]
    assert "CONFIG_NAMESPACES" in needed
    config = tmp_path / "config"
    config.write_text("".join(f"{name}=y\n" for name in needed))
    option = "CONFIG_BERTH_DOES_NOT_EXIST"
    role_vars = {"berth_kernel_config_path": str(config), "berth_kernel_options_extra": [option]}

    run = run_playbook(PLAY, extra_vars=role_vars)
    assert run.failed
    failed = [t for t in run.tasks if t["status"] == "failed"]
    assert [t["task"] for t in failed] == ["Fail on the requirements that are still missing"], run.describe()
    msg = failed[0]["msg"]
    text = "\n".join(msg) if isinstance(msg, list) else msg
    assert "hard requirements" in text
    assert f"- kernel_option_missing:{option} | Kernel option {option} is not enabled (read from {config})" in text

    ignored = run_playbook(PLAY, extra_vars=dict(role_vars, berth_prereqs_ignore=["kernel_option_missing:" + option]))
    assert not ignored.failed, ignored.describe()
    assert not ignored.changed, ignored.describe()
