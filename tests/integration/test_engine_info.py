"""berth.engine.engine_info against the real engine, compared with what the Docker SDK sees."""
from __future__ import annotations

from tests.support.ansible import run_module

MODULE = "berth.engine.engine_info"


def info(args=None, **kwargs):
    result = run_module(MODULE, args or {}, **kwargs)
    assert not result["failed"], (result["msg"] or "") + "\n" + result["_stdout"][-3000:]
    assert result["changed"] is False
    return result


def test_engine_facts_match_the_sdk(docker_client):
    version, sdk_info = docker_client.version(), docker_client.info()
    for check in (False, True):
        result = info(check=check, diff=True)
        engine = result["engine"]
        assert engine["version"] == version["Version"]
        assert engine["api_version"] == version["ApiVersion"]
        assert engine["client_api_version"] in ("1.41", version["ApiVersion"])
        assert engine["storage_driver"] == sdk_info["Driver"]
        assert engine["cgroup_driver"] == sdk_info["CgroupDriver"]
        assert engine["cgroup_version"] == str(sdk_info["CgroupVersion"])
        assert engine["data_root"] == sdk_info["DockerRootDir"]
        assert result["info"]["ID"] == sdk_info["ID"] and result["version"]["Version"] == version["Version"]
        assert "containers" not in result and "images" not in result
        assert not result["diff"]


def test_lists_with_filters(docker_client, unique_name, make_name, cleanup, test_images):
    label = "io.berth.test.owner=" + unique_name
    labels = {"io.berth.test.owner": unique_name}
    running = cleanup.container(make_name("run"))
    stopped = cleanup.container(make_name("stop"))
    docker_client.containers.run(test_images.busybox, ["sleep", "3600"], name=running, labels=labels, detach=True)
    docker_client.containers.create(test_images.busybox, ["true"], name=stopped, labels=labels)
    network = cleanup.network(make_name("net"))
    docker_client.networks.create(network, labels=labels)
    volume = cleanup.volume(make_name("vol"))
    docker_client.volumes.create(volume, labels=labels)
    ref = cleanup.image(unique_name + ":listed")
    docker_client.images.get(test_images.busybox).tag(ref)

    result = info({
        "containers": True, "containers_filters": {"label": [label]},
        "networks": True, "networks_filters": {"label": {"io.berth.test.owner": unique_name}},
        "volumes": True, "volumes_filters": {"label": label},
        "images": True, "images_filters": {"reference": unique_name + ":*"},
    })
    assert sorted(c["Names"][0].lstrip("/") for c in result["containers"]) == sorted([running, stopped])
    assert [n["Name"] for n in result["networks"]] == [network]
    assert [v["Name"] for v in result["volumes"]] == [volume]
    assert [i["RepoTags"] for i in result["images"]] and all(ref in i["RepoTags"] for i in result["images"])

    only_running = info({"containers": True, "containers_all": False, "containers_filters": {"label": label}})
    assert [c["Names"][0].lstrip("/") for c in only_running["containers"]] == [running]
    by_status = info({"containers": True, "containers_filters": {"label": label, "status": ["exited", "created"]}})
    assert [c["Names"][0].lstrip("/") for c in by_status["containers"]] == [stopped]


def test_bad_filter_fails_clearly():
    result = run_module(MODULE, {"networks": True, "networks_filters": {"no-such-filter": "x"}})
    assert result["failed"]
    assert "networks_filters were not accepted by the engine" in result["msg"]
    assert "no-such-filter" in result["msg"]
