"""Unit tests of issue 22's service side: modes and jobs, the container options, input strictness (no daemon).

Documents are shaped like Docker 20.10's `docker service inspect` and `GET /tasks` output (jobs included:
slot 0 is left out of a task, JobIteration.Index 0 is left out of both).
"""
from __future__ import annotations

import copy

import pytest

from ansible_collections.berth.engine.plugins.module_utils.container_plan import desired_container
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.service_plan import (
    desired_service,
    job_failure,
    job_outcome,
    plan_service,
)
from ansible_collections.berth.engine.plugins.module_utils.service_resource import (
    JobFailed,
    Rollout,
    recreate,
    rollout_converged,
)
from tests.unit.test_service_plan import SERVICE, desired, state

CS = ("TaskTemplate", "ContainerSpec")


def spec_of(plan):
    return plan.actions[0]["spec"]


def with_spec(**changes):
    current = copy.deepcopy(SERVICE)
    for path, value in changes.items():
        document = current["Spec"]
        parts = path.split(".")
        for part in parts[:-1]:
            document = document.setdefault(part, {})
        document[parts[-1]] = value
    return current


# --- modes and mode changes ------------------------------------------------------------------------------

def test_a_new_replicated_job_runs_all_completions_at_once_unless_max_concurrent_says():
    plan = plan_service(desired(image="busybox", mode="replicated-job", replicas=3), state(current=None))
    assert spec_of(plan)["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}}
    plan = plan_service(desired(image="busybox", mode="replicated-job", replicas=3, max_concurrent=1),
                        state(current=None))
    assert spec_of(plan)["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 3}}
    plan = plan_service(desired(image="busybox", mode="global-job"), state(current=None))
    assert spec_of(plan)["Mode"] == {"GlobalJob": {}}


def test_a_job_rerun_with_the_same_options_is_no_change_and_any_update_runs_it_again():
    job = with_spec(Mode={"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}})
    assert not plan_service(desired(mode="replicated-job", replicas=3), state(current=job)).actions
    assert not plan_service(desired(mode="replicated-job"), state(current=job)).actions
    plan = plan_service(desired(labels={"run": "2"}), state(current=job))
    assert plan.actions[0]["action"] == "update" and plan.actions[0]["rollout"]


@pytest.mark.parametrize("old, new, mode", [
    ({"Replicated": {"Replicas": 3}}, {"Global": {}}, "global"),
    ({"Global": {}}, {"Replicated": {"Replicas": 1}}, "replicated"),
    ({"Replicated": {"Replicas": 3}}, {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}},
     "replicated-job"),
    ({"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}, {"GlobalJob": {}}, "global-job"),
])
def test_a_mode_change_is_a_recreate_that_keeps_ports_and_secrets(old, new, mode):
    current = with_spec(Mode=old)
    plan = plan_service(desired(mode=mode), state(current=current))
    assert [a["action"] for a in plan.actions] == ["recreate"]
    spec = spec_of(plan)
    assert spec["Mode"] == new
    assert spec["EndpointSpec"] == SERVICE["Spec"]["EndpointSpec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Secrets"] == SERVICE["Spec"]["TaskTemplate"]["ContainerSpec"][
        "Secrets"]
    assert plan.before == {"mode": old} and plan.after == {"mode": new}


class RecreatingEngine:
    """Answers the calls a recreate makes; `refuse` is how many creates the engine refuses."""

    def __init__(self, refuse):
        self.refuse = refuse
        self.calls = []

    def remove(self, kind, object_id):
        self.calls.append(("remove", object_id))

    def listing(self, kind, filters=None):
        return []  # the removed service's tasks are gone

    def create(self, kind, spec, headers=None):
        self.calls.append(("create", mode_kind_of(spec)))
        if self.refuse:
            self.refuse -= 1
            raise EngineError("refused", 400, "port 18083 is already in use")
        return {"ID": "new"}


def mode_kind_of(spec):
    return next(iter(spec["Mode"]))


def test_a_recreate_whose_create_is_refused_creates_the_previous_service_again():
    current = with_spec(Mode={"Replicated": {"Replicas": 3}})
    spec = plan_service(desired(mode="global"), state(current=current)).actions[0]["spec"]
    assert recreate(RecreatingEngine(0), current, spec) == "new"
    engine = RecreatingEngine(1)
    with pytest.raises(EngineError, match="in mode Global failed: port 18083 is already in use. The service was "
                                          "created again as it was \\(mode Replicated\\)"):
        recreate(engine, current, spec)
    assert engine.calls == [("remove", current["ID"]), ("create", "Global"), ("create", "Replicated")]
    with pytest.raises(EngineError, match="the service is gone"):
        recreate(RecreatingEngine(2), current, spec)


def test_mode_options_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="replicas is for mode: replicated or replicated-job"):
        desired(mode="global-job", replicas=2)
    with pytest.raises(ValueError, match="max_concurrent is for mode: replicated-job"):
        desired(mode="replicated", max_concurrent=2)
    with pytest.raises(ValueError, match="runs in global-job mode"):
        plan_service(desired(replicas=2), state(current=with_spec(Mode={"GlobalJob": {}})))


def test_force_update_raises_the_counter_every_run():
    plan = plan_service(desired(force_update=True), state())
    assert plan.actions[0]["action"] == "update"
    assert spec_of(plan)["TaskTemplate"]["ForceUpdate"] == 1
    assert plan.before == {"force_update": 0} and plan.after == {"force_update": 1}


# --- jobs: the wait ----------------------------------------------------------------------------------------

def job(mode=None, iteration=None, attempts=0):
    mode = mode or {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}}
    restart = {"Condition": "any", "MaxAttempts": attempts}
    return {"ID": "j1", "Spec": {"Name": "migrate", "Mode": mode, "TaskTemplate": {"RestartPolicy": restart}},
            "JobStatus": {"JobIteration": {"Index": iteration} if iteration else {}}}


def job_task(slot, state, iteration=None, node="n1", err=None):
    task = {"ID": "task%s%s%s" % (slot, state, iteration), "ServiceID": "j1", "NodeID": node,
            "DesiredState": "complete",
            "JobIteration": {"Index": iteration} if iteration else {}, "UpdatedAt": "2026-12-05T10:09:50Z",
            "Status": {"State": state, "Err": err} if err else {"State": state}}
    if slot:
        task["Slot"] = slot
    return task


def test_a_replicated_job_completes_when_its_completions_of_this_run_are_done():
    done = [job_task(0, "complete"), job_task(1, "complete"), job_task(2, "complete")]
    assert job_outcome(job(), done)[0] == "complete"
    assert job_outcome(job(), done[:2] + [job_task(2, "running")])[0] == "running"
    # After an update, the previous run's completed tasks do not count.
    assert job_outcome(job(iteration=1), done)[0] == "running"
    assert job_outcome(job(iteration=1), [job_task(s, "complete", 1) for s in range(3)])[0] == "complete"


def test_a_global_job_completes_when_every_node_it_runs_on_completed():
    mode = {"GlobalJob": {}}
    assert job_outcome(job(mode), [])[0] == "running"
    assert job_outcome(job(mode), [job_task(0, "complete", node="n1"), job_task(0, "running", node="n2")])[0] \
        == "running"
    assert job_outcome(job(mode), [job_task(0, "complete", node="n1"), job_task(0, "complete", node="n2")])[0] \
        == "complete"


def test_a_job_fails_once_a_task_failed_more_often_than_max_attempts_allows():
    failed = job_task(0, "failed", err="task: non-zero exit (3)")
    assert job_outcome(job(), [failed])[0] == "failed"
    assert job_outcome(job(attempts=1), [failed, job_task(0, "running")])[0] == "running"
    second = dict(failed, ID="second")
    assert job_outcome(job(attempts=1), [failed, second])[0] == "failed"


def test_the_job_failure_names_the_task_and_the_node():
    failed = [job_task(2, "failed", node="1x0dm1p3fmhm", err="task: non-zero exit (3)"),
              job_task(0, "rejected", node="1x0dm1p3fmhm", err="no such image")]
    message = job_failure("migrate", failed, {"1x0dm1p3fmhm": "vm1"})
    assert "job migrate failed" in message
    assert "task migrate.2 (task2failedN) on node vm1: task: non-zero exit (3)" in message
    assert "task migrate.1x0dm1p3fmhm" in message and "no such image" in message


def test_the_wait_raises_job_failed_and_times_out_naming_the_job():
    rollout = Rollout("migrate", "j1", True, None, 30)
    with pytest.raises(JobFailed):
        rollout_converged(rollout, job(), [job_task(0, "failed", err="exit 3")], 1)
    assert rollout_converged(rollout, job(), [job_task(s, "complete") for s in range(3)], 1) is True
    with pytest.raises(EngineError, match="job migrate did not complete within 30s"):
        rollout_converged(rollout, job(), [job_task(0, "running")], 31)


# --- container options -----------------------------------------------------------------------------------

OPTIONS = dict(user="nobody", working_dir="/tmp", hostname="h1", init=True, tty=True, read_only=True,
               groups=["1234", "100"], hosts={"db.local": "10.0.0.1"}, dns=["10.0.0.2"], dns_search=["example.com"],
               dns_options=["ndots:2"], cap_add=["net_admin"], cap_drop=["CAP_MKNOD"], stop_signal="SIGINT",
               stop_grace_period="2s", sysctls={"net.core.somaxconn": 1024}, ulimits=["nofile=1024:2048"],
               logging={"driver": "json-file", "options": {"max-size": "1m"}}, max_replicas_per_node=2,
               healthcheck={"test": ["NONE"]})
ENGINE_SHAPE = {  # what `docker service inspect` shows for OPTIONS (20.10)
    "User": "nobody", "Dir": "/tmp", "Hostname": "h1", "Init": True, "TTY": True, "ReadOnly": True,
    "Groups": ["100", "1234"], "Hosts": ["10.0.0.1 db.local"],
    "DNSConfig": {"Nameservers": ["10.0.0.2"], "Search": ["example.com"], "Options": ["ndots:2"]},
    "CapabilityAdd": ["CAP_NET_ADMIN"], "CapabilityDrop": ["CAP_MKNOD"], "StopSignal": "SIGINT",
    "StopGracePeriod": 2000000000, "Sysctls": {"net.core.somaxconn": "1024"},
    "Ulimits": [{"Name": "nofile", "Hard": 2048, "Soft": 1024}], "Healthcheck": {"Test": ["NONE"]},
}


def test_container_options_become_the_engine_spec_and_the_same_spec_is_no_change():
    plan = plan_service(desired(image="busybox", **OPTIONS), state(current=None))
    spec = spec_of(plan)
    container = spec["TaskTemplate"]["ContainerSpec"]
    for key, value in ENGINE_SHAPE.items():
        assert container[key] == (sorted(value) if key == "Groups" else value), key
    assert spec["TaskTemplate"]["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "1m"}}
    assert spec["TaskTemplate"]["Placement"]["MaxReplicas"] == 2
    current = copy.deepcopy(SERVICE)
    current["Spec"]["TaskTemplate"]["ContainerSpec"].update(ENGINE_SHAPE)
    current["Spec"]["TaskTemplate"]["LogDriver"] = {"Name": "json-file", "Options": {"max-size": "1m"}}
    current["Spec"]["TaskTemplate"]["Placement"] = {"MaxReplicas": 2}
    assert plan_service(desired(**OPTIONS), state(current=current)).actions == []
    changed = plan_service(desired(**dict(OPTIONS, user="root", dns=["10.0.0.3"])), state(current=current))
    assert changed.actions[0]["reasons"] == ["user", "dns"]
    assert changed.before == {"user": "nobody", "dns": ["10.0.0.2"]}
    assert spec_of(changed)["TaskTemplate"]["ContainerSpec"]["DNSConfig"]["Search"] == ["example.com"]


def test_oom_score_adj_is_the_container_options_row_and_needs_api_1_46_for_a_service():
    """One table row (container_options) serves both modules: its parser, and the service's min_api."""
    new = plan_service(desired(image="busybox", oom_score_adj=-500), state(current=None, api_version="1.51"))
    assert spec_of(new)["TaskTemplate"]["ContainerSpec"]["OomScoreAdj"] == -500
    current = with_spec(**{"TaskTemplate.ContainerSpec.OomScoreAdj": -500})
    assert plan_service(desired(oom_score_adj=-500), state(current=current, api_version="1.46")).actions == []
    changed = plan_service(desired(oom_score_adj=100), state(current=current, api_version="1.46"))
    assert (changed.before, changed.after) == ({"oom_score_adj": -500}, {"oom_score_adj": 100})
    with pytest.raises(ValueError) as refused:
        plan_service(desired(image="busybox", oom_score_adj=-500), state(current=None, api_version="1.41"))
    assert str(refused.value) == ("service web: oom_score_adj needs Docker Engine API 1.46 or newer, but the engine "
                                  "speaks 1.41; upgrade the engine or leave oom_score_adj out")
    for module_desired in (lambda: desired(oom_score_adj=1001), lambda: desired_container(
            {"name": "c", "image": "busybox", "state": "started", "oom_score_adj": 1001})):
        with pytest.raises(ValueError, match="oom_score_adj must be"):
            module_desired()
    # the container module has it since long before 1.41: no min_api there
    assert desired_container({"name": "c", "image": "busybox", "state": "started", "oom_score_adj": 5})[
        "needs_api"] == {}


def test_the_shared_options_are_documented_once_in_the_option_table():
    from ansible_collections.berth.engine.plugins.module_utils.container_options import TABLE_BY_NAME
    from tests.support.docs import own_options

    service = own_options("service")
    assert service["cap_add"]["description"] == TABLE_BY_NAME["cap_add"].doc
    assert service["hosts"]["description"][0] == TABLE_BY_NAME["extra_hosts"].doc
    assert service["stop_grace_period"]["type"] == "raw"  # as the service always took it


def test_env_files_are_read_in_order_and_env_wins():
    files = {"/a.env": "A=1\nB=from-a\n# comment\n", "/b.env": "B=from-b\nC=3\n"}
    params = dict(name="web", env_files=["/a.env", "/b.env"], env={"C": "env"})
    assert desired_service(params, read_text=files.__getitem__)["env"] == {"A": "1", "B": "from-b", "C": "env"}
    with pytest.raises(ValueError, match="env_file /missing.env cannot be read"):
        desired_service(dict(name="web", env_files=["/missing.env"]))


def test_mount_options_by_type_and_options_of_another_type_refused():
    mounts = [
        {"type": "bind", "source": "/srv", "target": "/srv", "propagation": "rslave"},
        {"type": "volume", "source": "data", "target": "/data", "no_copy": True, "labels": {"a": "b"},
         "driver_config": {"name": "local", "options": {"type": "tmpfs", "device": "tmpfs"}}},
        {"type": "tmpfs", "target": "/scratch", "tmpfs_size": "1m", "tmpfs_mode": "0700"},
    ]
    spec = spec_of(plan_service(desired(image="busybox", mounts=mounts), state(current=None)))
    assert spec["TaskTemplate"]["ContainerSpec"]["Mounts"] == [
        {"Type": "volume", "Source": "data", "Target": "/data", "VolumeOptions": {
            "NoCopy": True, "Labels": {"a": "b"}, "DriverConfig": {"Name": "local", "Options": {
                "type": "tmpfs", "device": "tmpfs"}}}},
        {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o700}},
        {"Type": "bind", "Source": "/srv", "Target": "/srv", "BindOptions": {"Propagation": "rslave"}},
    ]
    with pytest.raises(ValueError, match=r"mounts\[0\].tmpfs_size is for tmpfs mounts, this one is volume"):
        desired(mounts=[{"type": "volume", "target": "/x", "tmpfs_size": "1m"}])


def test_network_driver_options_are_compared():
    current = copy.deepcopy(SERVICE)
    assert not plan_service(desired(networks=[{"name": "shop", "aliases": ["www"]}]), state(current=current)).actions
    plan = plan_service(desired(networks=[{"name": "shop", "aliases": ["www"], "options": {"com.example": "1"}}]),
                        state(current=current))
    assert spec_of(plan)["TaskTemplate"]["Networks"][0]["DriverOpts"] == {"com.example": "1"}


def test_a_healthcheck_needs_a_test_and_none_removes_the_images():
    with pytest.raises(ValueError, match="healthcheck.test is required"):
        desired(healthcheck={"interval": "5s"})
    assert desired(healthcheck={"disable": True})["container"]["healthcheck"] == {"Test": ["NONE"]}


# --- input strictness -----------------------------------------------------------------------------------

@pytest.mark.parametrize("params, option", [
    (dict(command=True), "command"),
    (dict(args=["--port", 1.10]), "args[1]"),
    (dict(env={"A": True}), "env.A"),
    (dict(networks=[{"name": "shop", "aliases": [False]}]), "networks[0].aliases[0]"),
])
def test_a_yaml_boolean_or_float_where_text_is_expected_is_refused_naming_the_option(params, option):
    with pytest.raises(ValueError, match=r"^%s must be a string" % option.replace("[", r"\[").replace("]", r"\]")):
        desired(**params)
    if "args" not in params:
        container = dict(params, name="c1")
        with pytest.raises(ValueError, match=r"^%s must be a string" % option.replace("[", r"\[").replace("]", r"\]")):
            desired_container(container)


def test_integers_and_strings_are_kept_as_text():
    result = desired(command=["sleep", 30], env={"WORKERS": 2, "EMPTY": None}, args="--port 80")
    assert result["command"] == ["sleep", "30"] and result["args"] == ["--port", "80"]
    assert result["env"] == {"WORKERS": "2", "EMPTY": ""}


# --- Compose keys of a swarm service ------------------------------------------------------------------------

COMPOSE = """
services:
  worker:
    image: busybox
    user: nobody
    working_dir: /tmp
    hostname: worker
    init: true
    tty: true
    read_only: true
    group_add: ["1234"]
    extra_hosts: ["db.local:10.0.0.1"]
    dns: 10.0.0.2
    dns_search: example.com
    dns_opt: [ndots:2]
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    sysctls: [net.core.somaxconn=1024]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    oom_score_adj: -500
    logging: {driver: json-file, options: {max-size: 1m}}
    healthcheck: {test: [NONE]}
    volumes:
      - {type: tmpfs, target: /scratch, tmpfs: {size: 1048576, mode: 0700}}
      - {type: volume, source: data, target: /data, volume: {nocopy: true}}
      - {type: bind, source: /srv, target: /srv, bind: {propagation: rslave}}
    deploy:
      mode: replicated-job
      replicas: 3
      placement: {max_replicas_per_node: 1}
volumes:
  data: {}
"""


def test_compose_keys_of_a_swarm_service_map_to_the_service_options():
    import yaml

    from ansible_collections.berth.engine.plugins.module_utils.compose_swarm import load_swarm_project
    from ansible_collections.berth.engine.plugins.module_utils.service_plan import ARGUMENT_SPEC
    from ansible_collections.berth.engine.plugins.module_utils.stack_base import validate_entry

    entry = load_swarm_project([yaml.safe_load(COMPOSE)], name="p")["services"][0]
    result = desired_service(validate_entry("services", ARGUMENT_SPEC, entry))
    assert result["mode"] == "replicated-job" and result["replicas"] == 3
    assert result["container"] == {
        "user": "nobody", "working_dir": "/tmp", "hostname": "worker", "init": True, "tty": True, "read_only": True,
        "groups": ["1234"], "hosts": ["10.0.0.1 db.local"], "dns": ["10.0.0.2"], "dns_search": ["example.com"],
        "dns_options": ["ndots:2"], "cap_add": ["CAP_NET_ADMIN"], "cap_drop": ["CAP_MKNOD"], "stop_signal": "SIGINT",
        "stop_grace_period": 90 * 10 ** 9, "sysctls": {"net.core.somaxconn": "1024"},
        "ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}, {"Name": "nproc", "Soft": 512, "Hard": 512}],
        "logging": {"Name": "json-file", "Options": {"max-size": "1m"}}, "healthcheck": {"Test": ["NONE"]},
        "max_replicas_per_node": 1, "oom_score_adj": -500}
    assert result["mounts"] == [
        {"Type": "volume", "Source": "p_data", "Target": "/data", "VolumeOptions": {"NoCopy": True}},
        {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o700}},
        {"Type": "bind", "Source": "/srv", "Target": "/srv", "BindOptions": {"Propagation": "rslave"}}]
