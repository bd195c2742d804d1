"""Compose files through berth.engine.stack against the real engine, observed with the Docker SDK.

The files in tests/compose/ are modeled on common applications. Each is converged under a unique
project name, checked for what Compose would have made (names, labels, networks, volumes, mounts),
rerun with no change, changed in one place (exactly one container changes, check mode predicts it).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.ansible import module_helpers

converge, ok, fails = module_helpers("berth.engine.stack")
COMPOSE = Path(__file__).resolve().parents[1] / "compose"


def project_containers(docker_client, project):
    found = docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    return {c.name: c for c in found}


@pytest.fixture
def shop(project, docker_client, cleanup, make_name, test_images):
    """The shop file's external network and volume, made by "someone else" first."""
    shared, uploads = make_name("shared"), make_name("uploads")
    cleanup.network(shared)
    cleanup.volume(uploads)
    docker_client.networks.create(shared)
    docker_client.volumes.create(uploads)
    return {"name": project, "compose_files": [str(COMPOSE / "shop" / "compose.yaml")],
            "compose_env": {"SHARED_NETWORK": shared, "UPLOADS_VOLUME": uploads}, "parallel": 4}


def exec_out(container, *command):
    result = container.exec_run(list(command))
    assert result.exit_code == 0, result.output
    return result.output.decode()


def test_shop_is_made_as_compose_would_make_it_then_changes_nothing(docker_client, shop):
    first = ok(shop)
    assert first["changed"]
    name = shop["name"]
    made = project_containers(docker_client, name)
    assert sorted(made) == sorted(f"{name}-{s}-1" for s in ("cache", "db", "migrate", "web"))  # no debug profile
    web = made[f"{name}-web-1"]
    labels = web.labels
    assert labels["com.docker.compose.project"] == name and labels["com.docker.compose.service"] == "web"
    assert labels["com.docker.compose.container-number"] == "1" and labels["com.docker.compose.oneoff"] == "False"
    assert labels["com.docker.compose.project.config_files"].endswith("tests/compose/shop/compose.yaml")
    assert labels["io.berth.test.compose"] == "yes"  # from the x- anchor
    assert web.status == "running" and made[f"{name}-db-1"].status == "running"
    migrate = made[f"{name}-migrate-1"]
    assert migrate.status == "exited" and migrate.attrs["State"]["ExitCode"] == 0
    assert "migrated" in migrate.logs().decode()

    network = docker_client.networks.get(f"{name}_default")
    assert network.attrs["Labels"]["com.docker.compose.network"] == "default"
    assert set(web.attrs["NetworkSettings"]["Networks"]) == {f"{name}_default", shop["compose_env"]["SHARED_NETWORK"]}
    assert "redis" in made[f"{name}-cache-1"].attrs["NetworkSettings"]["Networks"][f"{name}_default"]["Aliases"]
    volume = docker_client.volumes.get(f"{name}_dbdata")
    assert volume.attrs["Labels"]["com.docker.compose.volume"] == "dbdata"

    env = dict(e.split("=", 1) for e in web.attrs["Config"]["Env"])
    assert env["LOG_LEVEL"] == "info" and env["DB_HOST"] == "db" and env["CACHE_URL"] == "http://redis:8080"
    assert exec_out(web, "cat", "/www/greeting.txt").strip() == "hello-from-dotenv"  # .env -> build arg
    assert exec_out(web, "cat", "/etc/web.conf") == "listen 8080\n"
    assert exec_out(made[f"{name}-db-1"], "cat", "/run/secrets/db_password").strip() == "s3cr3t-db-password"
    assert exec_out(web, "cat", "/www/static/site.css") == "body {}\n"
    uploads = [m for m in web.attrs["Mounts"] if m["Destination"] == "/uploads"][0]
    assert uploads["Name"] == shop["compose_env"]["UPLOADS_VOLUME"]

    again = ok(shop)
    assert not again["changed"], again["summary"]
    assert {c.id for c in project_containers(docker_client, name).values()} == {c.id for c in made.values()}


def test_one_change_in_the_file_changes_exactly_that_container_and_check_mode_predicts_it(docker_client, shop,
                                                                                          tmp_path):
    import shutil

    copy_dir = tmp_path / "shop"
    shutil.copytree(COMPOSE / "shop", copy_dir)
    shop = dict(shop, compose_files=[str(copy_dir / "compose.yaml")])
    ok(shop)
    name = shop["name"]
    before = {n: c.id for n, c in project_containers(docker_client, name).items()}
    document = yaml.safe_load((copy_dir / "compose.yaml").read_text())
    document["services"]["cache"]["environment"] = {"MAXMEMORY": "64mb"}
    (copy_dir / "compose.yaml").write_text(yaml.safe_dump(document))

    predicted = ok(shop, check=True)
    assert predicted["changed"] and predicted["summary"]["containers"]["changed"] == [f"{name}-cache-1"]
    assert {n: c.id for n, c in project_containers(docker_client, name).items()} == before  # nothing touched

    done = ok(shop)
    assert done["summary"]["containers"]["changed"] == [f"{name}-cache-1"]
    after = {n: c.id for n, c in project_containers(docker_client, name).items()}
    assert after[f"{name}-cache-1"] != before[f"{name}-cache-1"]
    assert {n: i for n, i in after.items() if not n.endswith("cache-1")} == \
        {n: i for n, i in before.items() if not n.endswith("cache-1")}


def test_profiles_and_prune_follow_the_file(docker_client, shop):
    name = shop["name"]
    ok(dict(shop, profiles=["debug"]))
    assert f"{name}-debug-1" in project_containers(docker_client, name)
    pruned = ok(dict(shop, prune=True))
    assert pruned["containers"][f"{name}-debug-1"]["actions"] == ["prune"]
    assert f"{name}-debug-1" not in project_containers(docker_client, name)


def test_scale_static_addresses_extends_and_long_syntax(docker_client, project):
    task = {"name": project, "compose_files": [str(COMPOSE / "workers" / "compose.yaml")]}
    ok(task)
    made = project_containers(docker_client, project)
    assert sorted(n for n in made if "-worker-" in n) == [f"{project}-worker-{i}" for i in (1, 2, 3)]
    worker = made[f"{project}-worker-2"]
    env = dict(e.split("=", 1) for e in worker.attrs["Config"]["Env"])
    assert env["ROLE"] == "worker"  # extends base, overridden
    assert worker.attrs["HostConfig"]["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert {"Type": "tmpfs", "Target": "/cache"}.items() <= [
        m for m in worker.attrs["HostConfig"]["Mounts"] if m["Target"] == "/cache"][0].items()
    scratch = [m for m in worker.attrs["Mounts"] if m["Destination"] == "/scratch"][0]
    assert scratch["Name"] == f"{project}_scratch"
    api = made[f"{project}-api-1"]
    endpoint = api.attrs["NetworkSettings"]["Networks"][f"{project}_backend"]
    assert endpoint["IPAddress"] == "172.31.250.10" and "api.internal" in endpoint["Aliases"]
    assert api.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert api.attrs["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    assert not ok(task)["changed"]


def test_an_unsupported_key_fails_before_anything_changes(docker_client, project):
    document = {"services": {"web": {"image": "berth-test/busybox:latest", "develop": {"watch": []}},
                             "db": {"image": "berth-test/busybox:latest"}}}
    msg = fails({"name": project, "compose": document})
    assert "service web: key develop is not supported" in msg
    assert not project_containers(docker_client, project)
    assert not docker_client.networks.list(names=[f"{project}_default"])
    assert "required variable TAG" in fails({"name": project, "compose": {
        "services": {"web": {"image": "x:${TAG:?}"}}}})
