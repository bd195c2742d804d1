"""The pure part of berth.engine.daemon_config: merge, checks, comparison and diff (no daemon, no files).

File states are shaped like the module's read(): {"exists", "text", "mode", "uid"}.
"""
from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.berth.engine.plugins.doc_fragments.engine import ModuleDocFragment
from ansible_collections.berth.engine.plugins.module_utils import daemon_config as dc
from ansible_collections.berth.engine.plugins.module_utils.common import CONNECTION_ARGS
from ansible_collections.berth.engine.plugins.modules import daemon_config as module
from ansible_collections.berth.engine.plugins.modules import runtime_facts
from tests.unit.test_module_docs import compare

DEFAULTS = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": True}
PATH = "/etc/docker/daemon.json"


def params(config=None, **extra):
    return dict(dict(path=PATH, defaults=DEFAULTS, config=config or {}, allow_unknown_keys=False,
                     swarm_active=False, mode="0644"), **extra)


def on_disk(document=None, text=None, mode=0o644, uid=0):
    if document is None and text is None:
        return {"exists": False, "text": None, "mode": None, "uid": None}
    return {"exists": True, "text": text if text is not None else json.dumps(document), "mode": mode, "uid": uid}


# --- merge -------------------------------------------------------------------------------------


def test_merge_is_recursive_for_mappings_and_replaces_lists():
    merged = dc.merge({"log-opts": {"max-size": "10m", "max-file": "3"}, "dns": ["1.1.1.1"]},
                      {"log-opts": {"max-size": "50m"}, "dns": ["9.9.9.9"]})
    assert merged == {"log-opts": {"max-size": "50m", "max-file": "3"}, "dns": ["9.9.9.9"]}


def test_null_removes_a_default_at_any_level():
    merged = dc.merge(DEFAULTS, {"live-restore": None, "log-opts": {"max-file": None}})
    assert merged == {"log-driver": "json-file", "log-opts": {"max-size": "10m"}}


def test_merge_does_not_change_its_inputs():
    defaults = json.loads(json.dumps(DEFAULTS))
    dc.merge(defaults, {"log-opts": {"max-size": "1m"}})
    assert defaults == DEFAULTS


def test_swarm_node_drops_the_live_restore_default_but_refuses_an_explicit_one():
    assert "live-restore" not in dc.effective_config(DEFAULTS, {}, swarm_active=True)
    assert dc.effective_config(DEFAULTS, {}, swarm_active=False)["live-restore"] is True
    with pytest.raises(ValueError, match="live-restore cannot be enabled on a swarm node"):
        dc.desire(params({"live-restore": True}, swarm_active=True))


# --- checks ------------------------------------------------------------------------------------


def test_wrong_types_name_the_key_the_value_and_the_type():
    with pytest.raises(ValueError) as err:
        dc.desire(params({"live-restore": "yes", "log-opts": {"max-file": 3}, "mtu": "1500", "dns": "10.0.0.53",
                          "debug": 1, "runtimes": ["runc"]}))
    message = str(err.value)
    assert message.startswith(PATH + " was left unchanged: ")
    for text in (
        'live-restore must be true or false, got "yes"',
        'mtu must be an integer, got "1500"',
        'dns must be a list, got "10.0.0.53"',
        "debug must be true or false, got 1",
        'runtimes must be a mapping, got ["runc"]',
        "log-opts.max-file must be a string (quote it), got 3",
    ):
        assert text in message


@pytest.mark.parametrize("key, value", [("mtu", True), ("mtu", 1500.0), ("max-concurrent-downloads", "3")])
def test_an_integer_is_neither_a_bool_nor_a_float_nor_a_string(key, value):
    assert dc.problems({key: value}) == ["%s must be an integer, got %s" % (key, json.dumps(value))]


def test_right_types_pass():
    config = {"mtu": 1450, "dns": ["10.0.0.53"], "debug": False, "data-root": "/srv/docker",
              "default-address-pools": [{"base": "10.213.0.0/16", "size": 24}], "features": {"buildkit": True}}
    assert dc.problems(dc.merge(DEFAULTS, config)) == []


def test_unknown_key_fails_with_did_you_mean():
    found = dc.problems({"live-restor": True, "berth-no-such-option": 1})
    assert found[0].startswith("berth-no-such-option is not a daemon.json setting dockerd knows;")
    assert "did you mean" not in found[0]
    assert found[1].startswith("live-restor is not a daemon.json setting dockerd knows (did you mean live-restore?)")
    assert "allow_unknown_keys" in found[1]


def test_unknown_keys_pass_when_allowed_but_known_keys_are_still_checked():
    assert dc.problems({"some-future-option": [1]}, allow_unknown=True) == []
    assert dc.problems({"some-future-option": 1, "mtu": "x"}, allow_unknown=True) == ['mtu must be an integer, got "x"']


def test_log_level_must_be_one_dockerd_knows():
    assert dc.problems({"log-level": "verbose"}) == [
        'log-level must be one of debug, info, warn, error, fatal, got "verbose"']


def test_options_must_be_mappings():
    with pytest.raises(ValueError, match=r'config must be a mapping of daemon.json settings, got \["a"\]'):
        dc.desire(params(["a"]))


# --- plan: equality, changes, diff -------------------------------------------------------------


def desired(config=None, **extra):
    return dc.desire(params(config, **extra))


def test_semantically_equal_file_is_left_alone_whatever_its_layout():
    text = '{"log-opts":{"max-file":"3","max-size":"10m"},  "live-restore":true,"log-driver":"json-file"}'
    result = dc.plan(desired(), on_disk(text=text))
    assert result.actions == [] and not result.changed
    assert not dc.restart_needed(result)


def test_true_and_one_are_different_values():
    want = desired({"debug": True})
    result = dc.plan(want, on_disk(dict(want["config"], debug=1)))
    assert result.action_names() == ["write"]
    assert result.actions[0]["keys"] == ["debug"]


def test_a_changed_value_is_a_write_that_needs_a_restart_with_a_backup():
    result = dc.plan(desired({"log-opts": {"max-size": "50m"}}), on_disk(DEFAULTS))
    assert result.actions == [{"action": "write", "keys": ["log-opts"], "backup": True}]
    assert dc.restart_needed(result)


def test_missing_file_is_written_without_backup():
    result = dc.plan(desired(), on_disk())
    assert result.actions == [{"action": "write", "keys": ["live-restore", "log-driver", "log-opts"], "backup": False}]
    diff = dc.file_diff(result, PATH)
    assert diff["before"] == ""
    assert json.loads(diff["after"]) == DEFAULTS


def test_removed_key_is_a_change():
    result = dc.plan(desired({"live-restore": None}), on_disk(DEFAULTS))
    assert result.actions[0]["keys"] == ["live-restore"]
    diff = dc.file_diff(result, PATH)
    assert json.loads(diff["before"]) == DEFAULTS
    assert json.loads(diff["after"]) == {k: v for k, v in DEFAULTS.items() if k != "live-restore"}
    assert diff["before_header"] == PATH + " (before)"


def test_diff_texts_are_sorted_and_indented_like_the_file():
    result = dc.plan(desired({"mtu": 1400}), on_disk(DEFAULTS))
    after = dc.file_diff(result, PATH)["after"]
    assert after == desired({"mtu": 1400})["content"]
    assert after.splitlines()[1] == '  "live-restore": true,' and after.endswith("}\n")


def test_an_empty_file_counts_as_no_settings():
    result = dc.plan(desired(), on_disk(text=" \n"))
    assert result.action_names() == ["write"] and result.actions[0]["backup"] is True


def test_unparseable_file_is_replaced_with_a_warning_and_shown_as_it_was():
    result = dc.plan(desired(), on_disk(text='{"debug": tru'))
    assert result.action_names() == ["write"]
    assert "is not valid JSON" in result.warnings[0]
    assert dc.file_diff(result, PATH)["before"] == '{"debug": tru'


def test_wrong_mode_or_owner_alone_fixes_attributes_without_a_restart():
    for state in (on_disk(DEFAULTS, mode=0o600), on_disk(DEFAULTS, uid=1000)):
        result = dc.plan(desired(), state)
        assert result.actions == [{"action": "set_attributes", "mode": "0644"}]
        assert result.changed and not dc.restart_needed(result)


# --- the data root's filesystem ----------------------------------------------------------------

# What host_access.Host.storage() reads for a data root on the VM scenario's second disk
# (mkfs.xfs -n ftype=0, mounted at /mnt/noftype; the data root itself does not exist yet).
XFS_FTYPE_0 = {"data_root": "/mnt/noftype/docker", "data_root_exists": False, "path_checked": "/mnt/noftype",
               "mountpoint": "/mnt/noftype", "fstype": "xfs", "source": "/dev/vdb", "xfs_ftype": 0,
               "d_type": False, "overlay_supported": False}
EXT4 = dict(XFS_FTYPE_0, fstype="ext4", source="/dev/vda1", xfs_ftype=None, d_type=True)


def with_storage(state, storage):
    return dict(state, storage=storage)


def test_a_new_data_root_on_xfs_ftype_0_is_refused_naming_the_filesystem_and_the_fix():
    want = desired({"data-root": "/mnt/noftype/docker"})
    with pytest.raises(ValueError) as refused:
        dc.plan(want, with_storage(on_disk(DEFAULTS), XFS_FTYPE_0))
    message = str(refused.value)
    assert message.startswith(PATH + " was left unchanged: The data root /mnt/noftype/docker is on xfs")
    assert "ftype=0" in message and "mkfs.xfs -n ftype=1" in message


def test_a_first_file_is_refused_on_an_overlay_data_root_too():
    on_overlay = dict(EXT4, fstype="overlay", d_type=None)
    with pytest.raises(ValueError, match="cannot stack on overlayfs"):
        dc.plan(desired(), with_storage(on_disk(), on_overlay))


def test_an_explicit_other_driver_or_a_good_filesystem_passes():
    assert dc.storage_refusals({"storage-driver": "vfs"}, XFS_FTYPE_0) == []
    assert dc.storage_refusals({"storage-driver": "btrfs"}, XFS_FTYPE_0) == []
    assert dc.storage_refusals({}, EXT4) == []
    assert dc.storage_refusals({}, None) == []
    result = dc.plan(desired({"data-root": "/srv/docker"}), with_storage(on_disk(DEFAULTS), EXT4))
    assert result.action_names() == ["write"]


def test_other_edits_are_not_blocked_by_the_filesystem_the_daemon_already_uses():
    result = dc.plan(desired({"debug": True}), with_storage(on_disk(DEFAULTS), XFS_FTYPE_0))
    assert result.actions[0]["keys"] == ["debug"]


def test_the_driver_dockerd_picks_is_overlay2():
    assert dc.storage_target({}) == ("/var/lib/docker", "overlay2")
    assert dc.storage_target({"data-root": "/srv/d", "storage-driver": "overlay"}) == ("/srv/d", "overlay")


# --- documentation -----------------------------------------------------------------------------


@pytest.mark.parametrize("mod, with_connection", [(module, False), (runtime_facts, True)])
def test_documentation_matches_argument_spec(mod, with_connection):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    spec, options = dict(mod.ARGUMENT_SPEC), dict(doc["options"])
    if with_connection:
        assert "berth.engine.engine" in doc["extends_documentation_fragment"]
        spec.update(CONNECTION_ARGS)
        options.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    assert compare(spec, options, doc["module"]) == []
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert isinstance(yaml.safe_load(mod.RETURN), dict)
    for task in yaml.safe_load(mod.EXAMPLES):
        args = task.get("berth.engine.%s" % doc["module"])
        if args:
            assert set(args) <= set(spec), task["name"]


# --- runtime_facts' parsers, on output shaped like the real commands' -------------------------

SYSTEMCTL_SHOW = """Id=containerd.service
LoadState=loaded
UnitFileState=enabled
ActiveState=active
ExecStart={ path=/usr/bin/containerd ; argv[]=/usr/bin/containerd ; ignore_errors=no ; start_time=[n/a] ; \
stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }

Id=docker.socket
LoadState=loaded
UnitFileState=enabled
ActiveState=active

Id=docker.service
LoadState=loaded
UnitFileState=disabled
ActiveState=active
ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// \
--containerd=/run/containerd/containerd.sock ; ignore_errors=no ; start_time=[Tue 2026-12-01 10:14:31 UTC] ; \
stop_time=[n/a] ; pid=812 ; code=(null) ; status=0/0 }
"""


def test_systemctl_show_gives_the_units_states_and_dockerds_command_line():
    parsed = runtime_facts.parse_systemctl_show(SYSTEMCTL_SHOW)
    assert parsed["exec_start"] == "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock"
    assert parsed["units"] == {
        "containerd.service": {"load": "loaded", "enabled": "enabled", "active": "active"},
        "docker.socket": {"load": "loaded", "enabled": "enabled", "active": "active"},
        "docker.service": {"load": "loaded", "enabled": "disabled", "active": "active"},
    }


def test_systemctl_show_of_a_host_without_the_units():
    out = "Id=containerd.service\nLoadState=not-found\nUnitFileState=\nActiveState=inactive\nExecStart=\n\n" \
          "Id=docker.service\nLoadState=not-found\nUnitFileState=\nActiveState=inactive\nExecStart=\n"
    parsed = runtime_facts.parse_systemctl_show(out)
    assert parsed["exec_start"] == ""
    assert parsed["units"]["docker.service"] == {"load": "not-found", "enabled": "", "active": "inactive"}


def test_dpkg_and_rpm_listings_keep_only_installed_packages():
    dpkg = ("installed docker.io 20.10.24+dfsg1-1+deb12u1+b6\nnot-installed runc \n"
            "config-files containerd 1.6.20~ds1-1\ninstalled iptables 1.8.9-2\n")
    assert runtime_facts.parse_dpkg(dpkg) == {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6", "iptables": "1.8.9-2"}
    rpm = "moby-engine 24.0.5-1.fc39\npackage docker-ce is not installed\n"
    assert runtime_facts.parse_rpm(rpm, ["moby-engine", "docker-ce"]) == {"moby-engine": "24.0.5-1.fc39"}


# --- runtime_facts' paths, on a file tree like a merged-/usr host's ------------------------------

@pytest.fixture
def merged_usr(tmp_path):
    """usr/bin/dockerd, bin -> usr/bin (merged /usr), a dangling runc link, no etc/default/docker."""
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "usr" / "bin" / "dockerd").write_text("")
    (tmp_path / "bin").symlink_to("usr/bin")
    (tmp_path / "usr" / "bin" / "runc").symlink_to("/nonexistent/runc")
    (tmp_path / "etc" / "audit" / "rules.d").mkdir(parents=True)
    return tmp_path


def test_paths_gives_the_existing_ones_in_order_with_the_file_each_is(merged_usr):
    asked = [str(merged_usr / p) for p in ("bin/dockerd", "etc/default/docker", "usr/bin/dockerd",
                                           "usr/bin/runc", "etc/audit/rules.d")]
    found = runtime_facts.existing_paths(asked)
    real = str(merged_usr / "usr" / "bin" / "dockerd")
    assert list(found) == [asked[0], asked[2], asked[4]]  # no missing file, no dangling link
    assert found[asked[0]] == found[asked[2]] == real
    assert found[asked[4]] == str(merged_usr / "etc" / "audit" / "rules.d")


def test_gather_paths_alone_reads_nothing_else(merged_usr):
    class Module:  # gather() reads only module.params for this part
        params = dict(gather=["paths"], paths=[str(merged_usr / "bin" / "dockerd")],
                      restart_marker=str(merged_usr / "no-marker"))
    result = runtime_facts.gather(Module())
    assert result == {"changed": False, "restart_pending": False,
                      "paths": {str(merged_usr / "bin" / "dockerd"): str(merged_usr / "usr" / "bin" / "dockerd")}}
    assert "paths" in runtime_facts.ARGUMENT_SPEC["gather"]["default"]


# --- the resource (daemon_config_resource.py), on files in tmp_path ----------------------------------


class FakeHost:
    """The AnsibleModule calls the resource makes: a dockerd that says `verdict`, and backups."""

    def __init__(self, verdict=(0, "", "")):
        self.verdict = verdict
        self.commands = []

    def run_command(self, argv):
        self.commands.append(argv)
        return self.verdict

    def get_bin_path(self, name, opt_dirs=None):
        return None

    def backup_local(self, path):
        backup = path + ".bak~"
        with open(path, "rb") as source, open(backup, "wb") as copy:
            copy.write(source.read())
        return backup


def resource_params(tmp_path, **extra):
    return dict(params({"storage-driver": "vfs"}, path=str(tmp_path / "daemon.json"), validate_with="",
                       backup=True, restart_marker=None), **extra)


def test_the_resource_plans_in_check_mode_and_writes_on_apply(tmp_path):
    from ansible_collections.berth.engine.plugins.module_utils.daemon_config_resource import DaemonJson
    from ansible_collections.berth.engine.plugins.module_utils.resource import converge

    checked, state, done = converge(DaemonJson(resource_params(tmp_path), check_mode=True, host=FakeHost()))
    assert checked.action_names() == ["write"] and not state["exists"] and done is None
    assert not (tmp_path / "daemon.json").exists(), "check mode wrote the file"
    written, _state, done = converge(DaemonJson(resource_params(tmp_path), host=FakeHost()))
    assert written.actions == checked.actions, "check mode predicted the run"
    assert json.loads((tmp_path / "daemon.json").read_text())["storage-driver"] == "vfs"
    assert done == {"backup_file": "", "validated": False}
    again, _state, _done = converge(DaemonJson(resource_params(tmp_path), host=FakeHost()))
    assert again.actions == []


def test_a_refused_candidate_leaves_the_file_and_says_what_dockerd_said(tmp_path):
    from ansible_collections.berth.engine.plugins.module_utils.daemon_config_resource import DaemonJson
    from ansible_collections.berth.engine.plugins.module_utils.resource import converge

    path = tmp_path / "daemon.json"
    path.write_text("{}")
    host = FakeHost(verdict=(1, "", "unknown option in the new file"))
    with pytest.raises(ValueError, match="dockerd --validate refused.*dockerd said: unknown option in the new file"):
        converge(DaemonJson(resource_params(tmp_path, validate_with="/usr/bin/dockerd"), host=host))
    assert path.read_text() == "{}" and host.commands[0][:2] == ["/usr/bin/dockerd", "--validate"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon.json"], "a candidate or backup was left"


def test_the_module_checks_its_values_as_every_module_does():
    from ansible_collections.berth.engine.plugins.module_utils.common import validate_params

    with pytest.raises(ValueError, match="path must not contain a NUL byte"):
        validate_params(module.ARGUMENT_SPEC, {"path": "/etc/docker/daemon.json\x00x"})
    with pytest.raises(ValueError, match="mode must not contain a NUL byte"):
        validate_params(module.ARGUMENT_SPEC, {"mode": "0644\x00"})
