"""berth.engine.image against the real engine and a local registry; state is read through the Docker SDK."""
from __future__ import annotations

import io
from pathlib import Path

import docker
import pytest

from tests.support.ansible import module_helpers
from tests.support.registry import v2_status

MODULE = "berth.engine.image"


converge, ok, fails = module_helpers(MODULE)


def image_id(docker_client, ref):
    try:
        return docker_client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


def run_in(docker_client, ref, script):
    return docker_client.containers.run(ref, ["sh", "-c", script], remove=True).decode().strip()


def unique_image(docker_client, cleanup, ref, base):
    """An image only this test has (so removing its one tag really removes it)."""
    cleanup.image(ref)
    dockerfile = "FROM %s\nLABEL io.berth.test.unique=%s\n" % (base, ref)
    image, _unused = docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=ref, rm=True)
    return image.id


@pytest.fixture
def context(tmp_path, unique_name, test_images):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM %s\nARG FLAVOUR=plain\nCOPY . /ctx/\nRUN echo \"$FLAVOUR\" > /flavour\n" % test_images.busybox)
    (ctx / "app.txt").write_text("v1 %s\n" % unique_name)  # unique: the first build really builds
    (ctx / "debug.log").write_text("not for the image\n")
    (ctx / ".dockerignore").write_text("# logs stay out\n*.log\n")
    return ctx


def test_build_lifecycle_is_idempotent_by_image_id(docker_client, unique_name, cleanup, context):
    ref = cleanup.image(unique_name + ":1")
    args = {"name": ref, "build": {"path": str(context), "args": {"FLAVOUR": "prod"},
                                   "labels": {"io.berth.test.built": "yes"}}}

    predicted = ok(args, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["build"]
    assert predicted["diff"]["before"] == {"state": "absent", "id": None}
    assert image_id(docker_client, ref) is None, "check mode must not build"

    built = ok(args, diff=True)
    assert built["changed"] and built["actions"] == ["build"]
    first = image_id(docker_client, ref)
    assert first and built["image"]["Id"] == first and built["diff"]["after"]["id"] == first
    assert any("Successfully built" in line for line in built["build_output"])
    assert docker_client.images.get(ref).labels["io.berth.test.built"] == "yes"
    assert run_in(docker_client, ref, "cat /flavour; ls -a /ctx") .split() == [
        "prod", ".", "..", ".dockerignore", "Dockerfile", "app.txt"]

    again = ok(args)
    assert not again["changed"] and again["actions"] == [] and "build_output" not in again

    # A forced rebuild of the same context hits the build cache: same ID, so no change.
    forced = dict(args, force=True)
    rebuilt = ok(forced, diff=True)
    assert not rebuilt["changed"] and rebuilt["actions"] == [] and rebuilt["build_output"]
    assert rebuilt["diff"]["before"] == {} and image_id(docker_client, ref) == first

    (context / "app.txt").write_text("v2\n")
    predicted = ok(forced, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["build"]
    assert predicted["diff"]["before"] == {"id": first}
    assert image_id(docker_client, ref) == first, "check mode must not build"
    changed = ok(forced, diff=True)
    assert changed["changed"] and changed["actions"] == ["build"]
    second = image_id(docker_client, ref)
    assert second != first and changed["diff"] == {**changed["diff"], "before": {"id": first},
                                                   "after": {"id": second}}
    assert run_in(docker_client, ref, "cat /ctx/app.txt") == "v2"

    assert ok({"name": ref, "state": "absent"}, check=True)["actions"] == ["remove"]
    assert image_id(docker_client, ref) == second
    assert ok({"name": ref, "state": "absent"})["changed"]
    assert image_id(docker_client, ref) is None
    assert not ok({"name": ref, "state": "absent"})["changed"]


def test_build_failure_shows_the_build_output(docker_client, unique_name, cleanup, tmp_path, test_images):
    ref = cleanup.image(unique_name + ":broken")
    (tmp_path / "Dockerfile").write_text("FROM %s\nRUN echo about-to-fail-%s && exit 7\n"
                                         % (test_images.busybox, unique_name))
    msg = fails({"name": ref, "build": {"path": str(tmp_path)}})
    assert "building image %s from %s failed" % (ref, tmp_path) in msg
    assert "non-zero code: 7" in msg and "about-to-fail-" + unique_name in msg
    assert image_id(docker_client, ref) is None


def test_load_from_docker_save_tarball(docker_client, unique_name, cleanup, tmp_path, test_images):
    ref = unique_name + ":1"
    saved_id = unique_image(docker_client, cleanup, ref, test_images.busybox)
    tarball = tmp_path / "image.tar"
    with open(tarball, "wb") as handle:
        for chunk in docker_client.images.get(ref).save(named=ref):
            handle.write(chunk)
    docker_client.images.remove(ref)
    assert image_id(docker_client, saved_id) is None
    args = {"name": ref, "load_path": str(tarball)}

    predicted = ok(args, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["load"]
    assert predicted["diff"]["after"] == {"state": "present", "id": saved_id}, "the ID comes from the tarball"
    assert image_id(docker_client, ref) is None, "check mode must not load"

    loaded = ok(args, diff=True)
    assert loaded["changed"] and loaded["actions"] == ["load"] and loaded["diff"] == predicted["diff"]
    assert image_id(docker_client, ref) == saved_id

    assert not ok(args)["changed"]
    assert not ok(args, check=True)["changed"]

    # The tarball's one image under a name it does not carry: loaded (already there) and tagged.
    other = cleanup.image(unique_name + "-other:2")
    renamed = ok({"name": other, "load_path": str(tarball)})
    assert renamed["changed"] and renamed["actions"] == ["load"]
    assert image_id(docker_client, other) == saved_id

    msg = fails({"name": ref, "load_path": str(tmp_path / "missing.tar")})
    assert "load_path %s does not exist" % (tmp_path / "missing.tar") in msg


def test_load_a_tarball_saved_by_another_engine(docker_client, unique_name, cleanup):
    """A tarball in the classic layout (saved by Docker 20.10): under the containerd image store its image gets
    the ID of the manifest the engine writes for it, which the plan must predict to tag it and to stay idempotent."""
    tarball = str(Path(__file__).parents[1] / "unit" / "fixtures" / "image_tiny_docker20.10_save.tar")
    cleanup.image("berth-fixture/tiny:1")  # the tag the tarball carries
    args = {"name": cleanup.image(unique_name + ":1"), "load_path": tarball}
    predicted = ok(args, check=True, diff=True)
    loaded = ok(args, diff=True)
    assert loaded["changed"] and loaded["diff"] == predicted["diff"]
    assert image_id(docker_client, args["name"]) == predicted["diff"]["after"]["id"]
    assert image_id(docker_client, "berth-fixture/tiny:1") == predicted["diff"]["after"]["id"]
    assert not ok(args)["changed"] and not ok(args, check=True)["changed"]


def test_tag_an_existing_image(docker_client, unique_name, cleanup, test_images):
    busybox = image_id(docker_client, test_images.busybox)
    tags = [cleanup.image(unique_name + ":1"), cleanup.image(unique_name + "-b:x")]
    args = {"name": test_images.busybox, "source": "local", "tag": tags}

    predicted = ok(args, check=True, diff=True)
    assert predicted["actions"] == ["tag", "tag"]
    assert predicted["diff"]["before"]["tags"] == {tags[0]: None, tags[1]: None}
    assert image_id(docker_client, tags[0]) is None
    tagged = ok(args)
    assert tagged["changed"] and tagged["actions"] == ["tag", "tag"]
    assert image_id(docker_client, tags[0]) == busybox == image_id(docker_client, tags[1])
    assert not ok(args)["changed"]

    # A tag that names another image is moved.
    docker_client.images.get(test_images.http).tag(tags[0])
    moved = ok(args, diff=True)
    assert moved["actions"] == ["tag"] and moved["diff"]["after"]["tags"] == {tags[0]: busybox}
    assert image_id(docker_client, tags[0]) == busybox

    msg = fails({"name": unique_name + ":missing", "source": "local"})
    assert "image %s:missing is not on the host and source is local" % unique_name in msg


def test_push_and_pull_with_registry_credentials(docker_client, unique_name, cleanup, test_images, local_registry):
    registry = local_registry
    ref = cleanup.image("%s/%s:1" % (registry.host, unique_name))
    creds = {"registry_username": registry.username, "registry_password": registry.password}
    manifest = "%s/v2/%s/manifests/1" % (registry.url, unique_name)
    auth = (registry.username, registry.password)
    busybox = image_id(docker_client, test_images.busybox)

    assert ok({"name": test_images.busybox, "source": "local", "tag": [ref]})["actions"] == ["tag"]

    msg = fails({"name": ref, "source": "local", "push": True, "registry_username": registry.username,
                 "registry_password": "wrong"})
    assert "pushing image %s failed" % ref in msg and "registry_username and registry_password" in msg
    assert "wrong" not in msg.replace("wrong password", "")

    push = {"name": ref, "source": "local", "push": True, **creds}
    predicted = ok(push, check=True, diff=True)
    assert predicted["actions"] == ["push"] and predicted["diff"]["after"]["pushed"] == {ref: "pushed"}
    assert v2_status(manifest, auth) == 404, "check mode must not push"
    pushed = ok(push)
    assert pushed["changed"] and pushed["actions"] == ["push"]
    assert v2_status(manifest, auth) == 200
    assert not ok(push)["changed"], "the registry holds this digest already"
    assert not ok(push, check=True)["changed"]

    assert ok({"name": ref, "state": "absent"})["actions"] == ["remove"]
    assert image_id(docker_client, ref) is None

    msg = fails({"name": ref, "registry_username": registry.username, "registry_password": "wrong"})
    assert "pulling image %s failed" % ref in msg and "registry_username and registry_password" in msg
    assert image_id(docker_client, ref) is None

    pull = {"name": ref, **creds}
    assert ok(pull, check=True)["actions"] == ["pull"]
    assert image_id(docker_client, ref) is None, "check mode must not pull"
    pulled = ok(pull)
    assert pulled["changed"] and pulled["actions"] == ["pull"]
    assert image_id(docker_client, ref) == busybox
    assert not ok(pull)["changed"]
    forced = dict(pull, force=True)
    assert not ok(forced, check=True)["changed"], "check mode compares the registry digest"
    repulled = ok(forced)
    assert not repulled["changed"] and repulled["actions"] == [], "same digest: no change"


def test_absent_image_in_use_fails_unless_forced(docker_client, unique_name, make_name, cleanup, test_images):
    ref = unique_name + ":1"
    built = unique_image(docker_client, cleanup, ref, test_images.busybox)
    user = cleanup.container(make_name("user"))
    docker_client.containers.create(ref, ["sleep", "3600"], name=user)
    for check in (True, False):
        msg = fails({"name": ref, "state": "absent"}, check=check)
        assert "image %s is used by container(s) %s" % (ref, user) in msg and "force: true" in msg
    assert image_id(docker_client, ref) == built

    assert ok({"name": ref, "state": "absent", "force": True})["changed"]
    assert image_id(docker_client, ref) is None
    assert docker_client.containers.get(user).attrs["Image"] == built, "the container is left alone"


@pytest.mark.parametrize("args, message", [
    ({"name": "Bad/Name:1"}, "is not a valid image reference"),
    ({"name": "berth-t-x:1", "source": "build"}, "source build needs build.path"),
    ({"name": "berth-t-x:1", "build": {"path": "/nonexistent-berth"}},
     "build.path /nonexistent-berth is not a directory"),
])
def test_bad_inputs_fail_clearly(args, message):
    assert message in fails(args)


def test_forced_rebuild_with_tags_reports_only_what_it_did(docker_client, unique_name, make_name, cleanup, context):
    ref = cleanup.image(unique_name + ":1")
    extra = cleanup.image(make_name("extra") + ":1")
    args = {"name": ref, "tag": [extra], "force": True, "build": {"path": str(context)}}
    first = ok(args, diff=True)
    assert first["actions"] == ["build", "tag"]
    built = image_id(docker_client, ref)
    assert built and image_id(docker_client, extra) == built
    assert first["diff"]["after"]["tags"] == {extra: built}

    # The plan cannot know a build's result: it lists build and tag, and a real run drops both (same ID).
    assert ok(args, check=True)["actions"] == ["build", "tag"]
    again = ok(args, diff=True)
    assert not again["changed"] and again["actions"] == [] and again["diff"]["after"] == {}
    assert image_id(docker_client, extra) == built

    (context / "app.txt").write_text("v2 %s\n" % unique_name)
    changed = ok(args)
    assert changed["actions"] == ["build", "tag"]
    assert image_id(docker_client, extra) == image_id(docker_client, ref) != built


def test_image_ids_are_refused_as_tags_and_for_pulls(docker_client, unique_name, cleanup, test_images):
    busybox = image_id(docker_client, test_images.busybox)
    for tag in (busybox, busybox.split(":", 1)[1]):
        for check in (True, False):
            msg = fails({"name": test_images.busybox, "source": "local", "tag": [tag]}, check=check)
            assert "tag %s is an image ID, not a name" % tag in msg
    for name in (busybox, busybox.split(":", 1)[1]):
        msg = fails({"name": name})
        assert "name %s is an image ID, which names a local image and cannot be pulled" % name in msg

    # An ID with source local names the image on the host: it can be tagged by ID.
    ref = cleanup.image(unique_name + ":by-id")
    tagged = ok({"name": busybox.split(":", 1)[1], "source": "local", "tag": [ref]})
    assert tagged["actions"] == ["tag"] and image_id(docker_client, ref) == busybox


# --- export (docker save to a file) ----------------------------------------------------------

def archive_contents(path, docker_client):
    """(image IDs, RepoTags) of a docker save tarball, read with tarfile. The ID is the config blob's sha256 under
    the classic image store; under the containerd store it is the digest index.json lists (OCI layout)."""
    import hashlib
    import json
    import tarfile

    containerd = ["driver-type", "io.containerd.snapshotter.v1"] in (docker_client.info().get("DriverStatus") or [])
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        if containerd:
            ids = [m["digest"] for m in json.load(archive.extractfile("index.json"))["manifests"]]
        else:
            ids = ["sha256:" + hashlib.sha256(archive.extractfile(e["Config"]).read()).hexdigest() for e in manifest]
    return ids, [tag for e in manifest for tag in e.get("RepoTags") or []]


def test_export_writes_the_archive_only_when_it_holds_another_image(docker_client, unique_name, cleanup, tmp_path,
                                                                    test_images):
    ref = unique_name + ":1"
    first = unique_image(docker_client, cleanup, ref, test_images.busybox)
    archive = tmp_path / "out" / "image.tar"
    archive.parent.mkdir()
    args = {"name": ref, "source": "export", "archive_path": str(archive)}

    predicted = ok(args, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["export"]
    assert predicted["diff"]["before"] == {"archive": {"path": str(archive), "id": None}}
    assert predicted["diff"]["after"] == {"archive": {"path": str(archive), "id": first}}
    assert not archive.exists(), "check mode must not write"

    written = ok(args, diff=True)
    assert written["changed"] and written["actions"] == ["export"] and written["diff"] == predicted["diff"]
    assert archive_contents(archive, docker_client) == ([first], [ref])
    assert sorted(p.name for p in archive.parent.iterdir()) == ["image.tar"], "no temporary file is left"
    stamp = archive.stat().st_mtime_ns

    for check in (True, False):
        again = ok({"name": ref, "archive_path": str(archive)}, check=check)  # source export is the default
        assert not again["changed"] and again["actions"] == []
    assert archive.stat().st_mtime_ns == stamp, "an archive holding the image is not rewritten"

    # `name` moves to another image: the archive is replaced (check mode predicts it and leaves it).
    second = unique_image(docker_client, cleanup, ref, test_images.http)
    assert second != first
    predicted = ok(args, check=True, diff=True)
    assert predicted["actions"] == ["export"] and predicted["diff"]["before"]["archive"]["id"] == first
    assert archive_contents(archive, docker_client)[0] == [first]
    replaced = ok(args)
    assert replaced["changed"] and archive_contents(archive, docker_client) == ([second], [ref])

    # The archive loads back as the same image.
    docker_client.images.remove(ref, force=True)
    with open(archive, "rb") as handle:
        docker_client.images.load(handle.read())
    assert image_id(docker_client, ref) == second


def test_export_bad_inputs_fail_and_leave_files_alone(docker_client, unique_name, cleanup, tmp_path, test_images):
    ref = unique_name + ":1"
    unique_image(docker_client, cleanup, ref, test_images.busybox)
    other = tmp_path / "notes.txt"
    other.write_text("not an image\n")
    for check in (True, False):
        msg = fails({"name": ref, "archive_path": str(other)}, check=check)
        assert "archive_path %s is not a readable image tarball" % other in msg and "not replaced" in msg
    assert other.read_text() == "not an image\n"
    assert "archive_path %s is a directory" % tmp_path in fails({"name": ref, "archive_path": str(tmp_path)})
    missing_dir = tmp_path / "missing" / "image.tar"
    assert "the directory %s does not exist" % missing_dir.parent in fails(
        {"name": ref, "archive_path": str(missing_dir)})
    assert "source export needs archive_path" in fails({"name": ref, "source": "export"})
    assert "archive_path is set but source is pull" in fails(
        {"name": ref, "source": "pull", "archive_path": str(tmp_path / "x.tar")})
    msg = fails({"name": unique_name + ":missing", "archive_path": str(tmp_path / "x.tar")})
    assert "image %s:missing is not on the host and source is export" % unique_name in msg
    assert not (tmp_path / "x.tar").exists()


# --- platform --------------------------------------------------------------------------------

def scratch_context(path, content):
    """A context that builds FROM scratch, so any platform builds without a base image to pull."""
    path.mkdir()
    (path / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    (path / "marker").write_text(content)
    return path


def platform_of(docker_client, ref):
    attrs = docker_client.images.get(ref).attrs
    return "%s/%s" % (attrs["Os"], attrs["Architecture"])


def test_build_for_a_platform(docker_client, unique_name, cleanup, tmp_path):
    ref = cleanup.image(unique_name + ":1")
    ctx = scratch_context(tmp_path / "ctx", unique_name)
    arm = {"name": ref, "build": {"path": str(ctx)}, "platform": "linux/arm64/v8"}

    assert ok(arm, check=True)["actions"] == ["build"] and image_id(docker_client, ref) is None
    built = ok(arm)
    assert built["changed"] and platform_of(docker_client, ref) == "linux/arm64"
    arm_id = image_id(docker_client, ref)
    assert not ok(arm)["changed"] and not ok(dict(arm, platform="linux/aarch64"), check=True)["changed"]

    amd = dict(arm, platform="linux/amd64")
    predicted = ok(amd, check=True, diff=True)
    assert predicted["actions"] == ["build"]
    assert predicted["diff"]["before"]["platform"] == "linux/arm64"
    assert predicted["diff"]["after"]["platform"] == "linux/amd64"
    assert image_id(docker_client, ref) == arm_id, "check mode must not build"
    # The classic builder's cache would hand back the arm64 image: the module builds again without it.
    rebuilt = ok(amd)
    assert rebuilt["changed"] and rebuilt["actions"] == ["build"]
    assert platform_of(docker_client, ref) == "linux/amd64" and image_id(docker_client, ref) != arm_id
    assert not ok(amd)["changed"]


def test_pull_for_a_platform(docker_client, unique_name, cleanup, tmp_path, local_registry):
    registry = local_registry
    creds = {"registry_username": registry.username, "registry_password": registry.password}
    ctx = scratch_context(tmp_path / "ctx", unique_name)
    local = cleanup.image(unique_name + ":arm")
    docker_client.images.build(path=str(ctx), tag=local, platform="linux/arm64", rm=True)
    ref = cleanup.image(registry.push(docker_client, local, unique_name, "arm"))
    assert image_id(docker_client, ref) is None

    pull = {"name": ref, "platform": "linux/arm64", **creds}
    assert ok(pull, check=True)["actions"] == ["pull"] and image_id(docker_client, ref) is None
    pulled = ok(pull)
    assert pulled["changed"] and pulled["actions"] == ["pull"] and platform_of(docker_client, ref) == "linux/arm64"
    assert not ok(pull)["changed"] and not ok(pull, check=True)["changed"]

    # The registry has no amd64 image under that name: a mismatch is planned and the pull fails clearly.
    amd = dict(pull, platform="linux/amd64")
    predicted = ok(amd, check=True, diff=True)
    assert predicted["actions"] == ["pull"] and predicted["diff"]["after"]["platform"] == "linux/amd64"
    msg = fails(amd)
    assert "pulling image %s for linux/amd64 gave a linux/arm64 image" % ref in msg
    assert platform_of(docker_client, ref) == "linux/arm64"


@pytest.mark.parametrize("platform, source, message", [
    ("linux", None, "platform 'linux' is not os/arch[/variant]"),
    ("linux/arm/v7/x", None, "is not os/arch[/variant]"),
    ("Linux amd64", None, "is not os/arch[/variant]"),
    ("linux/amd64", "local", "platform applies to pulls and builds, but source is local"),
])
def test_bad_platform_fails_clearly(platform, source, message, test_images):
    args = {"name": test_images.busybox, "platform": platform}
    if source:
        args["source"] = source
    for check in (True, False):
        assert message in fails(args, check=check)
