"""berth.engine.swarm_stack against a private single-node swarm: converge, rerun, prune, refuse.

Observed with the Docker SDK on that daemon; services talk over the stack's overlay network.
"""
from __future__ import annotations

from tests.support.ansible import module_helpers
from tests.support.swarm_daemon import swarm_fixture

swarm = swarm_fixture()
converge, ok, fails = module_helpers("berth.engine.swarm_stack")
OWNER = "io.berth.swarm_stack"


def stack(swarm, name, services, **kwargs):
    return dict(docker_host=swarm.host, name=name, services=services, **kwargs)


def owned(swarm, name):
    label = {"label": f"{OWNER}={name}"}
    return {
        "services": sorted(s.name for s in swarm.client.services.list(filters=label)),
        "networks": sorted(n.name for n in swarm.client.networks.list(filters=label)),
        # By logical name: a rotation leaves the previous version of a secret beside the new one.
        "secrets": sorted({s.attrs["Spec"]["Labels"]["io.berth.logical_name"]
                           for s in swarm.client.secrets.list(filters=label)}),
        "configs": sorted({c.attrs["Spec"]["Labels"]["io.berth.logical_name"]
                           for c in swarm.client.configs.list(filters=label)}),
    }


def test_three_services_network_secret_config_rerun_and_prune(swarm, make_name):
    name = make_name()
    net, secret, config = make_name("net"), make_name("pw").replace("-", "_"), make_name("conf").replace("-", "_")
    web, api, worker = make_name("web"), make_name("api"), make_name("worker")
    common = dict(endpoint_mode="dnsrr", networks=[{"name": net}])
    services = [
        dict(name=web, image="berth-test/http:v1", ports=[{"target": 8080, "published": 18180,
                                                           "publish_mode": "host"}],
             configs=[{"name": config, "target": "/www/conf.txt"}], **common),
        dict(name=api, image="berth-test/http:v2", secrets=[{"name": secret}], **common),
        dict(name=worker, image="berth-test/busybox:latest", replicas=2,
             args=["sh", "-c", f"trap 'exit 0' TERM; while :; do wget -q -O- http://{api}:8080/ >/tmp/last; "
                               "sleep 1; done & wait"], **common),
    ]
    declared = stack(swarm, name, services, networks=[{"name": net}], secrets=[{"name": secret, "content": "pw-1"}],
                     configs=[{"name": config, "content": "config one\n"}], prune=True)

    predicted = ok(declared, check=True)
    assert predicted["changed"] and predicted["summary"]["services"]["changed"] == sorted([web, api, worker])
    assert owned(swarm, name)["services"] == []

    first = ok(declared)
    assert first["changed"] and first["failures"] == []
    assert "pw-1" not in first["_stdout"] + first["_stderr"]  # secret content is no_log inside the stack too
    assert owned(swarm, name) == {"services": sorted([web, api, worker]), "networks": [net], "secrets": [secret],
                                  "configs": [config]}
    assert swarm.client.services.get(web).attrs["Spec"]["Labels"][OWNER] == name
    tasks = swarm.client.api.tasks(filters={"service": worker, "desired-state": "running"})
    assert len([t for t in tasks if t["Status"]["State"] == "running"]) == 2
    # The worker reaches the api by its service name over the overlay network (DNS round robin).
    web_container = swarm.client.containers.list(filters={"label": f"com.docker.swarm.service.name={web}"})[0]
    code, out = web_container.exec_run(["wget", "-q", "-O-", f"http://{api}:8080/"])
    assert code == 0 and b"berth-test http v2" in out
    code, out = web_container.exec_run(["cat", "/www/conf.txt"])
    assert out == b"config one\n"

    again = ok(declared)
    assert not again["changed"], again["summary"]

    # A new secret content rotates it: the rotation updates the api service before the stack reads its services,
    # so the stack must read them after it (a read from before would write over a stale version).
    declared = dict(declared, secrets=[{"name": secret, "content": "pw-2"}])
    rotated = ok(declared)
    assert rotated["failures"] == [] and rotated["secrets"][secret]["changed"], rotated
    api_container = swarm.client.containers.list(filters={"label": f"com.docker.swarm.service.name={api}"})[0]
    assert api_container.exec_run(["cat", f"/run/secrets/{secret}"])[1] == b"pw-2"
    assert not ok(declared)["changed"]

    # Drop the worker and the config: prune removes what the stack owns and no longer declares.
    services[0] = dict(services[0], configs=[])
    pruned = ok(dict(declared, services=services[:2], configs=[]))
    assert pruned["services"][worker]["actions"] == ["prune"] and pruned["configs"][config]["actions"] == ["prune"]
    assert owned(swarm, name) == {"services": sorted([web, api]), "networks": [net], "secrets": [secret],
                                  "configs": []}

    # Prune with nothing declared (a variable that came out empty) is refused; state absent removes the stack.
    refused = converge(stack(swarm, name, [], prune=True))
    assert refused["failed"] and "nothing is declared" in refused["msg"], refused["msg"]
    assert owned(swarm, name)["services"] == sorted([web, api]), "the refused run changed nothing"
    gone = ok(dict(stack(swarm, name, []), state="absent"))
    assert gone["changed"]
    assert owned(swarm, name) == {"services": [], "networks": [], "secrets": [], "configs": []}


def test_partial_failure_is_reported_by_name(swarm, make_name):
    name = make_name()
    good, bad = make_name("good"), make_name("bad")
    result = converge(stack(swarm, name, [
        dict(name=good, image="berth-test/busybox:latest", endpoint_mode="dnsrr"),
        dict(name=bad, image="berth-test/busybox:latest", endpoint_mode="dnsrr",
             secrets=[{"name": make_name("nosuch")}]),
    ], prune=True))
    assert result["failed"] and f"service {bad}:" in result["msg"] and "does not exist" in result["msg"]
    assert result["services"][good]["changed"] and not result["services"][good].get("failed")
    assert [s.name for s in swarm.client.services.list(filters={"label": f"{OWNER}={name}"})] == [good]
    ok(dict(stack(swarm, name, []), state="absent"))


def test_refuses_ingress_vip_and_encrypted_before_any_change(swarm, make_name):
    name = make_name()
    net = make_name("net")
    cases = [
        dict(networks=[{"name": net, "encrypted": True}],
             services=[dict(name=make_name("a"), image="berth-test/busybox:latest", endpoint_mode="dnsrr")]),
        dict(networks=[{"name": net}],
             services=[dict(name=make_name("b"), image="berth-test/busybox:latest", networks=[{"name": net}])]),
        dict(services=[dict(name=make_name("c"), image="berth-test/busybox:latest",
                            ports=[{"target": 8080, "published": 18190}])]),
    ]
    for case, feature in zip(cases, ["esp", "ip_vs", "ip_vs"]):
        message = fails(dict(docker_host=swarm.host, name=name, **case))
        assert feature in message and "nothing was changed" in message and "endpoint_mode: dnsrr" in message
        assert owned(swarm, name) == {"services": [], "networks": [], "secrets": [], "configs": []}
        assert not swarm.client.networks.list(names=[net])
