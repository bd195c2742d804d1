"""Day-2 modules against the real engine: container_exec, container_info, prune, login.

What they did is observed through the Docker SDK (exec side effects, logs, what is left after a
prune) or the file system (the docker CLI's config.json), never through Berth's own client.
"""
from __future__ import annotations

import base64
import io
import json
import time

import docker
import pytest

from tests.support.ansible import module_helpers

exec_converge, exec_ok, exec_fails = module_helpers("berth.engine.container_exec")
_unused, info_ok, info_fails = module_helpers("berth.engine.container_info")
_unused, prune_ok, prune_fails = module_helpers("berth.engine.prune")
_unused, login_ok, login_fails = module_helpers("berth.engine.login")


@pytest.fixture
def box(docker_client, unique_name, cleanup, test_images):
    cleanup.container(unique_name)
    docker_client.containers.run(test_images.busybox, ["sh", "-c", "echo started; echo warn >&2; sleep 600"],
                                 name=unique_name, detach=True)
    return unique_name


def test_exec_returns_rc_and_split_output_and_fails_on_nonzero(box):
    result = exec_ok({"container": box, "command": ["sh", "-c", "echo out; echo err >&2"], "env": {"X": 1}})
    assert result["changed"] and result["rc"] == 0
    assert result["stdout"] == "out\n" or result["stdout"].strip() == "out"
    assert result["stderr"].strip() == "err" and result["stdout_lines"] == ["out"]

    msg = exec_fails({"container": box, "command": "sh -c 'echo broken >&2; exit 4'"})
    assert "exited with 4" in msg and "broken" in msg and box in msg

    tolerated = exec_ok({"container": box, "command": "sh -c 'exit 4'", "fail_on_rc": False})
    assert tolerated["rc"] == 4


def test_exec_env_user_workdir_reach_the_process(docker_client, box):
    result = exec_ok({"container": box, "command": ["sh", "-c", "echo $GREETING; id -u; pwd"],
                      "env": {"GREETING": "hello"}, "user": "1234", "working_dir": "/tmp"})
    assert result["stdout_lines"] == ["hello", "1234", "/tmp"]


def test_exec_creates_removes_and_check_mode(docker_client, box):
    marker = "/tmp/berth-initialised"
    task = {"container": box, "command": ["touch", marker], "creates": marker}
    predicted = exec_ok(task, check=True)
    assert predicted["changed"] and "check mode" in predicted["skipped_reason"]
    assert docker_client.containers.get(box).exec_run(["test", "-e", marker]).exit_code == 1  # nothing ran

    assert exec_ok(task)["changed"]
    assert docker_client.containers.get(box).exec_run(["test", "-e", marker]).exit_code == 0
    again = exec_ok(task)
    assert not again["changed"] and "exists" in again["skipped_reason"]
    assert not exec_ok(task, check=True)["changed"]

    removes = exec_ok({"container": box, "command": ["rm", marker], "removes": marker})
    assert removes["changed"]
    assert not exec_ok({"container": box, "command": ["rm", marker], "removes": marker})["changed"]


def test_exec_detach_and_bad_input(docker_client, box):
    detached = exec_ok({"container": box, "command": ["sh", "-c", "sleep 1; touch /tmp/late"], "detach": True})
    assert detached["exec_id"] and detached["rc"] is None
    deadline = time.monotonic() + 10
    while docker_client.containers.get(box).exec_run(["test", "-e", "/tmp/late"]).exit_code != 0:
        assert time.monotonic() < deadline, "the detached command never ran"
        time.sleep(0.3)
    assert "must not be empty" in exec_fails({"container": box, "command": []})
    assert "could not be split" in exec_fails({"container": box, "command": "echo 'unclosed"})
    assert "does not exist" in exec_fails({"container": box + "-missing", "command": "true"})


def test_exec_on_a_stopped_container_says_so(docker_client, box):
    docker_client.containers.get(box).stop(timeout=1)
    assert "is not running" in exec_fails({"container": box, "command": "true"})


def test_info_exists_inspect_and_split_logs(docker_client, box):
    time.sleep(0.5)
    result = info_ok({"name": box, "logs": True})
    assert not result["changed"] and result["exists"]
    assert result["container"]["Id"] == docker_client.containers.get(box).id
    assert result["stdout_lines"] == ["started"] and result["stderr_lines"] == ["warn"]
    # The two lines come from two pipes: the engine's log may hold them in either order.
    stamped = info_ok({"name": box, "logs": True, "timestamps": True, "tail": 2})
    assert [line.split(" ", 1)[1] for line in stamped["stdout_lines"]] == ["started"]
    assert [line.split(" ", 1)[1] for line in stamped["stderr_lines"]] == ["warn"]
    assert all(line[:4].isdigit() for line in stamped["stdout_lines"] + stamped["stderr_lines"])
    last = info_ok({"name": box, "logs": True, "tail": 1})
    assert len(last["stdout_lines"] + last["stderr_lines"]) == 1
    future = info_ok({"name": box, "logs": True, "since": str(int(time.time()) + 3600)})
    assert future["stdout"] == "" and future["stderr"] == ""


def test_info_missing_container_and_bad_since(box):
    missing = info_ok({"name": box + "-missing", "logs": True})
    assert missing["exists"] is False and missing["container"] == {}
    assert "since must be" in info_fails({"name": box, "logs": True, "since": "yesterday"})


def test_prune_by_label_removes_only_matching_and_check_mode_predicts(docker_client, unique_name, cleanup,
                                                                      test_images):
    label = "io.berth.test.prune=%s" % unique_name
    key, value = label.split("=")
    for suffix in ("a", "b"):
        cleanup.container(f"{unique_name}-{suffix}")
        docker_client.containers.create(test_images.busybox, ["true"], name=f"{unique_name}-{suffix}",
                                        labels={key: value})
    cleanup.container(f"{unique_name}-other")
    docker_client.containers.create(test_images.busybox, ["true"], name=f"{unique_name}-other")
    cleanup.network(f"{unique_name}-net")
    docker_client.networks.create(f"{unique_name}-net", labels={key: value})
    cleanup.volume(f"{unique_name}-vol")
    docker_client.volumes.create(f"{unique_name}-vol", labels={key: value})

    task = {"containers": True, "networks": True, "volumes": True, "volumes_named": True, "labels": [label]}
    predicted = prune_ok(task, check=True)
    assert predicted["changed"]
    assert predicted["removed"]["containers"] == [f"{unique_name}-a", f"{unique_name}-b"]
    assert predicted["removed"]["networks"] == [f"{unique_name}-net"]
    assert predicted["removed"]["volumes"] == [f"{unique_name}-vol"]
    assert docker_client.containers.get(f"{unique_name}-a")  # check mode removed nothing

    done = prune_ok(task)
    assert done["removed"] == predicted["removed"], "check mode and the real run report the same identifiers"
    assert done["changed"] and len(done["removed"]["containers"]) == 2
    names = {c.name for c in docker_client.containers.list(all=True)}
    assert f"{unique_name}-a" not in names and f"{unique_name}-b" not in names and f"{unique_name}-other" in names
    assert not docker_client.networks.list(names=[f"{unique_name}-net"])
    assert f"{unique_name}-vol" not in {v.name for v in docker_client.volumes.list()}
    assert not prune_ok(task)["changed"]


def test_prune_of_images_reports_the_image_ids_check_mode_predicts(docker_client, unique_name, cleanup, test_images):
    """A dangling image (its tag moved to a newer build) and a stopped container using nothing else."""
    label = "io.berth.test.prune=%s" % unique_name
    tag = "berth-t-prune/%s:1" % unique_name
    cleanup.image(tag)
    dockerfile = io.BytesIO(("FROM %s\nLABEL io.berth.test.prune=%s\n" % (test_images.busybox, unique_name)).encode())
    build = dict(fileobj=dockerfile, tag=tag, rm=True, forcerm=True)  # no intermediate containers left
    first, _unused = docker_client.images.build(labels={"build": "1"}, **build)
    dockerfile.seek(0)
    docker_client.images.build(labels={"build": "2"}, **build)
    assert docker_client.images.get(first.id).tags == [], "the first build is dangling now"
    cleanup.container(f"{unique_name}-stopped")
    docker_client.containers.create(test_images.busybox, ["true"], name=f"{unique_name}-stopped",
                                    labels={"io.berth.test.prune": unique_name})

    task = {"containers": True, "images": True, "labels": [label]}
    predicted = prune_ok(task, check=True)
    assert predicted["removed"] == {"containers": [f"{unique_name}-stopped"], "images": [first.id]}
    done = prune_ok(task)
    assert done["removed"] == predicted["removed"]
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(first.id)
    assert docker_client.images.get(tag), "the tagged image stays"


def test_prune_keeps_volumes_unless_asked_and_needs_a_kind(docker_client, unique_name, cleanup):
    label = "io.berth.test.prune=%s" % unique_name
    cleanup.volume(f"{unique_name}-keep")
    docker_client.volumes.create(f"{unique_name}-keep", labels={"io.berth.test.prune": unique_name})
    prune_ok({"containers": True, "labels": [label]})
    assert f"{unique_name}-keep" in {v.name for v in docker_client.volumes.list()}
    prune_ok({"volumes": True, "labels": [label]})  # named volumes stay without volumes_named
    assert f"{unique_name}-keep" in {v.name for v in docker_client.volumes.list()}
    assert "switch on at least one" in prune_fails({"until": "1h"})
    assert "until must be" in prune_fails({"containers": True, "until": "soon"})


def test_login_stores_checks_and_logs_out(tmp_path, local_registry):
    config = tmp_path / "config.json"
    task = {"registry": local_registry.host, "username": local_registry.username,
            "password": local_registry.password, "config_path": str(config)}
    assert login_ok(task, check=True)["changed"] and not config.exists()
    assert login_ok(task)["changed"]
    stored = json.loads(config.read_text())["auths"][local_registry.host]["auth"]
    assert base64.b64decode(stored).decode() == f"{local_registry.username}:{local_registry.password}"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert not login_ok(task)["changed"]

    wrong = dict(task, password="not-the-password")
    msg = login_fails(wrong)
    assert "logging in to %s as %s failed" % (local_registry.host, local_registry.username) in msg
    assert "not-the-password" not in msg
    assert base64.b64decode(json.loads(config.read_text())["auths"][local_registry.host]["auth"]).decode().endswith(
        local_registry.password)  # a failed login keeps the stored one

    out = {"registry": local_registry.host, "state": "absent", "config_path": str(config)}
    assert login_ok(out)["changed"]
    assert local_registry.host not in json.loads(config.read_text()).get("auths", {})
    assert not login_ok(out)["changed"]


def test_login_password_never_in_verbose_output(tmp_path, local_registry):
    from tests.support.ansible import run_module

    secret = local_registry.password
    result = run_module("berth.engine.login", {"registry": local_registry.host, "username": local_registry.username,
                                               "password": secret, "config_path": str(tmp_path / "c.json")},
                        diff=True, extra_env={"ANSIBLE_VERBOSITY": "3"})
    assert result["changed"] and not result["failed"]
    assert "<127.0.0.1>" in result["_stdout"] or "ESTABLISH" in result["_stdout"]  # -vvv was in force
    assert secret not in result["_stdout"] + result["_stderr"]


_unused, copy_ok, copy_fails = module_helpers("berth.engine.container_copy")


def _file_in(container, path):
    """(content, mode, uid, gid) of a file in the container, read through the SDK's archive API."""
    import io
    import tarfile

    stream, _unused = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.getmembers()[0]
        return archive.extractfile(member).read(), member.mode & 0o7777, member.uid, member.gid


def test_copy_content_is_idempotent_with_diff_and_check(docker_client, box):
    task = {"container": box, "dest": "/tmp/app.conf", "content": "listen 80\n", "mode": "0640", "owner": "1000",
            "group": "100"}
    predicted = copy_ok(task, check=True, diff=True)
    assert predicted["changed"] and predicted["diff"]["after"] == "listen 80\n"
    container = docker_client.containers.get(box)
    assert container.exec_run(["test", "-e", "/tmp/app.conf"]).exit_code == 1

    assert copy_ok(task)["changed"]
    assert _file_in(container, "/tmp/app.conf") == (b"listen 80\n", 0o640, 1000, 100)
    assert not copy_ok(task)["changed"]

    changed = copy_ok(dict(task, content="listen 8080\n"), diff=True)
    assert changed["changed"] and changed["diff"]["before"] == "listen 80\n"
    assert _file_in(container, "/tmp/app.conf")[0] == b"listen 8080\n"
    assert copy_ok(dict(task, content="listen 8080\n", mode="0600"))["changed"]  # the mode alone differs
    assert _file_in(container, "/tmp/app.conf")[1] == 0o600


def test_copy_owner_by_name_binary_and_errors(docker_client, box):
    copy_ok({"container": box, "dest": "/tmp/blob", "content_base64": "AAEC/w==", "owner": "nobody"})
    content, _unused, uid, _unused = _file_in(docker_client.containers.get(box), "/tmp/blob")
    assert content == b"\x00\x01\x02\xff" and uid == 65534
    assert "is not in the container's /etc/passwd" in copy_fails(
        {"container": box, "dest": "/tmp/x", "content": "x", "owner": "no-such-user"})
    assert "mode must be an octal string" in copy_fails({"container": box, "dest": "/tmp/x", "content": "x",
                                                         "mode": "rw-r--r--"})
    assert "dest must be an absolute path" in copy_fails({"container": box, "dest": "tmp/x", "content": "x"})


def test_copy_directory_from_the_controller_into_a_stopped_container(docker_client, box, tmp_path):
    (tmp_path / "site" / "css").mkdir(parents=True)
    (tmp_path / "site" / "index.html").write_text("<h1>hi</h1>\n")
    (tmp_path / "site" / "css" / "a.css").write_text("body{}\n")
    container = docker_client.containers.get(box)
    container.exec_run(["mkdir", "-p", "/srv/www/css"])
    container.stop(timeout=1)
    task = {"container": box, "src": str(tmp_path / "site"), "dest": "/srv/www"}
    first = copy_ok(task)
    assert first["changed"] and sorted(f["dest"] for f in first["files"]) == ["/srv/www/css/a.css",
                                                                              "/srv/www/index.html"]
    assert _file_in(container, "/srv/www/css/a.css")[0] == b"body{}\n"
    assert not copy_ok(task)["changed"]


def test_copy_directory_with_nested_sub_directories_creates_them(docker_client, box, tmp_path):
    """None of the destination exists: every directory on the way is made, nothing is left half-copied."""
    site = tmp_path / "site"
    for relative in ("index.html", "css/a.css", "css/fonts/f.woff", "js/vendor/deep/x.js"):
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(relative + "\n")
    container = docker_client.containers.get(box)
    task = {"container": box, "src": str(site), "dest": "/site/new", "owner": "1000", "mode": "0600"}
    predicted = copy_ok(task, check=True)
    assert predicted["changed"] and container.exec_run(["test", "-e", "/site"]).exit_code == 1
    first = copy_ok(task)
    assert first["changed"] and len(first["files"]) == 4
    for relative in ("index.html", "css/a.css", "css/fonts/f.woff", "js/vendor/deep/x.js"):
        assert _file_in(container, "/site/new/" + relative) == ((relative + "\n").encode(), 0o600, 1000, 1000)
    listing = container.exec_run(["stat", "-c", "%n %a %u", "/site", "/site/new/js/vendor/deep"]).output.decode()
    assert listing.split("\n")[:2] == ["/site 755 1000", "/site/new/js/vendor/deep 755 1000"]
    assert not copy_ok(task)["changed"]
