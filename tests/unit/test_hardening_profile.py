"""berth_hardening and berth_workloads_cis: the roles' Jinja rendered the way a play renders it (no host).

The runtime role's vars/main.yml turns the profile into the `defaults` of berth.engine.daemon_config
(defaults < profile), the module merges berth_daemon_config over them (pure.merge, tested here with the
result); the audit rules template is rendered from paths like the ones runtime_facts returns.
"""
from __future__ import annotations

import base64
import os

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.berth.engine.plugins.module_utils import daemon_config as pure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASELINE_KEYS = {"no-new-privileges": True, "userland-proxy": False, "icc": False, "live-restore": True}


def role_vars(role):
    loader = DataLoader()
    found = {}
    for part in ("defaults", "vars"):
        found.update(loader.load_from_file(os.path.join(ROOT, "roles", role, part, "main.yml"),
                                           trusted_as_template=True))
    return loader, found


def render(role, name, **overrides):
    loader, variables = role_vars(role)
    variables.update(overrides)
    return Templar(loader=loader, variables=variables).template(variables[name])


def daemon_json(user_config=None, **overrides):
    """What daemon_config writes: berth_daemon_config merged over the role's profile defaults."""
    defaults = render("runtime", "__berth_daemon_profile_defaults", **overrides)
    return pure.merge(defaults, user_config or {})


def test_baseline_is_the_default_and_adds_its_keys_to_the_defaults():
    assert role_vars("runtime")[1]["berth_hardening"] == "baseline"
    written = daemon_json()
    assert written == dict(BASELINE_KEYS, **{"log-driver": "json-file",
                                             "log-opts": {"max-size": "10m", "max-file": "3"}})


def test_none_leaves_the_defaults_alone():
    assert daemon_json(berth_hardening="none") == {
        "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": True}


def test_cis_remaps_users_and_logs_to_journald_without_json_file_options():
    written = daemon_json(berth_hardening="cis")
    assert written == dict(BASELINE_KEYS, **{"userns-remap": "default", "log-driver": "journald", "log-opts": {}})
    assert "authorization-plugins" not in written


def test_cis_syslog_address_and_authorization_plugins():
    written = daemon_json(berth_hardening="cis", berth_hardening_log_driver="syslog",
                          berth_hardening_log_address="udp://logs.example.com:514",
                          berth_authorization_plugins=["authz-broker"])
    assert written["log-driver"] == "syslog"
    assert written["log-opts"] == {"syslog-address": "udp://logs.example.com:514"}
    assert written["authorization-plugins"] == ["authz-broker"]


def test_cis_with_an_empty_log_driver_keeps_the_rotated_json_file_logs():
    written = daemon_json(berth_hardening="cis", berth_hardening_log_driver="")
    assert written["log-driver"] == "json-file" and written["log-opts"] == {"max-size": "10m", "max-file": "3"}


def test_baseline_settings_only_for_cis_inputs():
    written = daemon_json(berth_hardening="baseline", berth_hardening_log_driver="syslog",
                          berth_authorization_plugins=["authz-broker"])
    assert written["log-driver"] == "json-file" and "authorization-plugins" not in written
    assert "userns-remap" not in written


@pytest.mark.parametrize("profile", ["baseline", "cis"])
def test_user_config_wins_over_the_profile(profile):
    user = {"icc": True, "userland-proxy": True, "no-new-privileges": None, "userns-remap": None,
            "log-opts": {"tag": "{{.Name}}"}}
    written = daemon_json(user, berth_hardening=profile)
    assert written["icc"] is True and written["userland-proxy"] is True
    assert "no-new-privileges" not in written and "userns-remap" not in written
    assert written["log-opts"]["tag"] == "{{.Name}}"


def test_every_profile_key_is_a_known_daemon_setting_of_the_right_type():
    for profile in ("baseline", "cis"):
        written = daemon_json(berth_hardening=profile, berth_authorization_plugins=["p"])
        for key, value in written.items():
            assert pure.type_error(key, value, pure.KEY_TYPES[key]) is None, key


def test_audit_data_root_follows_daemon_json():
    assert render("runtime", "__berth_data_root") == "/var/lib/docker"
    assert render("runtime", "__berth_data_root", berth_daemon_config={"data-root": "/srv/docker"}) == "/srv/docker"


def test_audit_candidates_cover_the_benchmark_paths():
    candidates = render("runtime", "__berth_audit_candidates", berth_bundle_bin_dir="/opt/docker/bin")
    for path in ("/usr/bin/dockerd", "/usr/sbin/dockerd", "/opt/docker/bin/dockerd",
                 "/lib/systemd/system/docker.service", "/lib/systemd/system/docker.socket",
                 "/etc/default/docker", "/etc/containerd/config.toml", "/etc/sysconfig/docker",
                 "/usr/bin/containerd", "/usr/bin/containerd-shim", "/usr/bin/containerd-shim-runc-v1",
                 "/usr/bin/containerd-shim-runc-v2", "/usr/bin/runc", "/opt/docker/bin/runc"):
        assert path in candidates, path


def test_audit_rules_file():
    loader, variables = role_vars("runtime")
    # runtime_facts' paths: /sbin/dockerd is /usr/sbin/dockerd (merged /usr), the rules' directory is no candidate.
    found = {"/usr/sbin/dockerd": "/usr/sbin/dockerd", "/usr/bin/runc": "/usr/bin/runc",
             "/etc/audit/rules.d": "/etc/audit/rules.d"}
    variables.update(ansible_managed="managed", __berth_facts={"paths": found})
    templar = Templar(loader=loader, variables=variables)
    with open(os.path.join(ROOT, "roles/runtime/templates/docker.rules.j2")) as handle:
        text = templar.template(trust_as_template(handle.read()))
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules == [
        "-w /etc/docker -k docker",
        "-w /etc/docker/daemon.json -k docker",
        "-w /usr/sbin/dockerd -k docker",
        "-w /usr/bin/runc -k docker",
        "-w /var/lib/docker -p wa -k docker",
        "-w /run/containerd -p wa -k docker",
        "-w /run/containerd/containerd.sock -p wa -k docker",
    ]


@pytest.mark.parametrize("virtualization, loadable", [
    ({}, True),
    ({"virtualization_role": "host", "virtualization_type": "kvm"}, True),
    ({"virtualization_role": "guest", "virtualization_type": "kvm"}, True),
    ({"virtualization_role": "guest", "virtualization_type": "docker"}, False),
    ({"virtualization_role": "guest", "virtualization_type": "lxc"}, False),
])
def test_audit_rules_load_only_outside_containers(virtualization, loadable):
    assert render("runtime", "__berth_audit_loadable", ansible_facts=virtualization) is loadable


@pytest.mark.parametrize("is_container", [True, False])
def test_audit_rules_follow_the_prereqs_container_detection_when_it_ran(is_container):
    facts = {"virtualization_role": "host", "virtualization_type": "kvm"}  # what the prereqs result outranks
    prereqs = {"container": {"is_container": is_container, "type": "docker"}}
    assert render("runtime", "__berth_audit_loadable", ansible_facts=facts, berth_prereqs=prereqs) is not is_container


def slurped(*texts):
    return {"results": [{"item": "/etc/subuid", "content": base64.b64encode(t.encode()).decode()} if t is not None
                        else {"item": "/etc/subuid", "failed": True} for t in texts]}


@pytest.mark.parametrize("files, start", [
    ((None, None), 100000),
    (("", ""), 100000),
    (("alice:100000:65536\n", "alice:100000:65536\n"), 165536),
    (("alice:100000:65536\nbob:165536:65536\n", "alice:100000:65536\n"), 231072),
    (("legacy:500000:1000\n", "# comment\n"), 501000),
])
def test_subordinate_ids_start_after_every_range_in_use(files, start):
    assert int(render("runtime", "__berth_subid_start", __berth_subids=slurped(*files))) == start


CONTAINERS = [
    {"name": "web", "image": "web:1", "memory": "64m", "healthcheck": {"test": ["CMD", "true"]},
     "read_only": False, "cap_add": ["NET_BIND_SERVICE"]},
    {"name": "worker", "image": "web:1", "cap_drop": None},
]


def test_workloads_cis_off_passes_containers_through():
    assert render("workloads", "berth_workloads_containers", berth_containers=CONTAINERS) == CONTAINERS


def test_workloads_cis_defaults_go_under_each_container():
    web, worker = render("workloads", "berth_workloads_containers", berth_containers=CONTAINERS,
                         berth_workloads_cis=True)
    assert web == dict(CONTAINERS[0], pids_limit=512, cap_drop=["ALL"])
    assert web["read_only"] is False  # the container's own value wins
    assert worker == dict(CONTAINERS[1], read_only=True, pids_limit=512)
    assert worker["cap_drop"] is None  # null opts out of a default


def test_workloads_cis_lists_missing_required_options():
    missing = render("workloads", "berth_workloads_cis_missing", berth_containers=CONTAINERS
                     + [{"name": "db", "image": "db", "memory": None, "healthcheck": {"test": ["NONE"]}}])
    assert missing == ["worker: memory, healthcheck", "db: memory"]
    assert render("workloads", "berth_workloads_cis_missing", berth_containers=CONTAINERS,
                  berth_workloads_cis_required=["memory"]) == ["worker: memory"]


APPARMOR = ["/sys/kernel/security/apparmor", "/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"]


def test_runtime_facts_looks_for_the_candidates_and_the_rules_directory_only_when_hardening():
    assert render("runtime", "__berth_probe_paths", berth_hardening="none") == APPARMOR
    paths = render("runtime", "__berth_probe_paths")
    assert paths == APPARMOR + render("runtime", "__berth_audit_candidates") + ["/etc/audit/rules.d"]


# What runtime_facts returned on the vm scenario's Debian 12 (AppArmor on, installed without
# Recommends: no apparmor_parser), where every container then failed to start.
@pytest.mark.parametrize("found, os_family, packages", [
    ({"/sys/kernel/security/apparmor": "/sys/kernel/security/apparmor"}, "Debian", ["apparmor"]),
    ({"/sys/kernel/security/apparmor": "/sys/kernel/security/apparmor",
      "/sbin/apparmor_parser": "/usr/sbin/apparmor_parser"}, "Debian", []),
    ({}, "Debian", []),  # AppArmor off (or a container host without securityfs)
    ({"/sys/kernel/security/apparmor": "/sys/kernel/security/apparmor"}, "RedHat", []),
])
def test_apparmor_is_installed_where_the_kernel_enforces_it_and_its_parser_is_missing(found, os_family, packages):
    chosen = render("runtime", "__berth_apparmor_packages", __berth_facts={"paths": found},
                    ansible_facts={"os_family": os_family})
    assert chosen == packages
    # The AppArmor paths never end up in the audit rules.
    audited = render("runtime", "__berth_audit_paths", __berth_facts={"paths": found})
    assert audited == []


def test_audited_paths_are_one_per_file_in_candidate_order():
    candidates = render("runtime", "__berth_audit_candidates")
    # What runtime_facts returns on a merged-/usr Debian (in the order it was asked, the candidates'):
    # the unit and runc exist under two names each.
    real = {"/usr/sbin/dockerd": "/usr/sbin/dockerd", "/lib/systemd/system/docker.service":
            "/usr/lib/systemd/system/docker.service", "/usr/lib/systemd/system/docker.service":
            "/usr/lib/systemd/system/docker.service", "/usr/bin/runc": "/usr/sbin/runc",
            "/usr/sbin/runc": "/usr/sbin/runc", "/etc/audit/rules.d": "/etc/audit/rules.d"}
    found = {path: real[path] for path in candidates + ["/etc/audit/rules.d"] if path in real}
    paths = render("runtime", "__berth_audit_paths", __berth_facts={"paths": found})
    assert paths == ["/usr/sbin/dockerd", "/usr/lib/systemd/system/docker.service", "/usr/bin/runc"]


def test_audited_paths_come_from_the_second_look_when_the_install_changed_files():
    start = {"paths": {"/etc/audit/rules.d": "/etc/audit/rules.d"}}  # a fresh host: no engine yet
    assert render("runtime", "__berth_audit_paths", __berth_facts=start) == []
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    assert render("runtime", "__berth_audit_paths", __berth_facts=start, __berth_audit_reread=skipped) == []
    reread = {"changed": False, "paths": {"/usr/sbin/dockerd": "/usr/sbin/dockerd"}, "restart_pending": False}
    assert render("runtime", "__berth_audit_paths", __berth_facts=start,
                  __berth_audit_reread=reread) == ["/usr/sbin/dockerd"]


@pytest.mark.parametrize("registered, changed", [
    ({}, False),
    ({"__berth_engine_packages_installed": {"changed": False, "skipped": True}}, False),
    ({"__berth_engine_packages_installed": {"changed": True}}, True),
    ({"__berth_conflicts_removed": {"changed": True}}, True),
    ({"__berth_engine_install": {"changed": True}}, True),
    ({"__berth_bundle_binaries_result": {"changed": False, "results": []},
      "__berth_bundle_units": {"changed": True, "results": []}}, True),
])
def test_the_second_look_follows_installs_and_removals(registered, changed):
    assert render("runtime", "__berth_engine_files_changed", **registered) is changed
