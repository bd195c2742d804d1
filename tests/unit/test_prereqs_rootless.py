"""Rootless mode's prerequisites (module_utils/rootless.py): each decision and refusal, the fix plan
host_prereqs makes for it, and the facts Host reads from a host-shaped fixture tree."""
from __future__ import annotations

import os

import pytest

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from ansible_collections.berth.engine.plugins.module_utils import rootless as rl
from ansible_collections.berth.engine.plugins.module_utils.host_access import Host

PASSWD = ("root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n"
          "alice:x:1001:1001::/home/alice:/bin/sh\n")
SUBIDS = "admin:100000:65536\n"
SYSTEMD = {"pid1": "systemd", "systemd": True}
UNIFIED = {"mode": "unified"}


def facts(**over):
    """Rootless facts of a host that is ready for alice."""
    found = {
        "users": ["alice"],
        "passwd": {"alice": 1001},
        "subuid": [("admin", 100000, 65536), ("alice", 165536, 65536)],
        "subgid": [("admin", 100000, 65536), ("alice", 165536, 65536)],
        "userns": {"present": True, "max_user_namespaces": 15000, "unprivileged_userns_clone": 1},
        "idmap": {"newuidmap": {"path": "/usr/bin/newuidmap", "privileged": True},
                  "newgidmap": {"path": "/usr/bin/newgidmap", "privileged": True}},
        "delegated": list(rl.DELEGATED_CONTROLLERS),
        "sysctls": {rl.USERNS_CLONE: "1", rl.MAX_USERNS: "15000", rl.PORT_START: "1024"},
        "sysctl_writable": {rl.USERNS_CLONE: True, rl.MAX_USERNS: True, rl.PORT_START: True},
    }
    found.update(over)
    return found


def ids(problems):
    return [(p["id"], p["severity"]) for p in problems]


# ------------------------------------------------------------------ desire


def test_desire_defaults_to_no_rootless_users():
    assert pr.desire({})["rootless"] == {"users": [], "unprivileged_port_start": None}


def test_desire_keeps_users_and_port():
    assert rl.desire({"rootless_users": ["alice", "svc_1"], "unprivileged_port_start": 80}) == {
        "users": ["alice", "svc_1"], "unprivileged_port_start": 80}


@pytest.mark.parametrize("name", ["../etc", "Alice", "a:b", "", "x" * 33, 5])
def test_desire_refuses_a_name_that_is_no_user_name(name):
    with pytest.raises(ValueError, match="rootless_users"):
        rl.desire({"rootless_users": [name]})


@pytest.mark.parametrize("port", [-1, 65536, "80"])
def test_desire_refuses_a_port_out_of_range(port):
    with pytest.raises(ValueError, match="unprivileged_port_start"):
        rl.desire({"unprivileged_port_start": port})


# ------------------------------------------------------------------ parsers


def test_parse_passwd_and_subids_skip_malformed_lines():
    assert rl.parse_passwd(PASSWD + "broken\n") == {"root": 0, "admin": 1000, "alice": 1001}
    assert rl.parse_subids(SUBIDS + "bad:line\nx:1:y\n1001:300000:10\n") == [
        ("admin", 100000, 65536), ("1001", 300000, 10)]


@pytest.mark.parametrize("text, want", [
    ("[Service]\nDelegate=yes\n", list(rl.DELEGATED_CONTROLLERS)),
    ("[Service]\nDelegate=pids memory cpu\n", ["pids", "memory", "cpu"]),
    ("Delegate=yes\nDelegate=no\n", []),
    (None, []),
])
def test_parse_delegate(text, want):
    assert rl.parse_delegate(text) == want


def test_subid_count_by_name_or_uid():
    table = [("alice", 100000, 65536), ("1001", 300000, 10), ("bob", 0, 5)]
    assert rl.subid_count(table, "alice", 1001) == 65546
    assert rl.subid_count(table, "carol", 1002) == 0


def test_next_subid_start_is_after_every_range_in_both_files():
    assert rl.next_subid_start([], []) == rl.SUBID_FLOOR
    assert rl.next_subid_start([("a", 100000, 65536)], [("b", 300000, 65536)]) == 365536
    assert rl.next_subid_start([("a", 1000, 10)]) == rl.SUBID_FLOOR


# ------------------------------------------------------------------ checks


def test_a_ready_host_has_no_rootless_problem():
    assert rl.evaluate(facts(), SYSTEMD, UNIFIED) == []


def test_no_rootless_users_means_no_rootless_checks():
    assert rl.evaluate({}, {"systemd": False}, {"mode": "legacy"}) == []


def test_a_kernel_without_user_namespaces_is_refused():
    found = rl.evaluate(facts(userns={"present": False}), SYSTEMD, UNIFIED)
    assert ids(found) == [("rootless_userns_missing", "error")]
    assert "CONFIG_USER_NS" in found[0]["fix"]


def test_user_namespaces_switched_off_are_refused_with_both_reasons():
    userns = {"present": True, "max_user_namespaces": 0, "unprivileged_userns_clone": 0}
    assert ids(rl.evaluate(facts(userns=userns), SYSTEMD, UNIFIED)) == [
        ("rootless_userns_disabled", "error"), ("rootless_userns_clone_disabled", "error")]


def test_a_kernel_without_the_debian_userns_clone_switch_is_fine():
    userns = {"present": True, "max_user_namespaces": 15000, "unprivileged_userns_clone": None}
    assert rl.evaluate(facts(userns=userns), SYSTEMD, UNIFIED) == []


def test_missing_or_unprivileged_idmap_tools_are_refused():
    idmap = {"newuidmap": {"path": None, "privileged": False},
             "newgidmap": {"path": "/usr/bin/newgidmap", "privileged": False}}
    found = rl.evaluate(facts(idmap=idmap), SYSTEMD, UNIFIED)
    assert ids(found) == [("rootless_newuidmap_missing", "error"), ("rootless_newgidmap_unprivileged", "error")]
    assert "uidmap" in found[0]["fix"]


def test_a_user_that_does_not_exist_or_is_root_is_refused():
    found = rl.evaluate(facts(users=["bob", "root"], passwd={"root": 0}), SYSTEMD, UNIFIED)
    assert ids(found) == [("rootless_user_missing:bob", "error"), ("rootless_user_root:root", "error")]


def test_a_user_without_enough_subordinate_ids_is_refused_per_file():
    found = rl.evaluate(facts(subuid=[("alice", 165536, 100)], subgid=[]), SYSTEMD, UNIFIED)
    assert ids(found) == [("rootless_subids_missing:alice:/etc/subuid", "error"),
                          ("rootless_subids_missing:alice:/etc/subgid", "error")]
    assert "owns 100 subordinate IDs" in found[0]["message"]


def test_a_host_without_systemd_is_refused():
    found = rl.evaluate(facts(), {"pid1": "init", "systemd": False}, UNIFIED)
    assert ids(found) == [("rootless_no_systemd", "error")]


@pytest.mark.parametrize("mode", ["hybrid", "legacy"])
def test_cgroup_v1_warns_that_limits_will_not_apply(mode):
    found = rl.evaluate(facts(), SYSTEMD, {"mode": mode})
    assert ids(found) == [("rootless_cgroup_v1", "warning")]
    assert "limits" in found[0]["message"] and "will not apply" in found[0]["message"]


def test_controllers_not_delegated_are_a_warning_naming_them():
    found = rl.evaluate(facts(delegated=["memory", "pids", "cpu"]), SYSTEMD, UNIFIED)
    assert ids(found) == [("rootless_controllers_not_delegated", "warning")]
    assert "cpuset io" in found[0]["message"]


def test_prereqs_evaluate_includes_the_rootless_refusals():
    host = {"rootless": facts(userns={"present": False}), "init": SYSTEMD, "cgroup": UNIFIED}
    assert "rootless_userns_missing" in pr.summarize(pr.evaluate(host))["error_ids"]


# ------------------------------------------------------------------ fixes


def test_wanted_sysctls_only_where_the_kernel_has_them_and_a_larger_max_is_kept():
    assert rl.wanted_sysctls({rl.USERNS_CLONE: None, rl.MAX_USERNS: "0"}) == {rl.MAX_USERNS: "15000"}
    assert rl.wanted_sysctls({rl.USERNS_CLONE: "0", rl.MAX_USERNS: "63000"}, 80) == {
        rl.USERNS_CLONE: "1", rl.MAX_USERNS: "63000", rl.PORT_START: "80"}


def test_subid_lines_allocate_after_ranges_in_use_with_matching_uids_and_gids():
    passwd = {"alice": 1001, "bob": 1002, "carol": 1003}
    subuid = [("admin", 100000, 65536), ("carol", 400000, 65536)]
    subgid = [("admin", 100000, 65536), ("dockremap", 500000, 65536), ("carol", 400000, 65536)]
    add_uid, add_gid = rl.subid_lines(["alice", "bob", "carol", "ghost"], passwd, subuid, subgid)
    assert add_uid == add_gid == ["alice:565536:65536\n", "bob:631072:65536\n"]


def test_subid_lines_only_for_the_file_that_lacks_the_range():
    add_uid, add_gid = rl.subid_lines(["alice"], {"alice": 1001}, [("alice", 100000, 65536)], [])
    assert add_uid == [] and add_gid == ["alice:165536:65536\n"]


def test_appended_keeps_existing_lines_and_adds_a_missing_newline():
    assert rl.appended("admin:100000:65536", ["a:1:2\n"]) == "admin:100000:65536\na:1:2\n"
    assert rl.appended(None, ["a:1:2\n"]) == "a:1:2\n"


def _fix_state(found, files=None, systemd=True):
    return {"facts": {"sysctls": dict(pr.DEFAULT_SYSCTLS), "kernel_modules": {}, "kernel": {},
                      "container": {}, "init": {"systemd": systemd}, "rootless": found},
            "files": files or {}, "sysctl_writable": dict((n, True) for n in pr.DEFAULT_SYSCTLS)}


def _written(plan):
    return dict((a["path"], a["content"]) for a in plan.actions if a["action"] == "write_file")


def test_fix_plan_on_a_fresh_host_sets_sysctls_adds_ranges_and_the_drop_in():
    desired = pr.desire({"fix": True, "kernel_modules": [], "sysctls": {}, "rootless_users": ["alice"],
                         "unprivileged_port_start": 80})
    found = facts(subuid=[("admin", 100000, 65536)], subgid=[("admin", 100000, 65536)],
                  sysctls={rl.USERNS_CLONE: "0", rl.MAX_USERNS: "0", rl.PORT_START: "1024"})
    files = {rl.SUBUID_FILE: {"content": SUBIDS, "mode": 0o644, "uid": 0, "gid": 0},
             rl.SUBGID_FILE: {"content": SUBIDS, "mode": 0o644, "uid": 0, "gid": 0}}
    plan = pr.plan_fixes(desired, _fix_state(found, files))
    assert [(a["name"], a["value"]) for a in plan.actions if a["action"] == "set_sysctl"] == [
        (rl.USERNS_CLONE, "1"), (rl.PORT_START, "80"), (rl.MAX_USERNS, "15000")]
    written = _written(plan)
    assert written[rl.SUBUID_FILE] == written[rl.SUBGID_FILE] == SUBIDS + "alice:165536:65536\n"
    assert "Delegate=cpu cpuset io memory pids\n" in written[rl.DELEGATE_DROPIN]
    assert "user.max_user_namespaces = 15000\n" in written[rl.SYSCTL_FILE]


def test_fix_plan_on_a_ready_host_does_nothing():
    desired = pr.desire({"fix": True, "kernel_modules": [], "sysctls": {}, "rootless_users": ["alice"]})
    found = facts()
    wanted = rl.wanted_sysctls(found["sysctls"])
    files = dict((path, {"content": content, "mode": 0o644, "uid": 0, "gid": 0}) for path, content in (
        (rl.SYSCTL_FILE, rl.render_sysctls(wanted)), (rl.DELEGATE_DROPIN, rl.render_delegate())))
    assert pr.plan_fixes(desired, _fix_state(found, files)).actions == []


def test_fix_plan_without_systemd_writes_no_drop_in():
    desired = pr.desire({"fix": True, "kernel_modules": [], "sysctls": {}, "rootless_users": ["alice"]})
    assert rl.DELEGATE_DROPIN not in _written(pr.plan_fixes(desired, _fix_state(facts(), systemd=False)))


def test_a_read_only_proc_sys_is_a_note_not_a_change():
    desired = pr.desire({"fix": True, "kernel_modules": [], "sysctls": {}, "rootless_users": ["alice"]})
    found = facts(sysctls={rl.USERNS_CLONE: "0", rl.MAX_USERNS: "15000", rl.PORT_START: "1024"},
                  sysctl_writable={rl.USERNS_CLONE: False, rl.MAX_USERNS: False, rl.PORT_START: False})
    plan = pr.plan_fixes(desired, _fix_state(found))
    assert not plan.has("set_sysctl")
    assert any("kernel.unprivileged_userns_clone: cannot be set" in w for w in plan.warnings)


# ------------------------------------------------------------------ reading a host


def _tree(tmp_path, files):
    for path, content in files.items():
        full = tmp_path / path.lstrip("/")
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(content)
    return str(tmp_path)


def test_host_reads_the_rootless_facts(tmp_path):
    root = _tree(tmp_path, {
        "/etc/passwd": PASSWD, "/etc/subuid": SUBIDS, "/etc/subgid": SUBIDS,
        "/proc/sys/user/max_user_namespaces": "0\n", "/proc/sys/kernel/unprivileged_userns_clone": "1\n",
        "/proc/self/ns/user": "", "/usr/bin/newuidmap": "",
        "/lib/systemd/system/user@.service": "[Service]\nDelegate=pids memory\n",
        "/etc/systemd/system/user@.service.d/x.conf": "[Service]\nDelegate=cpu\n",
    })
    os.chmod(os.path.join(root, "usr/bin/newuidmap"), 0o4755)
    tools = {"newuidmap": "/usr/bin/newuidmap"}
    host = Host(root=root, which=tools.get, release="6.1.0", version="#1")
    found = host.rootless({"rootless": {"users": ["alice", "bob"]}})
    assert found["passwd"] == {"alice": 1001}
    assert found["subuid"] == [("admin", 100000, 65536)]
    assert found["userns"] == {"present": True, "max_user_namespaces": 0, "unprivileged_userns_clone": 1}
    # The fixture's file belongs to the test's user, not root: not privileged.
    assert found["idmap"]["newuidmap"]["path"] == "/usr/bin/newuidmap"
    assert found["idmap"]["newuidmap"]["privileged"] is (os.geteuid() == 0)
    assert found["idmap"]["newgidmap"] == {"path": None, "privileged": False}
    assert found["delegated"] == ["cpu", "memory", "pids"]
    assert found["sysctls"][rl.PORT_START] is None
    assert host.rootless({"rootless": {"users": []}}) == {}
