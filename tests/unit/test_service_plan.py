"""Unit tests for the pure service plan and the kernel feature detection (no daemon).

Fixtures are shaped like real `docker service inspect` / `docker inspect <task>` output of Docker 20.10.
"""
from __future__ import annotations

import copy

import pytest

from ansible_collections.berth.engine.plugins.module_utils import kernel_features
from ansible_collections.berth.engine.plugins.module_utils.service_plan import (
    ARGUMENT_SPEC,
    compare,
    desired_service,
    kernel_needs,
    plan_service,
    settings,
    task_errors,
    tasks_converged,
)
from tests.unit.test_module_docs import compare as compare_docs
from tests.unit.test_module_docs import test_documentation_matches_argument_spec as check_documentation
from tests.unit.test_module_docs import test_examples_and_return_parse_and_use_real_options as check_examples

NET_ID = "k3x0q2l9m8n7b6v5c4x3z2a1s"
SERVICE = {
    "ID": "vzryq2pjrwcp2h50a5clsl3jw",
    "Version": {"Index": 12},
    "CreatedAt": "2026-12-01T10:21:06.256828442Z",
    "UpdatedAt": "2026-12-01T10:21:06.257989978Z",
    "Spec": {
        "Name": "web",
        "Labels": {"team": "web", "outside": "yes"},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "registry.example.com/web:1.5@sha256:" + "a" * 64,
                "Env": ["B=2", "A=1"],
                "Secrets": [{"File": {"Name": "db", "UID": "0", "GID": "0", "Mode": 292},
                             "SecretID": "s1", "SecretName": "db_0123456789ab"}],
                "Init": False, "StopGracePeriod": 10000000000, "DNSConfig": {}, "Isolation": "default",
            },
            "Resources": {"Limits": {"MemoryBytes": 268435456}, "Reservations": {}},
            "RestartPolicy": {"Condition": "any", "Delay": 5000000000, "MaxAttempts": 0},
            "Placement": {},
            "Networks": [{"Target": NET_ID, "Aliases": ["www"]}],
            "ForceUpdate": 0,
            "Runtime": "container",
        },
        "Mode": {"Replicated": {"Replicas": 3}},
        "UpdateConfig": {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5000000000, "MaxFailureRatio": 0,
                         "Order": "stop-first"},
        "EndpointSpec": {"Mode": "dnsrr", "Ports": [{"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 8080,
                                                     "PublishMode": "host"}]},
    },
    "Endpoint": {"Spec": {"Mode": "dnsrr"}},
}
NETWORKS = {"shop": {"Id": NET_ID, "Name": "shop", "Driver": "overlay", "Scope": "swarm", "Options": {}}}
NO_KERNEL = {"ip_vs": False, "esp": False, "source": "test kernel"}


def desired(**overrides):
    params = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    params.update(name="web")
    params.update(overrides)
    return desired_service(params)


def state(current="existing", **overrides):
    result = {"current": copy.deepcopy(SERVICE if current == "existing" else current), "image": None,
              "networks": NETWORKS,
              "secrets": {"db": ("s1", "db_0123456789ab")}, "configs": {}, "kernel": NO_KERNEL}
    result.update(overrides)
    return result


def test_documentation_matches_argument_spec():
    """With the container options it shares merged in from the option table's fragment."""
    from tests.support.docs import own_options

    assert compare_docs(ARGUMENT_SPEC, own_options("service"), "service") == []


@pytest.mark.parametrize("name", ["service", "secret", "config", "swarm_stack"])
def test_swarm_workload_modules_pass_the_shared_docs_checks(name):
    check_documentation(name)
    check_examples(name)


def test_nothing_given_nothing_compared():
    plan = plan_service(desired(), state())
    assert plan.actions == [] and not plan.changed


def test_same_settings_in_other_order_or_shape_are_no_change():
    plan = plan_service(desired(image="registry.example.com/web:1.5", env={"A": 1, "B": "2"}, replicas=3,
                                labels={"team": "web"}, endpoint_mode="dnsrr", limits={"memory": "256m"},
                                networks=[{"name": "shop", "aliases": ["www"]}],
                                secrets=[{"name": "db"}],
                                ports=[{"target": 8080, "published": 8080, "publish_mode": "host",
                                        "protocol": "tcp"}]), state())
    assert plan.actions == [], plan.before


def test_one_option_changes_only_that_setting():
    plan = plan_service(desired(replicas=5), state())
    assert plan.action_names() == ["update"]
    action = plan.actions[0]
    assert action["version"] == 12 and action["rollout"] is False
    assert plan.before == {"mode": {"Replicated": {"Replicas": 3}}}
    assert plan.after == {"mode": {"Replicated": {"Replicas": 5}}}
    expected = copy.deepcopy(SERVICE["Spec"])
    expected["Mode"] = {"Replicated": {"Replicas": 5}}
    assert action["spec"] == expected  # everything else exactly as the engine has it


def test_labels_merge_by_key_env_replaces_whole():
    plan = plan_service(desired(labels={"team": "shop"}, env={"A": "1"}), state())
    spec = plan.actions[0]["spec"]
    assert spec["Labels"] == {"team": "shop", "outside": "yes"}
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["A=1"]
    assert plan.actions[0]["rollout"] is True
    assert sorted(plan.before) == ["env", "labels"]


def test_image_tag_matches_pinned_digest_but_new_digest_differs():
    assert plan_service(desired(image="registry.example.com/web:1.5"), state()).actions == []
    moved = "registry.example.com/web:1.5@sha256:" + "b" * 64
    plan = plan_service(desired(image="registry.example.com/web:1.5"), state(image=moved))
    assert plan.after == {"image": moved}


def test_rotated_secret_version_is_a_difference():
    plan = plan_service(desired(secrets=[{"name": "db"}]), state(secrets={"db": ("s2", "db_ffffffffffff")}))
    ref = plan.actions[0]["spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert ref == [{"File": {"Name": "db", "UID": "0", "GID": "0", "Mode": 292}, "SecretID": "s2",
                    "SecretName": "db_ffffffffffff"}]


def test_create_defaults_and_body():
    plan = plan_service(desired(image="berth-test/http:v1", endpoint_mode="dnsrr",
                                configs=[{"name": "site", "mode": "0440"}]),
                        state(current=None, configs={"site": ("c1", "site_0123")}))
    assert plan.action_names() == ["create"]
    spec = plan.actions[0]["spec"]
    assert spec["Name"] == "web" and spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["TaskTemplate"]["ContainerSpec"]["Configs"][0]["File"] == {"Name": "/site", "UID": "0", "GID": "0",
                                                                           "Mode": 0o440}
    with pytest.raises(ValueError, match="image is required"):
        plan_service(desired(), state(current=None))


def test_replicas_on_a_global_service_is_refused():
    current = copy.deepcopy(SERVICE)
    current["Spec"]["Mode"] = {"Global": {}}
    with pytest.raises(ValueError, match="global mode"):
        plan_service(desired(replicas=2), state(current=current))
    with pytest.raises(ValueError, match="replicas is for mode: replicated"):
        desired(mode="global", replicas=2)


def test_settings_only_for_given_options():
    found = settings(desired(limits={"cpus": 0.5}), state(), SERVICE["Spec"])
    assert list(found) == [
        ("limits", ("TaskTemplate", "Resources", "Limits"), {"NanoCPUs": 500000000}, "keys")]
    assert compare(found, SERVICE["Spec"]) == [
        ("limits", ("TaskTemplate", "Resources", "Limits"), {}, {"NanoCPUs": 500000000})]


def test_empty_logging_options_match_the_engine_leaving_them_out():
    """community.docker's 'logging_options (empty idempotency)': the engine stores no Options for {}."""
    current = copy.deepcopy(SERVICE)
    current["Spec"]["TaskTemplate"]["LogDriver"] = {"Name": "json-file"}
    cleared = settings(desired(logging={"driver": "json-file", "options": {}}), state(), current["Spec"])
    assert compare(cleared, current["Spec"]) == []
    current["Spec"]["TaskTemplate"]["LogDriver"]["Options"] = {"max-file": "1"}
    assert [option for option, *_rest in compare(cleared, current["Spec"])] == ["logging"]


@pytest.mark.parametrize("spec_change, feature", [
    ({"EndpointSpec": {"Ports": [{"Protocol": "tcp", "TargetPort": 80}]}}, "ip_vs"),
    ({"EndpointSpec": {"Mode": "vip"}}, "ip_vs"),
    ({"EndpointSpec": {}}, "ip_vs"),
])
def test_kernel_refusal_for_ingress_and_vip(spec_change, feature):
    current = copy.deepcopy(SERVICE)
    current["Spec"].update(spec_change)
    needs = kernel_needs(current["Spec"], NETWORKS)
    assert feature in [f for f, _unused in needs]
    with pytest.raises(ValueError, match="nothing was changed.*endpoint_mode: dnsrr"):
        plan_service(desired(replicas=1), state(current=current))
    assert plan_service(desired(replicas=1, kernel_check="skip"), state(current=current)).action_names() == ["update"]
    assert plan_service(desired(replicas=1), state(current=current, kernel={"ip_vs": True, "esp": True})).actions


def test_kernel_refusal_for_encrypted_overlay_and_none_for_dnsrr_host():
    encrypted = {"shop": dict(NETWORKS["shop"], Options={"encrypted": ""})}
    with pytest.raises(ValueError, match="esp"):
        plan_service(desired(replicas=1), state(networks=encrypted))
    assert kernel_needs(SERVICE["Spec"], NETWORKS) == []
    vip_alone = {"EndpointSpec": {"Mode": "vip"}, "TaskTemplate": {}}
    assert kernel_needs(vip_alone, {}) == []  # no network, no port: no VIP is allocated


def task(state_name="running", desired_state="running", created="2026-12-01T10:21:07.1Z", err=None, slot=1):
    status = {"Timestamp": created, "State": state_name, "Message": "started"}
    if err:
        status["Err"] = err
    return {"ID": "t%d" % slot, "CreatedAt": created, "UpdatedAt": created, "Slot": slot, "NodeID": "n1",
            "Status": status, "DesiredState": desired_state}


def test_tasks_converged():
    svc = {"Spec": {"Mode": {"Replicated": {"Replicas": 2}}}}
    two = [task(slot=1), task(slot=2)]
    assert tasks_converged(svc, two)
    assert not tasks_converged(svc, two[:1])
    assert not tasks_converged(svc, [task(slot=1), task("starting", slot=2)])
    assert tasks_converged(svc, two + [task("shutdown", "shutdown", slot=3)])
    # Fractions of any length compare as times: .1 s is after .05 s and before .25 s.
    assert tasks_converged(svc, two, since="2026-12-01T10:21:07.05Z")
    assert not tasks_converged(svc, two, since="2026-12-01T10:21:07.25Z")
    assert tasks_converged({"Spec": {"Mode": {"Global": {}}}}, two)


def test_task_errors_newest_first():
    tasks = [task("failed", "shutdown", "2026-12-01T10:00:01Z", "task: non-zero exit (3)", 1),
             task("rejected", "shutdown", "2026-12-01T10:00:02Z", "No such image: x", 2), task()]
    assert task_errors(tasks) == "task 2 (rejected): No such image: x; task 1 (failed): task: non-zero exit (3)"
    assert task_errors([task()]) == "none reported"


def facts(**overrides):
    base = {"release": "6.1.0", "proc_entries": set(), "loaded": None, "builtin": None, "loadable": None,
            "config": None, "modules_supported": None}
    base.update(overrides)
    return base


@pytest.mark.parametrize("host, ip_vs, esp", [
    (facts(), None, None),
    (facts(config={"CONFIG_INET_ESP": "n"}, modules_supported=False), False, False),  # like this machine
    (facts(proc_entries={"/proc/net/ip_vs"}), True, None),
    (facts(loaded=["ip_vs", "esp4"], builtin=[]), True, True),
    (facts(config={"CONFIG_IP_VS": "m", "CONFIG_INET_ESP": "y", "CONFIG_MODULES": "y"}, modules_supported=True,
           loadable={"ip_vs"}), True, True),
    (facts(config={"CONFIG_IP_VS": "m", "CONFIG_MODULES": "y"}, modules_supported=True, loadable=None), False, False),
    (facts(config={"CONFIG_IP_VS": "m"}, modules_supported=False, loadable={"ip_vs"}), False, False),
    (facts(builtin=["overlay"], loadable=set()), False, False),
])
def test_host_kernel_features(host, ip_vs, esp):
    found = kernel_features.from_host(host)
    assert (found["ip_vs"], found["esp"]) == (ip_vs, esp)


def node(labels, hostname="n1"):
    return {"ID": hostname, "Spec": {"Labels": labels, "Role": "manager"}, "Description": {"Hostname": hostname}}


def test_node_labels_decide_only_when_every_node_has_them():
    yes = {"io.berth.kernel.ip_vs": "true", "io.berth.kernel.esp": "true"}
    no_esp = {"io.berth.kernel.ip_vs": "true", "io.berth.kernel.esp": "false"}
    found = kernel_features.from_node_labels([node(yes, "a"), node(no_esp, "b")])
    assert found["ip_vs"] is True and found["esp"] is False and "b" in found["source"]
    assert kernel_features.from_node_labels([node(yes, "a"), node({}, "b")]) is None
    host = kernel_features.detect([node({}, "a")], facts_reader=lambda: facts(proc_entries={"/proc/net/ip_vs"}))
    assert host["ip_vs"] is True
    assert kernel_features.detect([node(yes)], facts_reader=lambda: pytest.fail("labels decide"))["esp"] is True


def test_zero_values_the_engine_leaves_out_are_no_change():
    current = copy.deepcopy(SERVICE)
    current["Spec"]["UpdateConfig"] = {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5000000000}
    plan = plan_service(desired(update_config={"delay": "0s", "max_failure_ratio": 0, "parallelism": 1},
                                restart_policy={"max_attempts": 0}, args=[], constraints=[]),
                        state(current=current))
    assert plan.actions == [], plan.before
    assert plan_service(desired(update_config={"delay": "1s"}), state(current=current)).before == {
        "update_config": {}}
