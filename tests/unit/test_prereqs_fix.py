"""prereqs.plan_fixes: what fix mode does, from facts shaped like the module's, without a host."""
from __future__ import annotations

import yaml

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from ansible_collections.berth.engine.plugins.modules import host_prereqs

MODULES_FILE = "/etc/modules-load.d/berth.conf"
SYSCTL_FILE = "/etc/sysctl.d/90-berth.conf"


def persisted(desired):
    return {
        MODULES_FILE: {"content": pr.render_modules_load(desired["kernel_modules"]), "mode": 0o644, "uid": 0, "gid": 0},
        SYSCTL_FILE: {"content": pr.render_sysctl_conf(desired["sysctls"]), "mode": 0o644, "uid": 0, "gid": 0},
    }


def state(desired, sysctls=None, modules=None, files=None, supported=True, container=False, writable=True):
    facts = {
        "kernel": {"release": "6.1.0-18-amd64", "modules_supported": supported},
        "sysctls": dict(pr.DEFAULT_SYSCTLS) if sysctls is None else sysctls,
        "kernel_modules": modules or dict((m, {"available": True}) for m in desired["kernel_modules"]),
        "container": {"is_container": container},
    }
    return {"facts": facts, "files": persisted(desired) if files is None else files,
            "sysctl_writable": dict((n, writable) for n in desired["sysctls"])}


def test_nothing_to_do_on_a_fixed_host():
    desired = pr.desire({"fix": True})
    plan = pr.plan_fixes(desired, state(desired))
    assert plan.actions == [] and plan.warnings == [] and plan.diffs() == []


def test_rendered_files_match_what_the_role_wrote_before():
    # Hosts provisioned by earlier versions must not see a change.
    assert pr.render_modules_load(["overlay", "br_netfilter"]) == (
        "# Managed by Ansible (berth.engine.prereqs): modules the container engine needs.\noverlay\nbr_netfilter\n")
    assert pr.render_sysctl_conf({"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}) == (
        "# Managed by Ansible (berth.engine.prereqs): settings the container engine needs.\n"
        "net.bridge.bridge-nf-call-iptables = 1\nnet.ipv4.ip_forward = 1\n")


def test_a_fresh_host_loads_then_sets_then_persists():
    desired = pr.desire({"fix": True})
    modules = {"overlay": {"available": True}, "br_netfilter": {"available": False, "installed": True}}
    sysctls = {"net.ipv4.ip_forward": "0", "net.bridge.bridge-nf-call-iptables": None,
               "net.bridge.bridge-nf-call-ip6tables": None}
    plan = pr.plan_fixes(desired, state(desired, sysctls, modules, files={}))
    assert plan.action_names() == ["load_module", "set_sysctl", "set_sysctl", "set_sysctl", "write_file", "write_file"]
    assert plan.actions[0]["name"] == "br_netfilter"
    assert [a["reason"] for a in plan.actions if a["action"] == "write_file"] == ["absent", "absent"]
    diffs = plan.diffs()
    assert [d["after_header"] for d in diffs] == [MODULES_FILE, SYSCTL_FILE, "sysctls (wanted)"]
    assert diffs[2]["before"]["net.ipv4.ip_forward"] == "0" and diffs[2]["after"]["net.ipv4.ip_forward"] == "1"


def test_a_missing_sysctl_without_a_module_to_load_is_a_warning():
    desired = pr.desire({"fix": True, "sysctls": {"net.bridge.bridge-nf-call-iptables": 1}})
    plan = pr.plan_fixes(desired, state(desired, {"net.bridge.bridge-nf-call-iptables": None}))
    assert plan.actions == []
    assert plan.warnings == ["sysctl net.bridge.bridge-nf-call-iptables: does not exist on this host (no module "
                             "provides it)"]


def test_container_read_only_sysctls_and_no_module_support():
    desired = pr.desire({"fix": True})
    modules = {"overlay": {"available": True}, "br_netfilter": {"available": False}}
    plan = pr.plan_fixes(desired, state(desired, dict(pr.DEFAULT_SYSCTLS, **{"net.ipv4.ip_forward": "0"}), modules,
                                        supported=False, container=True, writable=False))
    assert plan.actions == []
    assert plan.warnings[0] == ("kernel modules: this kernel cannot load modules (no /proc/modules); "
                                "br_netfilter must be built in")
    assert "outer host" in plan.warnings[1] and "ip_forward" in plan.warnings[1]


def test_a_module_not_installed_is_not_loaded():
    desired = pr.desire({"fix": True, "kernel_modules": ["ip_vs"]})
    plan = pr.plan_fixes(desired, state(desired, modules={"ip_vs": {"available": False, "installed": False}},
                                        files={}))
    assert plan.action_names() == ["write_file", "write_file"]
    assert plan.warnings == ["kernel module ip_vs: not installed under /lib/modules/6.1.0-18-amd64, so it cannot be "
                             "loaded here"]


def test_file_mode_drift_and_empty_lists():
    desired = pr.desire({"fix": True})
    files = persisted(desired)
    files[SYSCTL_FILE] = dict(files[SYSCTL_FILE], mode=0o600)
    plan = pr.plan_fixes(desired, state(desired, files=files))
    assert [(a["action"], a["path"], a["reason"]) for a in plan.actions] == [("write_file", SYSCTL_FILE,
                                                                              "mode or owner")]
    # not root: the files belong to the user running the module
    files = dict((path, dict(f, uid=1000, gid=1000)) for path, f in persisted(desired).items())
    assert pr.plan_fixes(desired, dict(state(desired, files=files), owner=(1000, 1000))).actions == []
    assert len(pr.plan_fixes(desired, state(desired, files=files)).actions) == 2
    empty = pr.desire({"fix": True, "kernel_modules": [], "sysctls": {}})
    assert pr.plan_fixes(empty, state(empty, files={})).actions == []


def test_module_documentation_matches_its_argument_spec():
    options = yaml.safe_load(host_prereqs.DOCUMENTATION)["options"]
    assert set(options) == set(host_prereqs.ARGUMENT_SPEC)
    for name, spec in host_prereqs.ARGUMENT_SPEC.items():
        doc = options[name]
        assert doc["description"], name
        assert (doc.get("type", "str"), doc.get("default"), doc.get("elements")) == (
            spec.get("type", "str"), spec.get("default"), spec.get("elements")), name
    for task in yaml.safe_load(host_prereqs.EXAMPLES):
        args = task.get("berth.engine.host_prereqs") or {}
        assert set(args) <= set(host_prereqs.ARGUMENT_SPEC), task["name"]
    assert "swarm" in yaml.safe_load(host_prereqs.RETURN)
