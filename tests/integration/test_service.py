"""berth.engine.service against a private single-node swarm (its own dockerd in its own netns).

State is observed with the Docker SDK on that daemon (and the docker CLI for changes made outside
Berth); published ports are reached from inside the daemon's network namespace.
"""
from __future__ import annotations

import subprocess

import pytest

from tests.support.ansible import module_helpers
from tests.support.swarm_daemon import swarm_fixture

converge, ok, fails = module_helpers("berth.engine.service")
swarm = swarm_fixture()

HOST_PORT = [{"target": 8080, "published": 18080, "publish_mode": "host"}]


def args(swarm, **kwargs):
    return dict(docker_host=swarm.host, wait_timeout=120, **kwargs)


def spec_of(swarm, name):
    return swarm.client.services.get(name).attrs["Spec"]


def running_images(swarm, name):
    tasks = swarm.client.api.tasks(filters={"service": name, "desired-state": "running"})
    return sorted(t["Spec"]["ContainerSpec"]["Image"] for t in tasks if t["Status"]["State"] == "running")


def http_get(swarm, port=18080):
    """GET / on the node's address from inside the daemon's netns."""
    url = f"http://{swarm.node_address}:{port}/"
    code = f"import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('{url}', timeout=5).read().decode())"
    for _unused in range(20):
        result = swarm.in_netns("python3", "-c", code, check=False)
        if result.returncode == 0:
            return result.stdout
        subprocess.run(["sleep", "0.5"], check=True)
    raise AssertionError(f"nothing answers on {swarm.node_address}:{port}: {result.stderr}")


def test_create_rerun_check_diff_and_one_option_change(swarm, unique_name):
    base = args(swarm, name=unique_name, image="berth-test/http:v1", replicas=1, endpoint_mode="dnsrr",
                ports=HOST_PORT, labels={"team": "web"}, env={"GREETING": "hello"})

    predicted = ok(base, check=True)
    assert predicted["changed"] and predicted["actions"] == ["create"]
    assert not swarm.client.services.list(filters={"name": unique_name})

    created = ok(base)
    assert created["changed"] and created["actions"] == ["create"]
    assert running_images(swarm, unique_name) == ["berth-test/http:v1"]
    assert created["tasks"] and created["tasks"][0]["state"] == "running"
    assert "berth-test http v1" in http_get(swarm)

    again = ok(base)
    assert not again["changed"] and again["actions"] == []

    # A label added outside Berth, and settings the task does not give, must survive an update.
    subprocess.run(["docker", "-H", swarm.host, "service", "update", "--detach", "--label-add", "outside=yes",
                    unique_name], check=True, capture_output=True)
    version = swarm.client.services.get(unique_name).attrs["Version"]["Index"]
    changed_env = dict(base, env={"GREETING": "bonjour"})
    preview = ok(changed_env, check=True, diff=True)
    assert preview["changed"] and preview["actions"] == ["update"]
    assert preview["diff"]["before"] == {"env": ["GREETING=hello"]}
    assert preview["diff"]["after"] == {"env": ["GREETING=bonjour"]}
    assert swarm.client.services.get(unique_name).attrs["Version"]["Index"] == version

    updated = ok({"docker_host": swarm.host, "name": unique_name, "env": {"GREETING": "bonjour"}})
    assert updated["changed"] and updated["actions"] == ["update"]
    spec = spec_of(swarm, unique_name)
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["GREETING=bonjour"]
    assert spec["Labels"] == {"team": "web", "outside": "yes"}
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["EndpointSpec"]["Mode"] == "dnsrr"
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "berth-test/http:v1"

    assert not ok(dict(base, env={"GREETING": "bonjour"}))["changed"]
    removed = ok(args(swarm, name=unique_name, state="absent"))
    assert removed["changed"] and not swarm.client.services.list(filters={"name": unique_name})


def test_rolling_update_then_failed_update_rolls_back(swarm, unique_name):
    base = args(swarm, name=unique_name, image="berth-test/http:v1", replicas=1, endpoint_mode="dnsrr",
                ports=[{"target": 8080, "published": 18081, "publish_mode": "host"}],
                update_config={"failure_action": "rollback", "monitor": "3s", "order": "stop-first", "delay": "0s",
                               "max_failure_ratio": 0},
                restart_policy={"condition": "any", "delay": "1s", "max_attempts": 0})
    ok(base)
    assert not ok(base)["changed"]  # zero values the engine leaves out of the spec are no difference
    rolled = ok(dict(base, image="berth-test/http:v2"))
    assert rolled["actions"] == ["update"]
    assert running_images(swarm, unique_name) == ["berth-test/http:v2"]
    assert "berth-test http v2" in http_get(swarm, 18081)

    failed = fails(dict(base, image="berth-test/failing:latest"))
    assert "rolled it back" in failed and "berth-test/http:v2" in failed, failed
    assert spec_of(swarm, unique_name)["TaskTemplate"]["ContainerSpec"]["Image"] == "berth-test/http:v2"
    assert running_images(swarm, unique_name) == ["berth-test/http:v2"]
    assert "berth-test http v2" in http_get(swarm, 18081)


def test_a_failed_update_with_failure_action_pause_fails_with_the_task_errors(swarm, unique_name):
    base = args(swarm, name=unique_name, image="berth-test/http:v1", replicas=1, endpoint_mode="dnsrr",
                update_config={"failure_action": "pause", "monitor": "3s", "delay": "0s", "max_failure_ratio": 0},
                restart_policy={"condition": "any", "delay": "1s", "max_attempts": 0})
    ok(base)
    failed = fails(dict(base, image="berth-test/failing:latest"))
    assert f"service {unique_name}: the update is paused by the engine" in failed, failed
    assert "non-zero exit (3)" in failed and f"docker service rollback {unique_name}" in failed, failed
    service = swarm.client.services.get(unique_name).attrs
    assert service["UpdateStatus"]["State"] == "paused"
    assert service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "berth-test/failing:latest"
    swarm.client.services.get(unique_name).remove()


@pytest.mark.parametrize("case", ["ingress_port", "vip_with_network", "encrypted_network"])
def test_refuses_specs_the_kernel_cannot_serve_before_any_change(swarm, unique_name, case):
    overlay = swarm.client.networks.create(unique_name + "-net", driver="overlay", attachable=True,
                                           options={"encrypted": ""} if case == "encrypted_network" else None)
    try:
        spec = {
            "ingress_port": dict(ports=[{"target": 8080, "published": 18090}]),
            "vip_with_network": dict(networks=[{"name": overlay.name}]),
            "encrypted_network": dict(endpoint_mode="dnsrr", networks=[{"name": overlay.name}]),
        }[case]
        refused = fails(args(swarm, name=unique_name, image="berth-test/http:v1", **spec))
        assert "nothing was changed" in refused
        assert "endpoint_mode: dnsrr" in refused and "publish_mode: host" in refused
        assert ("esp" if case == "encrypted_network" else "ip_vs") in refused
        assert not swarm.client.services.list(filters={"name": unique_name})
        assert fails(args(swarm, name=unique_name, image="berth-test/http:v1", **spec), check=True) == refused
    finally:
        overlay.remove()


def test_refuses_an_update_to_ingress_and_leaves_the_service(swarm, unique_name):
    ok(args(swarm, name=unique_name, image="berth-test/busybox:latest", endpoint_mode="dnsrr"))
    version = swarm.client.services.get(unique_name).attrs["Version"]["Index"]
    refused = fails(args(swarm, name=unique_name, ports=[{"target": 8080, "published": 18092}]))
    assert "ip_vs" in refused
    assert swarm.client.services.get(unique_name).attrs["Version"]["Index"] == version
    # The override is for users who know better: the engine accepts the spec.
    skipped = ok(args(swarm, name=unique_name, endpoint_mode="vip", kernel_check="skip", wait=False,
                      ports=[{"target": 8080, "published": 18092, "publish_mode": "host"}]))
    assert skipped["changed"] and spec_of(swarm, unique_name)["EndpointSpec"]["Mode"] == "vip"
    assert "ingress mode need endpoint_mode vip" in fails(args(swarm, name=unique_name, endpoint_mode="dnsrr",
                                                               kernel_check="skip", ports=[{"target": 8080}]))
    swarm.client.services.get(unique_name).remove()


def test_bad_input_fails_clearly(swarm, unique_name):
    assert "image is required" in fails(args(swarm, name=unique_name, endpoint_mode="dnsrr"))
    assert "replicas is for mode: replicated" in fails(args(swarm, name=unique_name, image="x", mode="global",
                                                            replicas=2))
    missing = fails(args(swarm, name=unique_name, image="berth-test/busybox:latest", endpoint_mode="dnsrr",
                         networks=[{"name": unique_name + "-nope"}]))
    assert "does not exist" in missing
    assert "secret" in fails(args(swarm, name=unique_name, image="berth-test/busybox:latest", endpoint_mode="dnsrr",
                                  secrets=[{"name": unique_name + "-nope"}]))
    assert not swarm.client.services.list(filters={"name": unique_name})


# --- issue 22: jobs, mode changes, container options, input strictness ----------------------------------

BUSYBOX = "berth-test/busybox:latest"


def test_a_replicated_job_completes_and_a_failing_job_names_the_task_and_node(swarm, unique_name):
    job = args(swarm, name=unique_name, image=BUSYBOX, mode="replicated-job", replicas=3,
               command=["sh", "-c", "sleep 1"])
    predicted = ok(job, check=True)
    assert predicted["changed"] and predicted["actions"] == ["create"]
    assert not swarm.client.services.list(filters={"name": unique_name})
    done = ok(job)
    states = [t["Status"]["State"] for t in swarm.client.api.tasks(filters={"service": unique_name})]
    assert states == ["complete"] * 3, states
    assert [t["state"] for t in done["tasks"]] == ["complete"] * 3
    assert not ok(job)["changed"]  # a completed job is not run again unless something changes
    swarm.client.services.get(unique_name).remove()

    every_node = ok(args(swarm, name=unique_name + "-all", image=BUSYBOX, mode="global-job", command=["true"]))
    assert [t["state"] for t in every_node["tasks"]] == ["complete"]
    assert swarm.client.services.get(unique_name + "-all").attrs["Spec"]["Mode"] == {"GlobalJob": {}}
    swarm.client.services.get(unique_name + "-all").remove()

    failing = args(swarm, name=unique_name + "-fail", image=BUSYBOX, mode="replicated-job",
                   command=["sh", "-c", "exit 3"])
    message = fails(failing)
    node = swarm.client.info()["Name"]
    assert f"job {unique_name}-fail failed: task {unique_name}-fail." in message, message
    assert f"on node {node}: task: non-zero exit (3)" in message, message
    swarm.client.services.get(unique_name + "-fail").remove()


def test_a_mode_change_is_a_predicted_recreate_keeping_ports_and_secrets(swarm, unique_name):
    secret = swarm.client.secrets.create(name=unique_name + "-pw", data=b"s3cret")
    port = [{"target": 8080, "published": 18083, "publish_mode": "host"}]
    ok(args(swarm, name=unique_name, image="berth-test/http:v1", replicas=1, endpoint_mode="dnsrr", ports=port,
            secrets=[{"name": secret.name}]))
    first = swarm.client.services.get(unique_name)

    to_global = args(swarm, name=unique_name, mode="global")
    preview = ok(to_global, check=True, diff=True)
    assert preview["changed"] and preview["actions"] == ["recreate"]
    assert preview["diff"]["before"] == {"mode": {"Replicated": {"Replicas": 1}}}
    assert preview["diff"]["after"] == {"mode": {"Global": {}}}
    assert swarm.client.services.get(unique_name).id == first.id

    done = ok(to_global)
    assert done["changed"] and done["actions"] == ["recreate"]
    service = swarm.client.services.get(unique_name)
    assert service.id != first.id and service.attrs["Spec"]["Mode"] == {"Global": {}}
    assert service.attrs["Spec"]["EndpointSpec"] == first.attrs["Spec"]["EndpointSpec"]
    assert [s["SecretName"] for s in service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]] == [
        secret.name]
    assert "berth-test http v1" in http_get(swarm, 18083)
    assert not ok(to_global)["changed"]
    service.remove()


def test_container_options_apply_are_idempotent_and_diff_one_change(swarm, unique_name, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("FROM_FILE=1\nOVERRIDDEN=file\n")
    bind_source = tmp_path / "bind"
    bind_source.mkdir()
    options = args(
        swarm, name=unique_name, image=BUSYBOX, command=["sleep", "3600"], endpoint_mode="dnsrr",
        user="nobody", working_dir="/tmp", hostname="svc-host", init=True, tty=True, read_only=True, groups=["1234"],
        hosts={"db.local": "10.0.0.1"}, dns=["10.0.0.2"], dns_search=["example.com"], dns_options=["ndots:2"],
        cap_add=["NET_ADMIN"], cap_drop=["MKNOD"], stop_signal="SIGINT", stop_grace_period="1s",
        sysctls={"net.core.somaxconn": "1024"}, ulimits=["nofile=1024:2048"], max_replicas_per_node=1,
        logging={"driver": "json-file", "options": {"max-size": "1m"}}, healthcheck={"test": ["NONE"]},
        env_files=[str(env_file)], env={"OVERRIDDEN": "env"},
        mounts=[{"type": "tmpfs", "target": "/scratch", "tmpfs_size": "1m", "tmpfs_mode": "0700"},
                {"type": "volume", "source": unique_name, "target": "/data", "no_copy": True, "labels": {"a": "b"},
                 "driver_config": {"name": "local", "options": {"type": "tmpfs", "device": "tmpfs"}}},
                {"type": "bind", "source": str(bind_source), "target": "/host", "propagation": "rprivate"}])
    # oom_score_adj, the container's option table row: a service spec holds it from API 1.46 (Docker 27) on; an
    # older engine would drop it, so there the task refuses it before any change.
    api = swarm.client.version()["ApiVersion"]
    if tuple(int(part) for part in api.split(".")) >= (1, 46):
        options["oom_score_adj"] = 500  # raising it: a negative one fails in runc on the 28.5 engine here
    else:
        refused = fails(dict(options, oom_score_adj=500))
        assert f"oom_score_adj needs Docker Engine API 1.46 or newer, but the engine speaks {api}" in refused
        assert not swarm.client.services.list(filters={"name": unique_name})
    assert ok(options, check=True)["actions"] == ["create"]
    assert ok(options)["actions"] == ["create"]

    # Observed on the task's container: what the engine made of the spec.
    task = swarm.client.api.tasks(filters={"service": unique_name, "desired-state": "running"})[0]
    container = swarm.client.containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
    config, host = container.attrs["Config"], container.attrs["HostConfig"]
    assert (config["User"], config["WorkingDir"], config["Hostname"], config["Tty"], config["StopSignal"]) == (
        "nobody", "/tmp", "svc-host", True, "SIGINT")
    assert {"FROM_FILE=1", "OVERRIDDEN=env"} <= set(config["Env"])
    assert host["Init"] and host["ReadonlyRootfs"] and host["GroupAdd"] == ["1234"]
    assert host["ExtraHosts"] == ["db.local:10.0.0.1"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (["10.0.0.2"], ["example.com"], ["ndots:2"])
    assert "CAP_NET_ADMIN" in host["CapAdd"] and "CAP_MKNOD" in host["CapDrop"]
    assert host["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert host["OomScoreAdj"] == options.get("oom_score_adj", 0)
    assert config["Healthcheck"]["Test"] == ["NONE"]
    mounts = {m["Target"]: m for m in host["Mounts"]}
    assert mounts["/scratch"]["TmpfsOptions"] == {"SizeBytes": 1048576, "Mode": 0o700}
    assert mounts["/data"]["VolumeOptions"]["NoCopy"] and mounts["/host"]["BindOptions"]["Propagation"] == "rprivate"
    assert swarm.client.volumes.get(unique_name).attrs["Labels"] == {"a": "b"}
    somaxconn = container.exec_run("cat /proc/sys/net/core/somaxconn")
    assert somaxconn.output.strip() == b"1024", (somaxconn, container.attrs["State"])

    assert not ok(options)["changed"]
    preview = ok(dict(options, user="root", dns=["10.0.0.3"]), check=True, diff=True)
    assert preview["actions"] == ["update"]
    assert preview["diff"]["before"] == {"user": "nobody", "dns": ["10.0.0.2"]}
    assert preview["diff"]["after"] == {"user": "root", "dns": ["10.0.0.3"]}
    assert spec_of(swarm, unique_name)["TaskTemplate"]["ContainerSpec"]["User"] == "nobody"
    forced = ok(args(swarm, name=unique_name, force_update=True, wait=False))
    assert forced["changed"] and spec_of(swarm, unique_name)["TaskTemplate"]["ForceUpdate"] == 1
    swarm.client.services.get(unique_name).remove()


@pytest.mark.parametrize("module, bad, option", [
    # each case is a real ansible run (the argument spec must hand the boolean to the module); unit tests
    # cover the other combinations
    ("berth.engine.service", dict(command=True), "command"),
    ("berth.engine.container", dict(env={"A": True}), "env.A"),
    ("berth.engine.container", dict(networks=[{"name": "bridge", "aliases": [1.10]}]), "networks[0].aliases[0]"),
])
def test_a_yaml_boolean_where_text_is_expected_is_refused_naming_the_option(swarm, unique_name, module, bad, option):
    refused = fails(args(swarm, name=unique_name, image=BUSYBOX, endpoint_mode="dnsrr", **bad)
                    if module.endswith("service") else dict(docker_host=swarm.host, name=unique_name, image=BUSYBOX,
                                                            **bad), module=module)
    assert refused.startswith(f"{option} must be a string"), refused
    assert not swarm.client.services.list(filters={"name": unique_name})
    assert not swarm.client.containers.list(all=True, filters={"name": unique_name})
