"""The pre-flight's decisions (preflight.py), without a daemon."""
from __future__ import annotations

import socket

import pytest

from ansible_collections.berth.engine.plugins.module_utils import preflight
from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_ports


@pytest.mark.parametrize("reference", [
    "busybox", "busybox:1.36", "library/busybox:latest", "127.0.0.1:5000/berth-test/busybox:v1",
    "localhost/a_b__c-d.e:TAG_1", "Registry.Example.com:443/team/app@sha256:" + "a" * 64,
    "[::1]:5000/x:1", "sha256:" + "0" * 64, "a" * 64,
])
def test_valid_references(reference):
    assert preflight.reference_problem(reference) is None


@pytest.mark.parametrize("reference, cause", [
    ("nc-busybox:", "ends with ':'"),
    ("busybox@", "ends with '@'"),
    ("BusyBox:1", "lowercase"),
    ("127.0.0.1:5000/Team/app", "lowercase"),
    ("bad name", "not of the form"),
    ("a:b:c", "not of the form"),
    ("x/" + "a" * 260, "longer than 255"),
])
def test_invalid_references(reference, cause):
    assert cause in preflight.reference_problem(reference)


def test_reference_problems_name_the_item_and_the_fix():
    problems = preflight.image_reference_problems("container", {"web": "nc-busybox:", "db": "postgres:16", "x": None})
    assert list(problems) == ["web"]
    assert problems["web"].startswith("container web: image reference 'nc-busybox:' is not valid")
    assert "[registry[:port]/]name[:tag][@digest]" in problems["web"]


def test_requested_ports_skip_ranges_and_unpublished():
    ports = parse_ports(["127.0.0.1:8080:80", "53:53/udp", "9000", "8000-8010:81", "[::1]:8443:443"])
    assert sorted(preflight.requested_ports(ports)) == [
        ("", 53, "udp"), ("127.0.0.1", 8080, "tcp"), ("::1", 8443, "tcp")]
    assert preflight.requested_ports(None) == []


LISTING = [  # the shape of GET /containers/json (Docker 20.10)
    {"Names": ["/other"], "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                                    {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                                    {"PrivatePort": 22, "Type": "tcp"}]},
    {"Names": ["/web"], "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 9090, "Type": "tcp"}]},
    {"Names": ["/stopped"], "Ports": []},
]


def test_listed_ports():
    assert preflight.listed_ports(LISTING) == {
        ("0.0.0.0", 8080, "tcp"): ["other"], ("::", 8080, "tcp"): ["other"], ("127.0.0.1", 9090, "tcp"): ["web"]}


@pytest.mark.parametrize("first, second, overlap", [
    (("", 80, "tcp"), ("127.0.0.1", 80, "tcp"), True),
    (("127.0.0.1", 80, "tcp"), ("127.0.0.2", 80, "tcp"), False),
    (("127.0.0.1", 80, "tcp"), ("127.0.0.1", 80, "udp"), False),
    (("0.0.0.0", 80, "tcp"), ("::1", 80, "tcp"), True),
    (("127.0.0.1", 80, "tcp"), ("127.0.0.1", 81, "tcp"), False),
])
def test_addresses_overlap(first, second, overlap):
    assert preflight.addresses_overlap(first, second) is overlap


def test_port_problems():
    held = preflight.listed_ports(LISTING)
    problems, unheld = preflight.port_problems({
        "web": [("127.0.0.1", 9090, "tcp")],  # its own port, unchanged or taken over by its replacement
        "api": [("127.0.0.1", 8080, "tcp")],  # another container publishes 0.0.0.0:8080
        "a1": [("", 7000, "tcp"), ("", 7001, "udp")],
        "a2": [("127.0.0.1", 7000, "tcp")],  # another declared container asks for it too
    }, held)
    assert sorted(problems) == ["a2", "api"]
    assert problems["api"] == ("container api: host port 127.0.0.1:8080/tcp is published by container other: free it "
                               "(stop or remove that container) or publish another port")
    assert "host port 127.0.0.1:7000/tcp is also declared by container a1" in problems["a2"]
    assert unheld == {"a1": [("", 7000, "tcp"), ("", 7001, "udp")]}


def test_a_port_another_container_of_the_same_name_holds_is_its_own():
    problems, unheld = preflight.port_problems({"web": [("", 9090, "tcp")]}, preflight.listed_ports(LISTING))
    assert problems == {} and unheld == {}


def test_busy_port_problems():
    busy = {("", 7000, "tcp")}
    problems = preflight.busy_port_problems({"a": [("", 7000, "tcp"), ("", 7001, "tcp")], "b": [("", 7002, "udp")]},
                                            probe=lambda address: address in busy)
    assert problems == {"a": "container a: host port 7000/tcp is in use by a process on the host (not a container): "
                             "stop that process or publish another port"}


def test_probe_port_sees_a_listening_socket_and_a_free_port():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        assert preflight.probe_port(("127.0.0.1", port, "tcp")) is True
        assert preflight.probe_port(("", port, "tcp")) is True  # the wildcard collides with 127.0.0.1
        assert preflight.probe_port(("127.0.0.1", port, "sctp")) is False
    finally:
        holder.close()
    assert preflight.probe_port(("127.0.0.1", port, "tcp")) is False


def test_bind_sources_short_syntax_creates_long_syntax_only_when_asked():
    params = {"mounts": [{"type": "bind", "source": "/a", "target": "/a", "create_host_path": False},
                         {"type": "bind", "source": "/b", "target": "/b", "create_host_path": True},
                         {"type": "volume", "source": "v", "target": "/v"}],
              "volumes": ["/c:/c:ro", "named:/n", "/anonymous"]}
    assert preflight.bind_sources(params) == [("/a", False), ("/b", True), ("/c", True)]


def test_bind_problems():
    states = {"/srv/here": "present", "/srv/gone": "missing", "/srv/new": "missing", "/srv/new2": "missing",
              "/srv/locked/x": "Permission denied"}
    problems, to_create = preflight.bind_problems(
        {"db": [("/srv/here", False), ("/srv/gone", False)],
         "web": [("/srv/new", True), ("/srv/new", True)],
         "job": [("/srv/new2", True), ("/srv/locked/x", True)],
         "ro": [("/srv/new2", True)]},
        state=states.get, can_create=lambda path: "/ is not writable" if path == "/srv/new2" else None)
    assert problems == {
        "db": "container db: bind source /srv/gone does not exist: create it, or set create_host_path: true on the "
              "mount (Compose: bind.create_host_path: true, or the short syntax)",
        "job": "container job: bind source /srv/new2 does not exist and cannot be created (/ is not writable); "
               "bind source /srv/locked/x cannot be used: Permission denied",
        "ro": "container ro: bind source /srv/new2 does not exist and cannot be created (/ is not writable)"}
    assert to_create == {"web": ["/srv/new"]}


def test_path_state_and_creatable(tmp_path):
    (tmp_path / "file").write_text("x")
    assert preflight.path_state(str(tmp_path)) == "present"
    assert preflight.path_state(str(tmp_path / "nope")) == "missing"
    assert "Not a directory" in preflight.path_state(str(tmp_path / "file" / "x"))
    assert preflight.creatable(str(tmp_path / "a" / "b")) is None
    assert preflight.creatable(str(tmp_path / "a"), access=lambda *_: False) == (
        "%s is not writable by the user the module runs as" % tmp_path)


def test_subnet_problems():
    existing = preflight.listed_subnets([
        {"Name": "bridge", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}},
        {"Name": "host", "IPAM": {"Config": []}},
        {"Name": "v6", "IPAM": {"Config": [{"Subnet": "fd00:1::/64"}]}},
    ])
    problems = preflight.subnet_problems(
        {"a": ["172.17.5.0/24"], "b": ["10.9.0.0/16"], "c": ["10.9.128.0/17"], "d": ["fd00:2::/64", "10.10.0.0/16"]},
        existing)
    assert problems == {
        "a": "network a: subnet 172.17.5.0/24 overlaps 172.17.0.0/16 of network bridge: choose a subnet no other "
             "network uses",
        "c": "network c: subnet 10.9.128.0/17 overlaps 10.9.0.0/16 of network b: choose a subnet no other network uses",
    }


def test_with_bind_actions():
    results = {"web": {"changed": False, "actions": []}, "db": {"changed": True, "actions": ["create", "start"]}}
    preflight.with_bind_actions(results, {"db": ["/srv/db"]})
    assert results["db"] == {"changed": True, "actions": ["create_bind_source", "create", "start"],
                             "bind_sources_created": ["/srv/db"]}
    assert results["web"] == {"changed": False, "actions": []}


def test_merge_problems_gives_one_message_per_item():
    assert preflight.merge_problems({"a": "container a: x"}, {"a": "container a: y", "b": "container b: z"}) == {
        "a": "container a: x; y", "b": "container b: z"}


def test_engine_is_local():
    class Client:
        docker_host = "unix:///var/run/docker.sock"
    assert preflight.engine_is_local(Client())
    Client.docker_host = "tcp://10.0.0.1:2375"
    assert not preflight.engine_is_local(Client())


# --- the driver, with stand-ins for the stack (its engine must not be asked anything) -------------------

class FakeContainer:
    def __init__(self, name, image="busybox:1", state="started", ports=None, entry=None, fail=None):
        self.name, self.fail = name, fail
        self.desired = {"name": name, "image": image, "state": state, "values": {"ports": parse_ports(ports)}}
        self.params = dict(entry or {}, pull="missing")
        self.resolved = 0

    def image_key(self):
        return self.desired["image"], self.params["pull"]

    def obtain_image(self):
        self.resolved += 1
        if self.fail:
            raise preflight.EngineError("container %s: %s" % (self.name, self.fail))
        return {"Id": "x"}, "done"


class FakeStack:
    def __init__(self, docker_host="unix:///var/run/docker.sock", check_mode=False):
        self.client = type("Client", (), {"docker_host": docker_host})()
        self.check_mode, self.parallel, self.bind_sources_created, self.images = check_mode, 2, {}, {}


def run(stack, containers, networks=(), known_networks=None, listing=None):
    items = {"containers": containers, "networks": list(networks)}
    known = {"networks": known_networks or {}}
    return preflight.run_stack_preflight(stack, items, known, listing or {"containers": LISTING, "networks": []})


def test_driver_reports_every_problem_at_once_and_creates_nothing(tmp_path):
    short = tmp_path / "short"
    containers = [
        FakeContainer("a", image="nc-busybox:"),
        FakeContainer("b", ports=["127.0.0.1:8080:80"], fail="pull access denied"),
        FakeContainer("c", entry={"volumes": ["%s:/s" % short],
                                  "mounts": [{"type": "bind", "source": str(tmp_path / "gone"), "target": "/g"}]}),
        FakeContainer("gone", state="absent", image="BAD:"),
    ]
    stack = FakeStack()
    problems = run(stack, containers)
    assert sorted(problems) == [("containers", "a"), ("containers", "b"), ("containers", "c")]
    assert "nc-busybox:" in problems[("containers", "a")]
    assert problems[("containers", "b")] == (
        "container b: host port 127.0.0.1:8080/tcp is published by container other: free it (stop or remove that "
        "container) or publish another port; pull access denied")
    assert "gone does not exist" in problems[("containers", "c")]
    assert not short.exists() and stack.bind_sources_created == {}
    assert containers[0].resolved == 0  # an invalid reference is never sent to the engine


@pytest.mark.parametrize("check_mode", [True, False])
def test_driver_creates_short_syntax_sources_only_outside_check_mode(tmp_path, check_mode):
    short = tmp_path / "short" / "web"
    stack = FakeStack(check_mode=check_mode)
    assert run(stack, [FakeContainer("web", entry={"volumes": ["%s:/s" % short]})]) == {}
    assert stack.bind_sources_created == {"web": [str(short)]}
    assert short.is_dir() is not check_mode


def test_driver_skips_host_checks_for_a_remote_engine(tmp_path):
    stack = FakeStack(docker_host="tcp://10.0.0.1:2375")
    entry = {"mounts": [{"type": "bind", "source": str(tmp_path / "gone"), "target": "/g"}]}
    assert run(stack, [FakeContainer("web", entry=entry)]) == {}


def test_driver_resolves_one_image_once_for_many_containers_and_keeps_it_for_their_reads():
    containers = [FakeContainer("w%d" % i) for i in range(3)] + [FakeContainer("other", image="other:2")]
    stack = FakeStack()
    stack.images[("other:2", "missing")] = (None, "predicted")  # check mode: one the stack's image items build
    assert run(stack, containers) == {}
    assert sum(c.resolved for c in containers) == 1
    assert stack.images == {("busybox:1", "missing"): ({"Id": "x"}, "done"),
                            ("other:2", "missing"): (None, "predicted")}


def test_driver_checks_only_networks_it_creates():
    class Network:
        def __init__(self, name, subnet, state="present"):
            self.name = name
            self.desired = {"state": state, "config": {"ipam_config": [{"subnet": subnet}]}}

    listing = {"containers": [], "networks": [{"Name": "old", "IPAM": {"Config": [{"Subnet": "10.1.0.0/16"}]}}]}
    networks = [Network("old", "10.1.0.0/16"), Network("new", "10.1.2.0/24"), Network("off", "10.1.3.0/24", "absent")]
    problems = run(FakeStack(), [], networks, {"old": {"Name": "old"}}, listing)
    assert list(problems) == [("networks", "new")]
