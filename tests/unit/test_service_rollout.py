"""Unit tests for waiting on service rollouts: the pure verdict per poll, and one poll for many services.

Documents are shaped like the engine's (Docker 20.10+): `GET /services` entries with UpdateStatus, and
`GET /tasks` entries. The stand-in client answers only the two listings a poll makes and counts them.
"""
from __future__ import annotations

import pytest

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.service_resource import (
    Rollout,
    rollout_converged,
    wait_all,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_stack import SwarmStack

UPDATED = "2026-12-01T10:21:06.257989978Z"
EARLIER = "2026-12-01T10:20:00.000000000Z"
LATER = "2026-12-01T10:21:07.100000000Z"
PREVIOUS_STATUS = {"State": "completed", "StartedAt": "2026-12-01T09:00:00Z", "CompletedAt": "2026-12-01T09:00:09Z",
                   "Message": "update completed"}


def service(service_id="s1", name="web", replicas=2, status=None, image="berth-test/http:v2"):
    doc = {"ID": service_id, "Version": {"Index": 20}, "UpdatedAt": UPDATED,
           "Spec": {"Name": name, "Mode": {"Replicated": {"Replicas": replicas}},
                    "TaskTemplate": {"ContainerSpec": {"Image": image}}}}
    if status:
        doc["UpdateStatus"] = status
    return doc


def task(service_id="s1", slot=1, state="running", desired="running", created=LATER, err=None):
    status = {"Timestamp": created, "State": state, "Message": state}
    if err:
        status["Err"] = err
    return {"ID": "t%s%d" % (service_id, slot), "ServiceID": service_id, "Slot": slot, "NodeID": "n1",
            "CreatedAt": created, "UpdatedAt": created, "DesiredState": desired, "Status": status}


def rollout(service_id="s1", name="web", updating=True, previous=None, timeout=60):
    made = Rollout(name, service_id, updating, previous, timeout)
    made.since = UPDATED
    return made


def test_converged_when_every_new_task_runs():
    tasks = [task(slot=1), task(slot=2), task(slot=3, state="shutdown", desired="shutdown", created=EARLIER)]
    fresh = {"State": "completed", "StartedAt": UPDATED, "Message": "update completed"}
    assert rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=fresh), tasks, 3)
    assert not rollout_converged(rollout(), service(), tasks[:1], 3)
    assert not rollout_converged(rollout(), service(), [task(slot=1), task(slot=2, state="starting")], 3)
    assert not rollout_converged(rollout(), service(), None, 3)  # the task listing failed this poll


def test_an_update_waits_for_tasks_created_since_it_while_no_status_shows():
    old_tasks = [task(slot=1, created=EARLIER), task(slot=2, created=EARLIER)]
    # The previous update's status is not this one's: inside the grace period only new tasks count ...
    assert not rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=PREVIOUS_STATUS), old_tasks, 1)
    # ... after it, an update the engine did not roll out (no fresh status) is done with the tasks it kept.
    assert rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=PREVIOUS_STATUS), old_tasks, 6)
    # A create has no tasks from before it.
    assert rollout_converged(rollout(updating=False), service(), old_tasks, 1)


def test_a_rolled_back_update_fails_naming_the_running_image_and_the_task_errors():
    status = {"State": "rollback_completed", "StartedAt": UPDATED, "CompletedAt": LATER,
              "Message": "rollback completed"}
    failed = task(slot=1, state="failed", desired="shutdown", err="task: non-zero exit (3)")
    tasks = [task(slot=1), task(slot=2), failed]
    with pytest.raises(EngineError, match=r"service web: the update failed and the engine rolled it back .*"
                                          r"image berth-test/http:v2\) is running again.*task 1 \(failed\): "
                                          r"task: non-zero exit \(3\)"):
        rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=status), tasks, 4)


def test_a_rolled_back_update_waits_for_the_restored_tasks_before_it_fails():
    status = {"State": "rollback_completed", "StartedAt": UPDATED, "CompletedAt": LATER,
              "Message": "rollback completed"}
    starting = [task(slot=1), task(slot=2, state="starting"), task(slot=2, state="failed", desired="shutdown")]
    assert not rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=status), starting, 4)
    with pytest.raises(EngineError, match=r"is restored but its tasks did not all run within 60s"):
        rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=status), starting, 61)


@pytest.mark.parametrize("state", ["paused", "rollback_paused"])
def test_a_paused_update_fails_with_the_tasks_errors(state):
    status = {"State": state, "StartedAt": UPDATED,
              "Message": "update paused due to failure or early termination of task tweb1"}
    tasks = [task(slot=1, state="failed", desired="shutdown", err="task: non-zero exit (3)")]
    with pytest.raises(EngineError, match=r"service web: the update is %s by the engine \(update paused due to "
                                          r"failure.*\)\. Task errors: task 1 \(failed\): task: non-zero exit \(3\)\. "
                                          r"Fix the spec.*docker service rollback web" % state):
        rollout_converged(rollout(previous=PREVIOUS_STATUS), service(status=status), tasks, 4)


def test_the_state_of_an_earlier_update_is_not_this_ones():
    earlier_rollback = dict(PREVIOUS_STATUS, State="rollback_completed")
    tasks = [task(slot=1), task(slot=2)]
    assert rollout_converged(rollout(previous=earlier_rollback), service(status=earlier_rollback), tasks, 6)


def test_timeout_names_the_service_and_what_is_missing():
    with pytest.raises(EngineError, match=r"service web did not converge within 60s \(wait_timeout\): tasks are not "
                                          r"all running\. Task errors: task 2 \(rejected\): No such image"):
        failed = task(slot=2, state="rejected", desired="shutdown", err="No such image: berth-test/nosuch")
        tasks = [task(slot=1), failed]
        rollout_converged(rollout(), service(), tasks, 61)


class Cluster:
    """Answers the two listings of a poll from scripted (services, tasks); a poll starts with its service listing."""

    def __init__(self, polls):
        self.polls = list(polls)
        self.current = None
        self.calls = []

    def listing(self, kind, filters):
        wanted = filters["id" if kind == "service" else "service"]
        self.calls.append((kind, sorted(wanted)))
        if kind == "service":
            self.current = self.polls.pop(0) if self.polls else self.current
            return [s for s in self.current[0] if s["ID"] in wanted]
        assert kind == "task", kind
        return [t for t in self.current[1] if t["ServiceID"] in wanted]


def test_wait_all_polls_every_service_at_once_and_reports_each_by_name(monkeypatch):
    monkeypatch.setattr("ansible_collections.berth.engine.plugins.module_utils.service_resource.POLL_SECONDS", 0)
    rolled_back = {"State": "rollback_completed", "StartedAt": UPDATED, "Message": "rollback completed"}
    starting = ([service("s1", "web"), service("s2", "api"), service("s3", "worker", replicas=1)],
                [task("s1", 1), task("s2", 1, state="starting"), task("s3", 1, state="starting")])
    second = ([service("s1", "web"), service("s2", "api"), service("s3", "worker", replicas=1, status=rolled_back)],
              [task("s1", 1), task("s1", 2), task("s2", 1, state="starting"), task("s3", 1)])
    last = ([service("s1", "web"), service("s3", "worker", replicas=1, status=rolled_back)],
            [task("s1", 1), task("s1", 2), task("s3", 1)])
    cluster = Cluster([starting, second, last])
    outcomes = wait_all(cluster, [rollout("s1", "web"), rollout("s2", "api"), rollout("s3", "worker")])

    assert outcomes["web"]["ID"] == "s1" and len(outcomes["web"]["Tasks"]) == 2
    assert isinstance(outcomes["worker"], EngineError) and "rolled it back" in str(outcomes["worker"])
    assert isinstance(outcomes["api"], EngineError) and "service api disappeared" in str(outcomes["api"])
    # Two calls per poll, each for every service still waited for.
    assert cluster.calls == [("service", ["s1", "s2", "s3"]), ("task", ["s1", "s2", "s3"]),
                             ("service", ["s1", "s2", "s3"]), ("task", ["s1", "s2", "s3"]),
                             ("service", ["s2"])]


class Recorder:
    """A swarm whose services do not exist yet: records the stack's writes and polls, in order."""

    def __init__(self, refuse=()):
        self.calls = []
        self.created = {}
        self.refuse = refuse

    def inspect(self, kind, name):
        assert kind in ("service", "network"), kind
        if kind == "network":
            return {"Id": "n1", "Name": name, "Scope": "swarm", "Driver": "overlay", "Options": {}}
        return None

    def create(self, kind, body, headers=None):
        assert kind == "service"
        self.calls.append("create " + body["Name"])
        if body["Name"] in self.refuse:
            raise EngineError("create refused", 400, "port 18081 is already in use")
        service_id = "id-" + body["Name"]
        self.created[service_id] = body
        return {"ID": service_id}

    def listing(self, kind, filters=None):
        if kind == "service" and not filters:  # the stack's one read of the existing services, before any write
            self.calls.append("read services")
            return []
        self.calls.append(kind)
        if kind == "node":
            return []
        if kind == "service":
            return [dict(service(i, b["Name"], replicas=1), Spec=dict(b, Mode={"Replicated": {"Replicas": 1}}))
                    for i, b in self.created.items() if i in filters["id"]]
        return [task(i, 1) for i in filters["service"]]


def stack_of(client, names):
    return SwarmStack(client, {"name": "shop", "kernel_check": "skip", "parallel": 4, "services": [
        {"name": n, "image": "berth-test/busybox:latest", "resolve_image": False, "endpoint_mode": "dnsrr",
         "kernel_check": "skip", "networks": [{"name": "shop"}]} for n in names]}, False)


def test_the_stack_writes_every_service_before_waiting_for_them(monkeypatch):
    monkeypatch.setattr("ansible_collections.berth.engine.plugins.module_utils.service_resource.POLL_SECONDS", 0)
    names = ["svc%02d" % n for n in range(10)]
    client = Recorder()
    result = stack_of(client, names).converge()

    assert result["failures"] == [] and result["summary"]["services"]["changed"] == names
    assert all(result["services"][n] == {"changed": True, "actions": ["create"]} for n in names)
    writes = [c for c in client.calls if c.startswith("create ")]
    assert sorted(writes) == ["create " + n for n in names]
    # Every create comes before the first poll, and one poll covers all ten.
    assert client.calls.index("service") > max(client.calls.index(w) for w in writes)
    assert client.calls.count("service") == 1 and client.calls.count("task") == 1
    # The services were read once, by one listing, before anything was written.
    assert client.calls[0] == "read services" and client.calls.count("read services") == 1


def test_a_refused_write_fails_that_service_by_name_and_the_others_converge(monkeypatch):
    monkeypatch.setattr("ansible_collections.berth.engine.plugins.module_utils.service_resource.POLL_SECONDS", 0)
    result = stack_of(Recorder(refuse={"api"}), ["web", "api", "worker"]).converge()

    assert result["failures"] == ["service api: creating service api failed: port 18081 is already in use"]
    assert result["services"]["api"]["failed"] and not result["services"]["api"]["changed"]
    assert result["summary"]["services"]["changed"] == ["web", "worker"]


class ManagerGone(Recorder):
    """Takes the writes, then stops answering the polls."""

    def listing(self, kind, filters=None):
        if kind == "service" and filters:  # the polls by ID, after the writes
            raise EngineError("the engine at unix:///var/run/docker.sock did not answer: connection refused")
        return super().listing(kind, filters)


def test_a_manager_lost_while_waiting_fails_each_written_service_by_name(monkeypatch):
    monkeypatch.setattr("ansible_collections.berth.engine.plugins.module_utils.service_resource.POLL_SECONDS", 0)
    result = stack_of(ManagerGone(), ["web", "api"]).converge()

    assert sorted(result["failures"]) == [
        "service %s: written, but waiting for it failed: the engine at unix:///var/run/docker.sock did not answer: "
        "connection refused" % name for name in ("api", "web")]
    assert result["services"]["web"]["changed"] and result["services"]["web"]["actions"] == ["create"]
