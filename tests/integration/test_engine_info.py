"""berth.engine.engine_info against the real engine, compared with what the Docker SDK sees."""
from __future__ import annotations

from tests.support.ansible import run_module

MODULE = "berth.engine.engine_info"


def info(args=None, **kwargs):
    result = run_module(MODULE, args or {}, **kwargs)
    assert not result["failed"], (result["msg"] or "") + "\n" + result["_stdout"][-3000:]
    assert result["changed"] is False
    return result


NEWEST_API = "1.51"


def api_tuple(version):
    return tuple(int(part) for part in version.split("."))


def test_engine_facts_match_the_sdk(docker_client):
    version, sdk_info = docker_client.version(), docker_client.info()
    for check in (False, True):
        result = info(check=check, diff=True)
        engine = result["engine"]
        assert engine["version"] == version["Version"]
        assert engine["api_version"] == version["ApiVersion"]
        # Negotiated: the engine's API, or the newest Berth is written against (1.51, Docker 28.x).
        assert engine["client_api_version"] == min(version["ApiVersion"], NEWEST_API, key=api_tuple)
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


def test_daemon_warnings_are_always_reported(docker_client):
    expected = docker_client.info().get("Warnings") or []
    for args in ({}, {"disk_usage": False}):
        assert info(args)["engine"]["warnings"] == expected


def test_disk_usage_on_a_private_daemon(docker_client, test_images, unique_name):
    """A daemon of its own, so every count and size is known exactly (others' tests cannot move them)."""
    from tests.support.private_daemon import private_daemons

    with private_daemons(1, "df") as (daemon,):
        daemon.load_image(test_images.busybox, docker_client)
        client = daemon.client
        args = {"docker_host": daemon.docker_host, "disk_usage": True}

        assert "disk_usage" not in info({"docker_host": daemon.docker_host})
        idle = info(args)["disk_usage"]
        layers = client.df()["LayersSize"]
        assert layers > 0
        assert idle["images"] == {"count": 1, "active": 0, "size": layers, "reclaimable": layers}
        assert idle["containers"] == {"count": 0, "active": 0, "size": 0, "reclaimable": 0}
        assert idle["volumes"] == {"count": 0, "active": 0, "size": 0, "reclaimable": 0}
        assert idle["build_cache"] == {"count": 0, "active": 0, "size": 0, "reclaimable": 0}
        assert info(args, check=True)["disk_usage"] == idle

        # An unused volume holding 1 MiB, a running container that wrote 512 KiB, a stopped one that wrote 256 KiB.
        volume = client.volumes.create(unique_name)
        client.containers.run(test_images.busybox, ["dd", "if=/dev/zero", "of=/data/fill", "bs=1024", "count=1024"],
                              volumes={volume.name: {"bind": "/data"}}, network_mode="none", remove=True)
        client.containers.run(test_images.busybox, ["sh", "-c", "dd if=/dev/zero of=/fill bs=1024 count=512 && "
                                                    "exec sleep 600"], name=unique_name + "-run", network_mode="none",
                              detach=True)
        client.containers.run(test_images.busybox, ["dd", "if=/dev/zero", "of=/fill", "bs=1024", "count=256"],
                              name=unique_name + "-stop", network_mode="none")
        df = client.df()
        sizes = {c["Names"][0].lstrip("/"): c["SizeRw"] for c in df["Containers"]}
        busy = info(args)["disk_usage"]
        # `docker system df`'s sums: the classic store's layers are the image's (nothing to reclaim); the
        # containerd store's LayersSize also counts the containers' unpacked snapshots, which are reclaimable.
        (image,) = df["Images"]
        in_use = image["Size"] - max(image["SharedSize"], 0)
        assert busy["images"] == {"count": 1, "active": 1, "size": df["LayersSize"],
                                  "reclaimable": df["LayersSize"] - in_use}
        assert df["LayersSize"] >= layers
        # The image declares VOLUME /data: each of the two containers has an empty anonymous volume, in use.
        assert busy["volumes"] == {"count": 3, "active": 2, "size": 1024 * 1024, "reclaimable": 1024 * 1024}
        assert busy["containers"] == {"count": 2, "active": 1, "size": sum(sizes.values()),
                                      "reclaimable": sizes[unique_name + "-stop"]}
        assert sizes[unique_name + "-stop"] >= 256 * 1024 and sizes[unique_name + "-run"] >= 512 * 1024


def test_disk_usage_bad_input_fails_clearly():
    result = run_module(MODULE, {"disk_usage": "sometimes"})
    assert result["failed"] and "disk_usage" in result["msg"]
