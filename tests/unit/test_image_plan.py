"""Unit tests for the pure image plan (no daemon): references, contexts, tarballs, actions."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.berth.engine.plugins.module_utils.image_calls import uses_containerd_store
from ansible_collections.berth.engine.plugins.module_utils.image_plan import (
    ARGUMENT_SPEC,
    archive_image_id,
    build_params,
    context_archive,
    context_members,
    desired_image,
    expected_image_id,
    is_ignored,
    normalise_reference,
    parse_dockerignore,
    plan_image,
    plan_image_state,
    plan_references,
    tarball_image_for,
    tarball_image_id,
    tarball_images,
)

OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def params(**overrides):
    base = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    base.update(overrides)
    return base


def image(image_id=OLD, tags=("app:1",), digests=()):
    return {"Id": image_id, "RepoTags": list(tags), "RepoDigests": list(digests)}


# --- references ------------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("app", "app:latest"),
    ("app:1.2", "app:1.2"),
    ("berth-test/busybox", "berth-test/busybox:latest"),
    ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
    ("registry.example.com/app:v1", "registry.example.com/app:v1"),
    ("app@sha256:" + "c" * 64, "app@sha256:" + "c" * 64),
    ("localhost/app_x__y", "localhost/app_x__y:latest"),
])
def test_normalise_reference(given, expected):
    assert normalise_reference(given) == expected


@pytest.mark.parametrize("bad", ["", "  ", "App:1", "app:", "app::1", "-app", "app:bad tag", "a//b"])
def test_normalise_reference_rejects_what_the_engine_would(bad):
    with pytest.raises(ValueError, match="name"):
        normalise_reference(bad)


# --- .dockerignore ---------------------------------------------------------------------------

def ignored(patterns, path):
    return is_ignored(path, parse_dockerignore(patterns))


@pytest.mark.parametrize("patterns, path, expected", [
    ("*.log", "a.log", True),
    ("*.log", "dir/a.log", False),            # '*' does not cross directories
    ("**/*.log", "dir/sub/a.log", True),
    ("**/*.log", "a.log", True),              # '**/' matches zero directories
    ("build", "build/x/y.o", True),           # a matching parent excludes its content
    ("/build", "build", True),                # leading slash is the context root
    ("*.log\n!keep.log", "keep.log", False),  # the last matching rule wins
    ("!keep.log\n*.log", "keep.log", True),
    ("# comment\n\n   \ntmp?", "tmp1", True),
    ("tmp?", "tmp12", False),
    ("[ab].txt", "b.txt", True),
    ("[!ab].txt", "c.txt", True),
    ("[!ab].txt", "a.txt", False),
    ("docs/**", "docs/a/b.md", True),
    ("docs/**", "other/docs", False),
    ("./secret", "secret", True),
])
def test_dockerignore_patterns(patterns, path, expected):
    assert ignored(patterns, path) is expected


def make_context(tmp_path, files, dockerignore=None):
    context = tmp_path / "ctx"
    context.mkdir()
    for name, content in files.items():
        path = context / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    if dockerignore is not None:
        (context / ".dockerignore").write_text(dockerignore)
    return context


def test_context_members_honour_dockerignore_and_keep_the_dockerfile(tmp_path):
    context = make_context(tmp_path, {
        "Dockerfile": "FROM scratch\n", "app.py": "x", "debug.log": "x", "cache/big.bin": "x",
        "cache/keep.txt": "x", "src/mod.py": "x", "src/mod.pyc": "x",
    }, dockerignore="*.log\ncache\n**/*.pyc\nDockerfile\n.dockerignore\n")
    members, dockerfile = context_members(str(context))
    names = [name for _unused, name in members]
    assert dockerfile == "Dockerfile"
    assert names == sorted(names)
    assert set(names) == {".dockerignore", "Dockerfile", "app.py", "src", "src/mod.py"}


def test_context_members_exception_reaches_into_excluded_directory(tmp_path):
    context = make_context(tmp_path, {"Dockerfile": "FROM scratch\n", "cache/big.bin": "x", "cache/keep.txt": "x"},
                           dockerignore="cache\n!cache/keep.txt\n")
    names = {name for _unused, name in context_members(str(context))[0]}
    assert "cache/keep.txt" in names and "cache/big.bin" not in names


def test_dockerfile_outside_the_context_is_sent_under_its_own_name(tmp_path):
    context = make_context(tmp_path, {"app.py": "x"})
    outside = tmp_path / "build.Dockerfile"
    outside.write_text("FROM scratch\n")
    members, dockerfile = context_members(str(context), str(outside))
    assert dockerfile == ".berth.Dockerfile"
    assert (str(outside), ".berth.Dockerfile") in members
    inside_abs = context_members(str(context / ".." / "ctx"), str(context / "app.py"))[1]
    assert inside_abs == "app.py"


def test_context_errors_name_the_option(tmp_path):
    with pytest.raises(ValueError, match="build.path .* is not a directory"):
        context_members(str(tmp_path / "nope"))
    context = make_context(tmp_path, {"app.py": "x"})
    with pytest.raises(ValueError, match="build.dockerfile .*Dockerfile does not exist"):
        context_members(str(context))


def test_context_archive_is_a_tar_owned_by_root(tmp_path):
    context = make_context(tmp_path, {"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "hello"})
    handle, size, dockerfile = context_archive(str(context))
    with handle:
        data = handle.read()
    assert len(data) == size and dockerfile == "Dockerfile"
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert set(members) == {"Dockerfile", "a"}
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {(0, 0, "", "")}
        assert archive.extractfile("a").read() == b"hello"


# --- docker save tarballs --------------------------------------------------------------------

def save_tarball(path, images, compress=False):
    """A minimal docker-save layout: manifest.json plus one config blob per image."""
    buffer = io.BytesIO()
    manifest = []
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for index, (config, tags) in enumerate(images):
            blob = json.dumps(config).encode()
            name = hashlib.sha256(blob).hexdigest() + ".json" if index % 2 == 0 else "blobs/sha256/x%d" % index
            add(archive, name, blob)
            manifest.append({"Config": name, "RepoTags": tags, "Layers": []})
        add(archive, "manifest.json", json.dumps(manifest).encode())
    data = buffer.getvalue()
    path.write_bytes(gzip.compress(data) if compress else data)
    return ["sha256:" + hashlib.sha256(json.dumps(c).encode()).hexdigest() for c, _unused in images]


def add(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("compress", [False, True])
def test_tarball_images_reads_ids_without_loading(tmp_path, compress):
    path = tmp_path / "images.tar"
    ids = save_tarball(path, [({"a": 1}, ["app:1"]), ({"b": 2}, ["other:2", "other:latest"])], compress)
    images = tarball_images(str(path))
    assert [i["id"] for i in images] == ids
    assert tarball_image_for(images, "other:latest", str(path))["id"] == ids[1]
    assert tarball_image_for(images, "app:1", str(path))["id"] == ids[0]
    with pytest.raises(ValueError, match="holds 2 images and none is tagged missing:latest.*app:1"):
        tarball_image_for(images, "missing:latest", str(path))


def test_single_untagged_image_is_taken_for_any_name(tmp_path):
    path = tmp_path / "one.tar"
    ids = save_tarball(path, [({"a": 1}, None)])
    assert tarball_image_for(tarball_images(str(path)), "app:9", str(path))["id"] == ids[0]


# The same one-layer image (FROM scratch, one file), saved by Docker 20.10 (classic layout: manifest.json,
# <id>.json, <layer>/layer.tar) and, after loading that into Docker 28.5 with the containerd image store, saved
# by 28.5 (OCI layout: index.json, blobs/). IDs as the engines reported them after `docker load`.
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
TINY_CONFIG_ID = "sha256:e9dcdf3f82c33ba42e14f3097ba9875968d5552a6ea30412adaab5998b009888"  # 20.10 (either tarball)
TINY_CONTAINERD_ID = "sha256:ea52e271788e5e9c4f84c0cadaed8c537cb6978d1ae1f7ceca65a692fc52a155"  # 28.5 (either)


@pytest.mark.parametrize("fixture", ["image_tiny_docker20.10_save.tar", "image_tiny_docker28.5_containerd_save.tar"])
def test_tarball_ids_are_those_each_image_store_gives_on_load(fixture):
    [image] = tarball_images(os.path.join(FIXTURES, fixture))
    assert image["repo_tags"] == ["berth-fixture/tiny:1"]
    assert tarball_image_id(image, containerd_store=False) == TINY_CONFIG_ID
    # Classic tarball: the digest of the manifest containerd writes for it; OCI layout: the one index.json lists.
    assert tarball_image_id(image, containerd_store=True) == TINY_CONTAINERD_ID


def test_an_export_archive_is_compared_by_the_engine_s_kind_of_id():
    path = os.path.join(FIXTURES, "image_tiny_docker28.5_containerd_save.tar")
    assert archive_image_id(path) == TINY_CONFIG_ID
    assert archive_image_id(path, containerd_store=True) == TINY_CONTAINERD_ID


def test_the_containerd_image_store_is_told_by_the_engine_info():
    for name, expected in (("info_docker20.10.json", False), ("info_docker28.5_containerd.json", True)):
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
            assert uses_containerd_store(json.load(handle)) is expected, name


def test_tarball_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tarball_images(str(tmp_path / "missing.tar"))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ValueError, match="not a readable image tarball"):
        tarball_images(str(junk))
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w") as archive:
        add(archive, "hello.txt", b"hi")
    with pytest.raises(ValueError, match="manifest.json is missing"):
        tarball_images(str(empty))


# --- desired state ---------------------------------------------------------------------------

def test_source_is_inferred_and_checked():
    assert desired_image(params(name="a"))["source"] == "pull"
    assert desired_image(params(name="a", build={"path": "/x"}))["source"] == "build"
    assert desired_image(params(name="a", load_path="/x.tar"))["source"] == "load"
    with pytest.raises(ValueError, match="source build needs build.path"):
        desired_image(params(name="a", source="build"))
    with pytest.raises(ValueError, match="source load needs load_path"):
        desired_image(params(name="a", source="load"))
    with pytest.raises(ValueError, match="build is set but source is pull"):
        desired_image(params(name="a", source="pull", build={"path": "/x"}))
    # absent ignores the source options
    assert desired_image(params(name="a", state="absent", source="build"))["state"] == "absent"


def test_tags_are_normalised_and_deduplicated():
    desired = desired_image(params(name="app", tag=["app:latest", "reg:5000/app", "reg:5000/app:latest"]))
    assert desired["name"] == "app:latest"
    assert desired["tags"] == ["reg:5000/app:latest"]
    with pytest.raises(ValueError, match="digest reference"):
        desired_image(params(name="app", tag=["app@sha256:" + "1" * 64]))
    with pytest.raises(ValueError, match="cannot be pushed"):
        desired_image(params(name="app@sha256:" + "1" * 64, push=True))


def test_build_params_carry_only_what_is_set():
    desired = desired_image(params(name="app:1", build={"path": "/c", "dockerfile": "Dockerfile", "args": {"V": 1},
                                                        "labels": {"x": True}, "target": "prod", "nocache": True}))
    assert build_params(desired, "Dockerfile") == {
        "t": "app:1", "dockerfile": "Dockerfile", "rm": True, "forcerm": True, "buildargs": {"V": "1"},
        "labels": {"x": "true"}, "target": "prod", "nocache": True}
    bare = desired_image(params(name="app:1", build={"path": "/c"}))
    assert set(build_params(bare, "Dockerfile")) == {"t", "dockerfile", "rm", "forcerm"}


# --- plans -----------------------------------------------------------------------------------

def plan_for(current, source_id=None, users=None, **overrides):
    return plan_image(desired_image(params(name="app:1", **overrides)), current, source_id, users)


@pytest.mark.parametrize("source, extra", [("pull", {}), ("build", {"build": {"path": "/c"}})])
def test_missing_image_is_obtained_present_one_is_left_alone(source, extra):
    plan = plan_for(None, source=source, **extra)
    assert plan.action_names() == [source] and plan.changed
    assert plan.actions[0]["provisional"] is False
    assert plan.diff()["before"] == {"state": "absent", "id": None}
    assert expected_image_id(plan, None) is None
    assert plan_for(image(), source=source, **extra).actions == []


@pytest.mark.parametrize("source, extra", [("pull", {}), ("build", {"build": {"path": "/c"}})])
def test_force_obtains_again_provisionally(source, extra):
    plan = plan_for(image(), source=source, force=True, **extra)
    assert plan.action_names() == [source]
    assert plan.actions[0]["provisional"] is True  # no change if the ID stays the same
    assert plan.diff()["before"] == {"id": OLD}


def test_forced_pull_with_the_registry_digest_we_hold_is_no_change():
    assert plan_for(image(), source_id=OLD, force=True).actions == []


def test_load_is_decided_by_the_tarball_image_id():
    assert plan_for(image(), source_id=OLD, load_path="/t.tar").actions == []
    plan = plan_for(image(), source_id=NEW, load_path="/t.tar")
    assert plan.action_names() == ["load"] and plan.actions[0]["expected_id"] == NEW
    assert plan.diff()["after"] == {"id": NEW}
    assert expected_image_id(plan, image()) == NEW
    missing = plan_for(None, source_id=NEW, load_path="/t.tar")
    assert missing.action_names() == ["load"] and missing.diff()["before"]["state"] == "absent"
    forced = plan_for(image(), source_id=OLD, load_path="/t.tar", force=True)
    assert forced.action_names() == ["load"] and forced.actions[0]["provisional"] and forced.diff()["after"] == {}


def test_local_source_needs_the_image():
    assert plan_for(image(), source="local").actions == []
    with pytest.raises(ValueError, match="not on the host and source is local"):
        plan_for(None, source="local")


def test_absent_removes_and_fails_for_an_image_in_use_by_its_last_name():
    assert plan_for(None, state="absent").actions == []
    plan = plan_for(image(), state="absent")
    assert plan.action_names() == ["remove"] and plan.diff()["after"] == {"state": "absent", "id": None}
    users = [{"Id": "c" * 64, "Names": ["/web"]}, {"Id": "d" * 64, "Names": ["/api"]}]
    with pytest.raises(ValueError, match=r"used by container\(s\) api, web.*force: true"):
        plan_for(image(), users=users, state="absent")
    # untagging one of several names, or forcing, is fine
    assert plan_for(image(tags=["app:1", "app:2"]), users=users, state="absent").action_names() == ["remove"]
    assert plan_for(image(), users=users, state="absent", force=True).actions[0]["force"] is True


def test_references_tag_and_push_what_differs():
    desired = desired_image(params(name="app:1", tag=["app:2", "reg:5000/app:1"], push=True))
    plan = plan_image(desired, image(), None)
    plan_references(plan, desired, OLD, {"app:2": OLD, "reg:5000/app:1": NEW}, {"app:1": True, "app:2": True})
    assert [(a["action"], a["reference"]) for a in plan.actions] == [
        ("tag", "reg:5000/app:1"), ("push", "reg:5000/app:1")]
    diff = plan.diff()
    assert diff["before"]["tags"] == {"reg:5000/app:1": NEW} and diff["after"]["tags"] == {"reg:5000/app:1": OLD}
    assert diff["after"]["pushed"] == {"reg:5000/app:1": "pushed"}


def test_references_all_predicted_when_the_new_id_is_unknown():
    desired = desired_image(params(name="app:1", tag=["app:2"], push=True, force=True))
    plan = plan_image(desired, image(), None)
    plan_references(plan, desired, expected_image_id(plan, image()), {"app:2": OLD}, {"app:1": True, "app:2": True})
    assert plan.action_names() == ["pull", "tag", "push", "push"]


def test_references_nothing_to_do_and_absent_ignores_them():
    desired = desired_image(params(name="app:1", tag=["app:2"], push=True))
    plan = plan_image(desired, image(), None)
    plan_references(plan, desired, OLD, {"app:2": OLD}, {"app:1": True, "app:2": True})
    assert plan.actions == [] and not plan.changed
    gone = desired_image(params(name="app:1", tag=["app:2"], state="absent"))
    plan = plan_image(gone, None)
    assert plan_references(plan, gone, None, {}, {}).actions == []


def test_registry_errors_get_a_credentials_hint():
    from ansible_collections.berth.engine.plugins.module_utils.image_calls import credentials_hint

    assert "wants credentials: set registry_username" in credentials_hint(
        'Head "http://reg:5000/v2/x/manifests/1": no basic auth credentials', "reg:5000/x:1", None)
    refused = credentials_hint("unauthorized: authentication required", "reg:5000/x:1", "deploy")
    assert "registry reg:5000 refused the credentials" in refused
    anonymous = credentials_hint("unauthorized: authentication required", "reg:5000/x:1", None)
    assert "registry reg:5000 wants credentials" in anonymous
    assert credentials_hint("manifest unknown", "reg:5000/x:1", "deploy") == ""


# --- bug 9: image IDs are not references ---------------------------------------------------------

@pytest.mark.parametrize("image_id", ["sha256:" + "c" * 64, "c" * 64])
def test_an_image_id_as_tag_is_refused(image_id):
    with pytest.raises(ValueError, match="tag %s is an image ID" % image_id):
        desired_image(params(name="app:1", source="local", tag=[image_id]))


@pytest.mark.parametrize("image_id", ["sha256:" + "c" * 64, "c" * 64])
def test_an_image_id_cannot_be_pulled_built_or_loaded(image_id):
    with pytest.raises(ValueError, match="name %s is an image ID.*cannot be pulled" % image_id):
        desired_image(params(name=image_id))
    with pytest.raises(ValueError, match="name %s is an image ID" % image_id):
        desired_image(params(name=image_id, build={"path": "/tmp"}))


def test_an_image_id_names_a_local_image():
    assert desired_image(params(name="c" * 64, source="local"))["name"] == "sha256:" + "c" * 64
    assert desired_image(params(name="sha256:" + "c" * 64, state="absent"))["name"] == "sha256:" + "c" * 64


# --- the one plan from the state ImageResource.read gathers (image captured from the engine) -------

def busybox():
    with open(os.path.join(os.path.dirname(__file__), "fixtures", "image_busybox.json"), encoding="utf-8") as handle:
        return json.load(handle)


def image_state(**overrides):
    state = {"current": busybox(), "users": [], "source_id": None, "tag_ids": {}, "pushed": {}}
    state.update(overrides)
    return state


def test_a_forced_build_lists_the_tags_as_provisional():
    desired = desired_image(params(name="berth-test/busybox:latest", build={"path": "/ctx"}, force=True,
                                   tag=["berth-test/busybox:extra"]))
    current = busybox()["Id"]
    plan = plan_image_state(desired, image_state(tag_ids={"berth-test/busybox:extra": current}))
    assert plan.action_names() == ["build", "tag"]
    assert [a["provisional"] for a in plan.actions] == [True, True]
    assert plan.diff()["after"]["tags"] == {"berth-test/busybox:extra": "(known after the image)"}


def test_a_local_image_plans_exact_tags_and_pushes_from_the_registry_digests():
    current = busybox()["Id"]
    desired = desired_image(params(name="berth-test/busybox:latest", source="local", push=True,
                                   tag=["reg:5000/busybox:1"]))
    held = {"berth-test/busybox:latest": True, "reg:5000/busybox:1": False}
    plan = plan_image_state(desired, image_state(tag_ids={"reg:5000/busybox:1": current}, pushed=held))
    assert [(a["action"], a["reference"], a["provisional"]) for a in plan.actions] == [
        ("push", "reg:5000/busybox:1", False)]


def test_registry_digests_of_the_current_image_say_nothing_about_a_loaded_one():
    desired = desired_image(params(name="berth-test/busybox:latest", load_path="/x.tar", push=True))
    plan = plan_image_state(desired, image_state(source_id=NEW, pushed={"berth-test/busybox:latest": True}))
    assert plan.action_names() == ["load", "push"] and plan.actions[1]["provisional"] is True


def test_apply_drops_a_provisional_action_from_the_actions_and_the_diff():
    from ansible_collections.berth.engine.plugins.module_utils.image_resource import _drop
    from ansible_collections.berth.engine.plugins.module_utils.plan import Plan

    plan = Plan("image", "app:1")
    kept, dropped = plan.add("tag", reference="app:2"), plan.add("tag", reference="app:3")
    plan.differ("tags", {"app:2": None, "app:3": None}, {"app:2": "?", "app:3": "?"})
    _drop(plan, dropped, "tags")
    assert plan.actions == [kept] and plan.after == {"tags": {"app:2": "?"}}
    _drop(plan, kept, "tags")
    assert plan.actions == [] and plan.before == {} and plan.after == {} and not plan.changed


# --- platform --------------------------------------------------------------------------------

from ansible_collections.berth.engine.plugins.module_utils.image_plan import (  # noqa: E402
    image_platform,
    normalise_platform,
    plan_export,
    platform_matches,
)


@pytest.mark.parametrize("given, expected", [
    ("linux/amd64", "linux/amd64"),
    (" Linux/X86_64 ", "linux/amd64"),
    ("linux/aarch64", "linux/arm64"),
    ("linux/arm64/v8", "linux/arm64"),
    ("linux/arm/v7", "linux/arm/v7"),
    (None, None),
])
def test_normalise_platform(given, expected):
    assert normalise_platform(given) == expected


@pytest.mark.parametrize("bad", ["", "linux", "linux/", "/amd64", "linux/arm/v7/x", "linux amd64", "linux/am d64"])
def test_normalise_platform_rejects_what_is_not_os_arch_variant(bad):
    with pytest.raises(ValueError, match="is not os/arch"):
        normalise_platform(bad)


def test_platform_matches_compares_a_variant_only_when_the_image_records_one():
    arm7 = {"Os": "linux", "Architecture": "arm", "Variant": "v7"}
    assert image_platform(arm7) == "linux/arm/v7" and platform_matches(arm7, "linux/arm/v7")
    assert not platform_matches(arm7, "linux/arm/v6") and platform_matches(arm7, "linux/arm")
    assert platform_matches({"Os": "linux", "Architecture": "arm"}, "linux/arm/v6")
    assert platform_matches({"Os": "linux", "Architecture": "arm64", "Variant": "v8"}, "linux/arm64")
    assert not platform_matches({"Os": "linux", "Architecture": "amd64"}, "linux/arm64")
    assert platform_matches({"Os": "linux", "Architecture": "amd64"}, None)


def test_a_present_image_of_another_platform_is_obtained_again():
    amd = dict(image(), Os="linux", Architecture="amd64")
    for source, extra in (("pull", {}), ("build", {"build": {"path": "/ctx"}})):
        desired = desired_image(params(name="app:1", source=source, platform="linux/arm64", **extra))
        plan = plan_image(desired, amd, None)
        assert [a["action"] for a in plan.actions] == [source] and plan.actions[0]["platform"] == "linux/arm64"
        assert plan.before["platform"] == "linux/amd64" and plan.after["platform"] == "linux/arm64"
        same = desired_image(params(name="app:1", source=source, platform="linux/amd64", **extra))
        assert plan_image(same, amd, None).actions == []
    # A registry digest we hold does not make an image of another platform good enough.
    forced = desired_image(params(name="app:1", platform="linux/arm64", force=True))
    assert plan_image(forced, amd, OLD).has("pull")


def test_platform_goes_to_pull_and_build_only():
    assert build_params(desired_image(params(name="app:1", build={"path": "/c"}, platform="linux/arm64")),
                        "Dockerfile")["platform"] == "linux/arm64"
    assert "platform" not in build_params(desired_image(params(name="app:1", build={"path": "/c"})), "Dockerfile")
    for source, extra in (("local", {}), ("load", {"load_path": "/x.tar"}), ("export", {"archive_path": "/x.tar"})):
        with pytest.raises(ValueError, match="platform applies to pulls and builds, but source is " + source):
            desired_image(params(name="app:1", source=source, platform="linux/amd64", **extra))
    assert desired_image(params(name="app:1", state="absent", platform="linux/amd64"))["platform"] is None


# --- export ----------------------------------------------------------------------------------

def test_export_source_and_archive_path_go_together():
    assert desired_image(params(name="app:1", archive_path="/x.tar"))["source"] == "export"
    with pytest.raises(ValueError, match="source export needs archive_path"):
        desired_image(params(name="app:1", source="export"))
    with pytest.raises(ValueError, match="archive_path is set but source is pull"):
        desired_image(params(name="app:1", source="pull", archive_path="/x.tar"))
    assert desired_image(params(name=OLD, archive_path="/x.tar"))["name"] == OLD, "an ID names a local image"


def test_export_is_planned_when_the_archive_holds_another_image():
    desired = desired_image(params(name="app:1", archive_path="/srv/app.tar", tag=["app:2"]))
    state = {"current": image(), "tag_ids": {"app:2": OLD}, "archive_id": None}
    plan = plan_image_state(desired, state)
    assert plan.actions == [{"action": "export", "path": "/srv/app.tar", "id": OLD}]
    assert plan.before == {"archive": {"path": "/srv/app.tar", "id": None}}
    assert plan.after == {"archive": {"path": "/srv/app.tar", "id": OLD}}
    assert plan_image_state(desired, dict(state, archive_id=OLD)).actions == []
    assert plan_export(plan_image(desired, image()), desired, OLD, NEW).has("export")
    with pytest.raises(ValueError, match="not on the host and source is export"):
        plan_image_state(desired, dict(state, current=None))


def test_archive_image_id_reads_what_the_archive_holds(tmp_path):
    target = tmp_path / "app.tar"
    assert archive_image_id(str(target)) is None
    ids = save_tarball(target, [({"a": 1}, ["app:1"])])
    assert archive_image_id(str(target)) == ids[0]
    ids = save_tarball(target, [({"a": 1}, ["app:1"]), ({"b": 2}, [])])
    assert archive_image_id(str(target)) == ", ".join(sorted(ids))
    with pytest.raises(ValueError, match="is a directory"):
        archive_image_id(str(tmp_path))
    with pytest.raises(ValueError, match="the directory %s does not exist" % (tmp_path / "no")):
        archive_image_id(str(tmp_path / "no" / "app.tar"))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(ValueError, match="archive_path .* is not replaced"):
        archive_image_id(str(junk))


# --- stored logins ---------------------------------------------------------------------------

def test_stored_login_is_used_when_the_task_gives_none(tmp_path, monkeypatch):
    from ansible_collections.berth.engine.plugins.module_utils.image_calls import (
        auth_header,
        credentials_hint,
        registry_credentials,
    )

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert registry_credentials("reg:5000/x:1") == (None, None) and auth_header("reg:5000/x:1", None, None) == {}
    token = base64.b64encode(b"deploy:s3cret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg:5000": {"auth": token}}}))
    assert registry_credentials("reg:5000/x:1") == ("deploy", "s3cret")
    assert registry_credentials("reg:5000/x:1", "other", "pw") == ("other", "pw"), "the task's win"
    assert registry_credentials("other:5000/x:1") == (None, None)
    sent = json.loads(base64.urlsafe_b64decode(auth_header("reg:5000/x:1", None, None)["X-Registry-Auth"]))
    assert sent == {"username": "deploy", "password": "s3cret", "serveraddress": "reg:5000"}
    refused = credentials_hint("unauthorized: authentication required", "reg:5000/x:1", None)
    assert "refused the login stored by berth.engine.login" in refused
    (tmp_path / "config.json").write_text("{broken")
    assert registry_credentials("reg:5000/x:1") == (None, None), "an unreadable config is no login"
