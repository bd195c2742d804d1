"""Unit tests for the pure network plan (no daemon)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.berth.engine.plugins.module_utils.network_plan import (
    ARGUMENT_SPEC,
    attached_from_inspect,
    attached_from_list,
    compare_network,
    desired_network,
    fit_endpoints,
    network_body,
    plan_network,
    previous_body,
)

NET_ID = "f" * 64
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def params(**overrides):
    base = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    base.update(name="backend")
    base.update(overrides)
    return base


def desired(**overrides):
    return desired_network(params(**overrides))


def inspect(**overrides):
    """A network inspect document as Docker 20.10 returns it for `docker network create backend --subnet ...`."""
    network = {
        "Name": "backend", "Id": NET_ID, "Scope": "local", "Driver": "bridge", "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None,
                 "Config": [{"Subnet": "172.28.0.0/16", "Gateway": "172.28.0.1"}]},
        "Internal": False, "Attachable": False, "Ingress": False, "Containers": {},
        "Options": {"com.docker.network.bridge.enable_icc": "true"}, "Labels": {"team": "web", "added.by": "tool"},
    }
    network.update(overrides)
    return network


SUBNET = {"config": [{"subnet": "172.28.0.0/16"}]}


# --- desired ---------------------------------------------------------------------------------

def test_only_what_the_user_set_is_desired():
    assert desired()["config"] == {}
    config = desired(driver="bridge", internal=False, labels={"a": 1}, ipam={"config": [
        {"subnet": "fd00:0:0:1::/64", "gateway": "fd00:0:0:1::1"}, {"subnet": "172.28.0.0/16"}]})["config"]
    assert config == {"driver": "bridge", "internal": False, "labels": {"a": "1"},
                      "ipam_config": [{"subnet": "172.28.0.0/16"},
                                      {"subnet": "fd00:0:0:1::/64", "gateway": "fd00:0:0:1::1"}]}


@pytest.mark.parametrize("entry, message", [
    ({"subnet": "172.28.0.0/33"}, r"ipam.config\[0\].subnet '172.28.0.0/33' is not an address"),
    ({"subnet": "nonsense"}, "is not an address with prefix"),
    ({}, r"ipam.config\[0\] needs a subnet"),
    ({"subnet": "172.28.0.0/16", "gateway": "10.0.0.1"}, "gateway 10.0.0.1 is outside subnet 172.28.0.0/16"),
    ({"subnet": "172.28.0.0/16", "gateway": "x"}, "gateway 'x' is not an IP address"),
    ({"subnet": "172.28.0.0/16", "ip_range": "172.29.0.0/24"}, "ip_range 172.29.0.0/24 is outside subnet"),
    ({"subnet": "172.28.0.0/16", "ip_range": "fd00::/64"}, "ip_range fd00::/64 is outside subnet"),
    ({"subnet": "172.28.0.0/16", "aux_addresses": {"h": "nope"}}, r"aux_addresses.h 'nope' is not an IP"),
])
def test_bad_ipam_config_is_named(entry, message):
    with pytest.raises(ValueError, match=message):
        desired(ipam={"config": [entry]})


def test_duplicate_subnets_are_rejected():
    with pytest.raises(ValueError, match="lists a subnet twice"):
        desired(ipam={"config": [{"subnet": "fd00::/64"}, {"subnet": "fd00:0::/64"}]})


# --- comparison ------------------------------------------------------------------------------

def test_no_difference_when_only_engine_or_other_tools_added_things():
    wanted = desired(driver="bridge", labels={"team": "web"}, ipam=SUBNET,
                     driver_options={"com.docker.network.bridge.enable_icc": "true"}, internal=False)
    assert compare_network(wanted, inspect()) == []


def test_unset_settings_are_not_compared():
    assert compare_network(desired(), inspect(Driver="macvlan", Internal=True, EnableIPv6=True)) == []


@pytest.mark.parametrize("overrides, key, before, after", [
    ({"driver": "macvlan"}, "driver", "bridge", "macvlan"),
    ({"internal": True}, "internal", False, True),
    ({"labels": {"team": "db"}}, "labels", {"team": "web"}, {"team": "db"}),
    ({"labels": {"new": "x"}}, "labels", {}, {"new": "x"}),
    ({"driver_options": {"com.docker.network.bridge.enable_icc": False}}, "options",
     {"com.docker.network.bridge.enable_icc": "true"}, {"com.docker.network.bridge.enable_icc": "false"}),
    ({"ipam": {"driver": "other"}}, "ipam_driver", "default", "other"),
])
def test_differences_report_engine_and_declared_values(overrides, key, before, after):
    assert compare_network(desired(**overrides), inspect()) == [(key, before, after)]


def test_ipam_config_compares_subnet_set_and_given_fields_only():
    same = desired(ipam={"config": [{"subnet": "172.28.0.0/16", "gateway": "172.28.0.1"}]})
    assert compare_network(same, inspect()) == []
    assert compare_network(desired(ipam={"config": [{"subnet": "172.28.0.0/16", "gateway": "172.28.0.2"}]}),
                           inspect())[0][0] == "ipam_config"
    assert compare_network(desired(ipam={"config": [{"subnet": "172.29.0.0/16"}]}), inspect())[0][0] == "ipam_config"
    two = desired(ipam={"config": [{"subnet": "172.28.0.0/16"}, {"subnet": "fd00:1::/64"}]})
    assert compare_network(two, inspect())[0][0] == "ipam_config"
    v6 = inspect(IPAM={"Driver": "default", "Config": [{"Subnet": "fd00:0:0:1:0::/64", "Gateway": "fd00:0:0:1::1"}]})
    assert compare_network(desired(ipam={"config": [{"subnet": "fd00:0:0:1::/64", "gateway": "fd00::1:0:0:0:1"}]}),
                           v6) == []
    aux = desired(ipam={"config": [{"subnet": "172.28.0.0/16", "aux_addresses": {"router": "172.28.0.2"}}]})
    assert compare_network(aux, inspect())[0][0] == "ipam_config"
    with_aux = inspect(IPAM={"Driver": "default", "Config": [
        {"Subnet": "172.28.0.0/16", "AuxiliaryAddresses": {"router": "172.28.0.2"}}]})
    assert compare_network(aux, with_aux) == []


# --- bodies ----------------------------------------------------------------------------------

def test_create_body_defaults_to_bridge():
    body = network_body(desired(ipam={"config": [{"subnet": "172.28.0.0/16", "ip_range": "172.28.5.0/24",
                                                  "aux_addresses": {"r": "172.28.0.2"}}]}))
    assert body == {
        "Name": "backend", "CheckDuplicate": True, "Driver": "bridge", "Internal": False, "Attachable": False,
        "EnableIPv6": False, "Options": {}, "Labels": {},
        "IPAM": {"Driver": "default", "Options": {}, "Config": [
            {"Subnet": "172.28.0.0/16", "IPRange": "172.28.5.0/24", "AuxiliaryAddresses": {"r": "172.28.0.2"}}]}}
    assert network_body(desired(scope="local"))["Scope"] == "local"


def test_recreate_body_keeps_what_the_user_did_not_set():
    old = inspect(Internal=True)
    body = network_body(desired(labels={"team": "db"}), old)
    assert body["Internal"] is True
    assert body["IPAM"]["Config"] == [{"Subnet": "172.28.0.0/16", "Gateway": "172.28.0.1"}]
    assert body["Labels"] == {"team": "db", "added.by": "tool"}
    assert body["Options"] == {"com.docker.network.bridge.enable_icc": "true"}
    switched = network_body(desired(driver="macvlan", driver_options={"parent": "eth0"}), old)
    assert switched["Driver"] == "macvlan" and switched["Options"] == {"parent": "eth0"}


def test_previous_body_restores_the_old_network():
    body = previous_body(inspect())
    assert body["Driver"] == "bridge" and body["Labels"] == {"team": "web", "added.by": "tool"}
    assert body["IPAM"]["Config"] == [{"Subnet": "172.28.0.0/16", "Gateway": "172.28.0.1"}]


# --- attached containers ---------------------------------------------------------------------

def test_attached_from_list_keeps_containers_of_this_network_only():
    summaries = [
        {"Id": "1" * 64, "Names": ["/web"], "State": "running",
         "NetworkSettings": {"Networks": {"backend": {"NetworkID": NET_ID}}}},
        {"Id": "2" * 64, "Names": ["/stopped"], "State": "exited",
         "NetworkSettings": {"Networks": {"backend": {"NetworkID": ""}}}},
        {"Id": "3" * 64, "Names": ["/renamed-net"], "State": "running",
         "NetworkSettings": {"Networks": {"other": {"NetworkID": NET_ID}}}},
        {"Id": "4" * 64, "Names": ["/elsewhere"], "State": "running",
         "NetworkSettings": {"Networks": {"backend-2": {"NetworkID": "9" * 64}}}},
    ]
    attached = attached_from_list(summaries, inspect())
    assert [(a["name"], a["running"]) for a in attached] == [
        ("renamed-net", True), ("stopped", False), ("web", True)]
    running = inspect(Containers={"1" * 64: {"Name": "web"}})
    assert attached_from_inspect(running) == [{"name": "web", "id": "1" * 64, "running": True}]


# --- plans -----------------------------------------------------------------------------------

def attached(*names):
    return [{"name": n, "id": n * 8, "running": True} for n in names]


def test_create_then_connect():
    plan = plan_network(desired(connected=["web", "api"], ipam=SUBNET), None)
    assert plan.action_names() == ["create", "connect", "connect"]
    assert [a.get("container") for a in plan.actions[1:]] == ["web", "api"]
    assert plan.diff()["before"] == {"state": "absent", "connected": []}
    assert plan.diff()["after"]["connected"] == ["api", "web"]
    assert plan.diff()["after"]["ipam_config"] == [{"subnet": "172.28.0.0/16"}]


def test_unchanged_network_plans_nothing():
    plan = plan_network(desired(ipam=SUBNET, labels={"team": "web"}, connected=["web"]), inspect(), attached("web"))
    assert plan.actions == [] and not plan.changed and plan.diff()["before"] == {}


def test_drift_recreates_and_reconnects_everyone_attached():
    plan = plan_network(desired(labels={"team": "db"}), inspect(), attached("api", "web"))
    assert plan.action_names() == ["recreate"]
    action = plan.actions[0]
    assert action["reasons"] == ["labels"] and action["reconnect"] == ["api", "web"]
    assert action["body"]["Labels"]["team"] == "db"
    assert plan.diff()["before"] == {"labels": {"team": "web"}} and plan.diff()["after"] == {"labels": {"team": "db"}}


def test_connected_exact_list_disconnects_others_unless_appends():
    exact = plan_network(desired(connected=["web", "new"]), inspect(), attached("old", "web"))
    assert [(a["action"], a["container"]) for a in exact.actions] == [("disconnect", "old"), ("connect", "new")]
    assert exact.diff()["before"]["connected"] == ["old", "web"]
    assert exact.diff()["after"]["connected"] == ["new", "web"]
    appended = plan_network(desired(connected=["web", "new"], appends=True), inspect(), attached("old", "web"))
    assert [(a["action"], a["container"]) for a in appended.actions] == [("connect", "new")]


def test_drift_with_exact_list_reconnects_only_the_kept_containers():
    plan = plan_network(desired(internal=True, connected=["web"]), inspect(), attached("old", "web"))
    assert plan.action_names() == ["disconnect", "recreate"]
    assert plan.actions[1]["reconnect"] == ["web"]


def test_absent():
    assert plan_network(desired(state="absent"), None).actions == []
    plan = plan_network(desired(state="absent"), inspect(), [])
    assert plan.action_names() == ["remove"] and plan.actions[0]["disconnect"] == []
    with pytest.raises(ValueError, match=r"backend cannot be removed: container\(s\) api, web are attached.*force"):
        plan_network(desired(state="absent"), inspect(), attached("web", "api"))
    forced = plan_network(desired(state="absent", force=True), inspect(), attached("web", "api"))
    assert forced.actions[0]["disconnect"] == ["api", "web"]
    assert forced.diff()["before"] == {"state": "present", "connected": ["api", "web"]}


def test_predefined_networks_are_never_recreated_or_removed():
    bridge = inspect(Name="bridge")
    with pytest.raises(ValueError, match="predefined"):
        plan_network(desired_network(params(name="bridge", internal=True)), bridge, [])
    with pytest.raises(ValueError, match="predefined"):
        plan_network(desired_network(params(name="bridge", state="absent")), bridge, [])
    plan = plan_network(desired_network(params(name="bridge", connected=["web"], appends=True)), bridge, [])
    assert plan.action_names() == ["connect"]


def test_fit_endpoints_keeps_what_fits_and_orders_static_addresses_first():
    body = network_body(desired(ipam={"config": [{"subnet": "10.5.0.0/24"}, {"subnet": "fd00:5::/64"}]}))
    endpoints = {
        "a-dynamic": {"Aliases": ["a"]},
        "b-fits": {"Aliases": ["b"], "IPAMConfig": {"IPv4Address": "10.5.0.9", "IPv6Address": "fd00:5::9"}},
        "c-outside": {"Aliases": ["c"], "IPAMConfig": {"IPv4Address": "10.6.0.9"}},
        "d-half": {"IPAMConfig": {"IPv4Address": "10.5.0.10", "IPv6Address": "fd00:6::1"}},
    }
    fitted, warnings = fit_endpoints(body, endpoints)
    assert list(fitted) == ["b-fits", "c-outside", "d-half", "a-dynamic"]
    assert fitted["b-fits"] == endpoints["b-fits"]
    assert fitted["c-outside"] == {"Aliases": ["c"]}
    assert fitted["d-half"] == {"IPAMConfig": {"IPv4Address": "10.5.0.10"}}
    assert len(warnings) == 2
    assert "container c-outside cannot keep its static address 10.6.0.9" in warnings[0]
    assert "d-half cannot keep its static address fd00:6::1" in warnings[1]
    assert endpoints["c-outside"]["IPAMConfig"] == {"IPv4Address": "10.6.0.9"}, "the input is not modified"


def test_fit_endpoints_without_user_subnets_drops_static_addresses():
    fitted, warnings = fit_endpoints(network_body(desired()), {"web": {"IPAMConfig": {"IPv4Address": "10.5.0.9"}}})
    assert fitted == {"web": {}} and len(warnings) == 1


# --- bug 5: the engine's IPv4 pool on an IPv6-only network -------------------------------------

def fixture(name):
    with open(os.path.join(FIXTURES, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


IPV6_ONLY = {"config": [{"subnet": "fd00:b1:0:1::/64", "gateway": "fd00:b1:0:1::1"}]}


def test_engine_added_ipv4_pool_is_no_difference_when_the_task_declares_none():
    # Captured from Docker 20.10: `enable_ipv6` with only a v6 subnet, and the engine added 172.31.0.0/16.
    network = fixture("network_ipv6_only")
    assert [e["Subnet"] for e in network["IPAM"]["Config"]][0].startswith("172.")
    assert compare_network(desired(enable_ipv6=True, ipam=IPV6_ONLY), network) == []
    assert plan_network(desired(enable_ipv6=True, ipam=IPV6_ONLY), network, []).actions == []


def test_a_declared_ipv4_pool_is_still_compared_on_a_dual_stack_network():
    network = fixture("network_ipv6_only")
    other_v4 = {"config": IPV6_ONLY["config"] + [{"subnet": "10.9.0.0/24"}]}
    assert [d[0] for d in compare_network(desired(ipam=other_v4), network)] == ["ipam_config"]
    same = {"config": IPV6_ONLY["config"] + [{"subnet": "172.31.0.0/16"}]}
    assert compare_network(desired(ipam=same), network) == []
    assert [d[0] for d in compare_network(desired(ipam={"config": [{"subnet": "fd00:b2::/64"}]}), network)] == [
        "ipam_config"]


# --- bug 6: every address is validated before anything changes ---------------------------------

@pytest.mark.parametrize("entry, message", [
    ({"subnet": "fdd1:acc:252:7ce1::"},
     r"ipam.config\[0\].subnet 'fdd1:acc:252:7ce1::' has no prefix length"),
    ({"subnet": "172.28.0.0"}, r"ipam.config\[0\].subnet '172.28.0.0' has no prefix length"),
    ({"subnet": "172.28.0.1/16"}, r"ipam.config\[0\].subnet '172.28.0.1/16' has host bits set.*172.28.0.0/16"),
    ({"subnet": "172.28.0.0/31"}, r"ipam.config\[0\].subnet '172.28.0.0/31' is too small"),
    ({"subnet": "fd00::/127"}, r"ipam.config\[0\].subnet 'fd00::/127' is too small"),
    ({"subnet": "172.28.0.0/16", "gateway": "fd00::1"},
     r"gateway fd00::1 is an IPv6 address in the IPv4 subnet 172.28.0.0/16"),
    ({"subnet": "172.28.0.0/16", "gateway": "172.28.0.0"}, r"gateway 172.28.0.0 is the subnet's network address"),
    ({"subnet": "172.28.0.0/16", "ip_range": "172.28.5.0"}, r"ip_range '172.28.5.0' has no prefix length"),
    ({"subnet": "172.28.0.0/16", "aux_addresses": {"h": "10.0.0.1"}},
     r"aux_addresses.h 10.0.0.1 is outside subnet 172.28.0.0/16"),
])
def test_every_address_is_validated_and_named(entry, message):
    with pytest.raises(ValueError, match=message):
        desired(ipam={"config": [entry]})


def test_an_ipv6_subnet_with_ipv6_disabled_is_refused():
    with pytest.raises(ValueError, match=r"ipam.config\[0\].subnet fd00::/64 is IPv6 but enable_ipv6 is false"):
        desired(enable_ipv6=False, ipam={"config": [{"subnet": "fd00::/64"}]})


# --- NetworkResource.plan: pure, from a state shaped like read() returns ---------------------------

def resource(**overrides):
    from ansible_collections.berth.engine.plugins.module_utils.network_resource import NetworkResource

    return NetworkResource(None, params(**dict({"name": "berth-fixture-backend"}, **overrides)))


def backend_state(**overrides):
    from ansible_collections.berth.engine.plugins.module_utils.network_resource import saved_endpoint

    network = fixture("network_backend_attached")
    state = {"current": network, "attached": attached_from_list(fixture("network_attached_summaries"), network),
             "connected": None, "endpoints": {}, "networks": fixture("network_list")}
    state["endpoints"] = {"berth-fixture-web": saved_endpoint(fixture("network_attached_container"), network["Name"])}
    state.update(overrides)
    return state


def test_resource_recreate_carries_the_endpoints_read_and_keeps_static_addresses_that_fit():
    plan = resource(labels={"io.berth.test": "two"}).plan(backend_state())
    assert plan.action_names() == ["recreate"]
    action = plan.actions[0]
    assert action["reconnect"] == ["berth-fixture-web"]
    assert action["saved"] == {"berth-fixture-web": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.251.7.20"}}}
    assert action["endpoints"] == action["saved"] and plan.warnings == []


def test_resource_recreate_to_another_subnet_predicts_the_dynamic_address():
    plan = resource(ipam={"config": [{"subnet": "10.252.0.0/24"}]}).plan(backend_state())
    assert plan.actions[0]["endpoints"] == {"berth-fixture-web": {"Aliases": ["web"]}}
    assert "berth-fixture-web cannot keep its static address 10.251.7.20" in plan.warnings[0]


def test_resource_refuses_a_recreate_onto_another_networks_subnet():
    with pytest.raises(ValueError, match=r"cannot be recreated: its subnets overlap network\(s\) bridge "
                                         r"\(172.17.0.0/16\).*Nothing was changed"):
        resource(ipam={"config": [{"subnet": "172.17.5.0/24"}]}).plan(backend_state())


def test_resource_refuses_ipv6_without_an_ipv6_subnet_before_removing():
    with pytest.raises(ValueError, match="enable_ipv6 true but no IPv6 subnet.*Nothing was changed"):
        resource(enable_ipv6=True).plan(backend_state())
    assert resource(enable_ipv6=True).plan(backend_state(current=None)).action_names() == ["create"]


def test_resource_uses_the_resolved_connected_names():
    plan = resource(connected=["3f2a"]).plan(backend_state(connected=["berth-fixture-db"]))
    assert [(a["action"], a.get("container")) for a in plan.actions] == [
        ("disconnect", "berth-fixture-web"), ("connect", "berth-fixture-db")]


def test_resource_switching_ipv6_off_leaves_the_old_ipv6_pools_behind():
    plan = resource(enable_ipv6=False).plan(backend_state(current=fixture("network_ipv6_only"), attached=[]))
    body = plan.actions[0]["body"]
    assert body["EnableIPv6"] is False and [p["Subnet"] for p in body["IPAM"]["Config"]] == ["172.31.0.0/16"]
