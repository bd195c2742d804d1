"""The less common container options and `comparisons`, against the real engine (observed with the Docker SDK).

Each group: create, a rerun that changes nothing, a change (in place where the engine allows it, the
container keeps its ID; otherwise a recreate) predicted by check mode, and a bad input with its error.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import docker
import pytest

from tests.support.ansible import module_helpers

MODULE = "berth.engine.container"

converge, ok, fails = module_helpers(MODULE)


@pytest.fixture
def base(unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    return {"name": unique_name, "image": test_images.busybox, "stop_timeout": 1}


def block_device():
    """A block device of this host (device limits need a real one)."""
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("ram", "zram")) and Path("/dev", name).exists():
            return "/dev/" + name
    pytest.fail("this host has no block device under /dev for the device_* limit tests", pytrace=False)


def change_then_check(task, expected_actions, docker_client):
    """Check mode predicts `expected_actions` without touching the engine; the real run does the same."""
    before = docker_client.containers.get(task["name"])
    predicted = ok(task, check=True)
    assert predicted["changed"] and predicted["actions"] == expected_actions
    assert docker_client.containers.get(task["name"]).id == before.id, "check mode must not touch the engine"
    applied = ok(task)
    assert applied["actions"] == predicted["actions"]
    after = docker_client.containers.get(task["name"])
    assert (after.id == before.id) == (expected_actions == ["update"])
    assert not ok(task)["changed"], "the changed task converges"
    return after


def test_recreate_options_create_rerun_change_and_bad_input(docker_client, base, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("# settings\nFROM_FILE=1\nSHARED=file\n\n")
    task = dict(base, env_file=str(env_file), env={"SHARED": "task"}, tty=True, interactive=True,
                domainname="example.test", shm_size="128m", mac_address="02:42:AC:11:00:99",
                dns_search=["example.test"], dns_options=["ndots:2"], groups=["1234"], oom_score_adj=100,
                oom_killer=False, memory_swappiness=10, ipc_mode="shareable", exposed_ports=["9000-9001/udp"],
                publish_all_ports=True, runtime="runc")
    created = ok(task)
    assert created["actions"] == ["create", "start"]
    seen = docker_client.containers.get(base["name"]).attrs
    config, host = seen["Config"], seen["HostConfig"]
    assert "FROM_FILE=1" in config["Env"] and "SHARED=task" in config["Env"], "env wins over env_file"
    assert config["Tty"] and config["OpenStdin"] and config["Domainname"] == "example.test"
    assert config["MacAddress"] == "02:42:ac:11:00:99"
    assert {"9000/udp", "9001/udp", "8080/tcp"} <= set(config["ExposedPorts"])
    assert host["ShmSize"] == 128 * 1024 ** 2 and host["DnsSearch"] == ["example.test"]
    assert host["DnsOptions"] == ["ndots:2"] and host["GroupAdd"] == ["1234"] and host["OomScoreAdj"] == 100
    assert host["OomKillDisable"] is True and host["MemorySwappiness"] == 10 and host["IpcMode"] == "shareable"
    assert host["PublishAllPorts"] is True and host["Runtime"] == "runc"

    assert not ok(task)["changed"], "image defaults and engine-normalised values are no difference"

    env_file.write_text("FROM_FILE=2\nSHARED=file\n")
    after = change_then_check(task, ["recreate"], docker_client)
    assert "FROM_FILE=2" in after.attrs["Config"]["Env"]
    after = change_then_check(dict(task, shm_size="256m"), ["recreate"], docker_client)
    assert after.attrs["HostConfig"]["ShmSize"] == 256 * 1024 ** 2

    for override, named in ((dict(mac_address="02:42:zz"), "mac_address"), (dict(shm_size="big"), "shm_size"),
                            (dict(ipc_mode="bogus"), "ipc_mode"), (dict(oom_score_adj=5000), "oom_score_adj"),
                            (dict(memory_swappiness=101), "memory_swappiness"),
                            (dict(env_file=str(tmp_path / "missing.env")), "env_file")):
        msg = fails(dict(task, **override))
        assert named in msg, msg
    (tmp_path / "bad.env").write_text("JUST A LINE\n")
    msg = fails(dict(task, env_file=str(tmp_path / "bad.env")))
    assert "line 1" in msg and "KEY=VALUE" in msg, msg
    assert docker_client.containers.get(base["name"]).id == after.id, "a bad input changes nothing"


def test_cpu_and_swap_limits_change_in_place(docker_client, base):
    task = dict(base, memory="64m", memory_swap="128m", cpu_period=100000, cpu_quota=50000, cpuset_cpus="0",
                cpuset_mems="0")
    ok(task)
    host = docker_client.containers.get(base["name"]).attrs["HostConfig"]
    assert (host["MemorySwap"], host["CpuPeriod"], host["CpuQuota"]) == (128 * 1024 ** 2, 100000, 50000)
    assert (host["CpusetCpus"], host["CpusetMems"]) == ("0", "0")
    assert not ok(task)["changed"]

    cpus = "0-1" if os.cpu_count() > 1 else "0"
    changed = dict(task, memory_swap="256m", cpu_quota=25000, cpuset_cpus=cpus)
    after = change_then_check(changed, ["update"], docker_client)
    host = after.attrs["HostConfig"]
    assert (host["MemorySwap"], host["CpuQuota"], host["CpusetCpus"]) == (256 * 1024 ** 2, 25000, cpus)

    for override, named in ((dict(cpu_period=10), "cpu_period"), (dict(cpu_quota=10), "cpu_quota"),
                            (dict(cpuset_cpus="a-b"), "cpuset_cpus"), (dict(memory_swap="32m"), "memory_swap"),
                            (dict(blkio_weight=5), "blkio_weight"), (dict(cpus=0.5), "cpus")):
        msg = fails(dict(changed, **override))
        assert named in msg, msg


def test_device_limits(docker_client, base):
    device = block_device()
    task = dict(base, device_read_bps=[{"path": device, "rate": "1m"}],
                device_write_iops=[{"path": device, "rate": "100"}])
    ok(task)
    host = docker_client.containers.get(base["name"]).attrs["HostConfig"]
    assert host["BlkioDeviceReadBps"] == [{"Path": device, "Rate": 1024 ** 2}]
    assert host["BlkioDeviceWriteIOps"] == [{"Path": device, "Rate": 100}]
    assert not ok(task)["changed"]
    after = change_then_check(dict(task, device_read_bps=[{"path": device, "rate": "2m"}]), ["recreate"],
                              docker_client)
    assert after.attrs["HostConfig"]["BlkioDeviceReadBps"] == [{"Path": device, "Rate": 2 * 1024 ** 2}]
    msg = fails(dict(task, device_write_iops=[{"path": "/tmp/not-a-device", "rate": "100"}]))
    assert "device_write_iops" in msg and "/dev" in msg, msg
    msg = fails(dict(task, device_read_bps=[{"path": device, "rate": "fast"}]))
    assert "device_read_bps" in msg, msg


def test_gpu_device_requests_are_stored(docker_client, base):
    # No GPU here: the engine stores the request at create; starting would need the NVIDIA runtime.
    task = dict(base, gpus="all", state="present")
    created = ok(task)
    assert created["actions"] == ["create"]
    requests = docker_client.containers.get(base["name"]).attrs["HostConfig"]["DeviceRequests"]
    assert [(r["Count"], r["Capabilities"]) for r in requests] == [(-1, [["gpu"]])]
    assert not ok(task)["changed"]

    long_form = dict(base, state="present", device_requests=[{"device_ids": ["0", "1"],
                                                              "capabilities": ["gpu", "utility"]}])
    after = change_then_check(long_form, ["recreate"], docker_client)
    requests = after.attrs["HostConfig"]["DeviceRequests"]
    assert [(r["DeviceIDs"], r["Capabilities"]) for r in requests] == [(["0", "1"], [["gpu", "utility"]])]
    msg = fails(dict(base, state="present", gpus="bogus=1"))
    assert "gpus" in msg and "bogus" in msg, msg
    msg = fails(dict(long_form, gpus="all"))
    assert "gpus and device_requests" in msg, msg


def test_namespaces_volumes_from_and_platform(docker_client, base, make_name, cleanup, test_images):
    donor = cleanup.container(make_name("donor"))
    ok({"name": donor, "image": test_images.busybox, "volumes": ["/shared"], "stop_timeout": 1})
    image = docker_client.images.get(test_images.busybox).attrs
    platform = "%s/%s" % (image["Os"], image["Architecture"])
    task = dict(base, pid_mode="host", uts="host", volumes_from=[donor + ":ro"], platform=platform,
                cgroup_parent="/berth-test")
    ok(task)
    seen = docker_client.containers.get(base["name"]).attrs
    host = seen["HostConfig"]
    assert (host["PidMode"], host["UTSMode"], host["VolumesFrom"]) == ("host", "host", [donor + ":ro"])
    assert host["CgroupParent"] == "/berth-test" and seen["Platform"] == image["Os"]
    assert any(m["Destination"] == "/shared" for m in seen["Mounts"])
    assert not ok(task)["changed"]
    after = change_then_check(dict(task, pid_mode="container:" + donor), ["recreate"], docker_client)
    assert after.attrs["HostConfig"]["PidMode"].startswith("container:")
    msg = fails(dict(task, platform="not a platform"))
    assert "platform" in msg, msg
    msg = fails(dict(task, uts="private"))
    assert "uts" in msg, msg


def test_auto_remove_container_goes_away_when_it_stops(docker_client, base):
    task = dict(base, auto_remove=True)
    ok(task)
    container = docker_client.containers.get(base["name"])
    assert container.attrs["HostConfig"]["AutoRemove"] is True
    assert not ok(task)["changed"]
    msg = fails(dict(task, restart_policy="always"))
    assert "auto_remove" in msg and "restart_policy" in msg, msg
    container.stop(timeout=1)
    with contextlib.suppress(docker.errors.NotFound):  # removed before the wait began
        container.wait(condition="removed", timeout=30)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(base["name"])


def test_comparisons_for_containers_other_tools_change(docker_client, base, test_images):
    # Another tool created the container with a label and an env value of its own.
    docker_client.containers.create(test_images.busybox, name=base["name"], environment={"MODE": "theirs"},
                                    labels={"io.berth.test.ours": "1", "io.other.tool": "x"})
    original = docker_client.containers.get(base["name"]).id
    task = dict(name=base["name"], image=base["image"], state="present", labels={"io.berth.test.ours": "1"},
                env={"MODE": "ours"},
                comparisons={"labels": "allow_more_present", "env": "ignore"})
    assert not ok(task)["changed"], "the other tool's label and env value are not a difference"
    assert docker_client.containers.get(base["name"]).id == original

    strict = dict(task, comparisons={"env": "ignore"})
    predicted = ok(strict, check=True, diff=True)
    assert predicted["actions"] == ["recreate"] and "labels" in predicted["diff"]["after"]
    assert "env" not in predicted["diff"]["after"], "an ignored option is not compared"
    ok(strict)
    replaced = docker_client.containers.get(base["name"])
    assert replaced.id != original and "io.other.tool" not in replaced.labels
    assert "MODE=ours" in replaced.attrs["Config"]["Env"]

    msg = fails(dict(task, comparisons={"no_such_option": "ignore"}))
    assert "no_such_option" in msg, msg
    msg = fails(dict(task, comparisons={"labels": "sometimes"}))
    assert "comparisons.labels" in msg and "sometimes" in msg, msg
    msg = fails(dict(task, comparisons={"user": "allow_more_present"}))
    assert "comparisons.user" in msg, msg


def test_new_options_reach_the_stack(docker_client, make_name, cleanup, test_images):
    name = cleanup.container(make_name("web"))
    task = {"name": make_name(), "containers": [{"name": name, "image": test_images.busybox, "tty": True,
                                                 "shm_size": "96m", "stop_timeout": 1}]}
    ok(task, module="berth.engine.stack")
    host = docker_client.containers.get(name).attrs
    assert host["Config"]["Tty"] and host["HostConfig"]["ShmSize"] == 96 * 1024 ** 2
    assert not ok(task, module="berth.engine.stack")["changed"]
    msg = fails({"name": make_name(), "containers": [dict(task["containers"][0], shm_size="huge")]},
                module="berth.engine.stack")
    assert "shm_size" in msg, msg


def test_option_bugs_dns_options_platform_and_namespace_defaults(docker_client, base, test_images):
    """Issue 21's cases: resolver options are a set, an architecture-only platform converges, and
    uts/userns_mode '' (the engine's default) takes a container set to host back."""
    architecture = docker_client.images.get(test_images.busybox).attrs["Architecture"]
    task = dict(base, dns_options=["ndots:2", "timeout:1"], platform=architecture, uts="host", userns_mode="host")
    assert ok(task)["actions"] == ["create", "start"]
    host = docker_client.containers.get(base["name"]).attrs["HostConfig"]
    assert (host["DnsOptions"], host["UTSMode"], host["UsernsMode"]) == (["ndots:2", "timeout:1"], "host", "host")
    rerun = ok(dict(task, dns_options=["timeout:1", "ndots:2"]), diff=True)
    assert not rerun["changed"], "reordered resolver options and an architecture-only platform change nothing"
    after = change_then_check(dict(task, uts="", userns_mode=""), ["recreate"], docker_client)
    assert (after.attrs["HostConfig"]["UTSMode"], after.attrs["HostConfig"]["UsernsMode"]) == ("", "")


def test_healthcheck_start_interval_and_stop_grace_period(docker_client, base):
    """Two options added as one table row each: honoured where the engine supports them, refused where not."""
    task = dict(base, stop_grace_period="1m30s")
    del task["stop_timeout"]
    ok(task)
    assert docker_client.containers.get(base["name"]).attrs["Config"]["StopTimeout"] == 90
    assert not ok(dict(task, stop_grace_period="90s"))["changed"]
    msg = fails(dict(task, stop_timeout=90))
    assert "stop_grace_period and stop_timeout" in msg, msg

    checked = dict(task, healthcheck={"test": ["CMD", "true"], "start_period": "30s", "start_interval": "2s"})
    if tuple(int(p) for p in docker_client.version()["ApiVersion"].split(".")) < (1, 44):
        msg = fails(checked)
        assert "healthcheck.start_interval needs Docker Engine API 1.44 or newer" in msg, msg
        assert "StartInterval" not in (docker_client.containers.get(base["name"]).attrs["Config"].get("Healthcheck")
                                       or {}), "the refused task changed nothing"
        return
    after = change_then_check(checked, ["recreate"], docker_client)
    assert after.attrs["Config"]["Healthcheck"]["StartInterval"] == 2 * 1000 ** 3
