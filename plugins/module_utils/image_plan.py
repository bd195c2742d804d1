# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of the image resource: desired state, build contexts, tarballs and the action list.

Nothing here talks to the engine. Build contexts and `docker save` tarballs are read from the
local file system (the managed node), which is what lets check mode know a tarball's image ID
without loading it.

A build or pull only reveals the new image ID once it ran, so the plan is made once, from what
the read knew: plan_image() decides how `name` is obtained (or removed), plan_references() adds
the tags and pushes for the image ID `name` will point at. When that ID is not known yet, those
actions (and an obtain step of an image already there) are marked provisional: apply drops each
that turns out to change nothing, so the reported actions are what was really done.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import tarfile
import tempfile

from ansible_collections.berth.engine.plugins.module_utils.image_calls import is_image_id
from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map

SOURCES = ("pull", "build", "load", "local", "export")
# Obtain actions whose outcome is only known once they ran: when the image already existed and the
# result has the same ID, the engine part drops them and the run reports no change.
OBTAIN_ACTIONS = ("pull", "build", "load")
UNKNOWN_ID = "(known after the %s)"

# A simplified docker reference grammar: [registry[:port]/]path[:tag][@digest], path lowercase.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE_RE = re.compile(
    r"^(?:(?P<registry>(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?)/)??"
    r"(?P<path>%s(?:/%s)*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*:[0-9a-fA-F]{32,}))?$" % (_COMPONENT, _COMPONENT))


def normalise_reference(reference, option="name"):
    """'app' -> 'app:latest'; digests are kept; raises ValueError for what the engine would reject."""
    if reference is None or not str(reference).strip():
        raise ValueError("%s must be an image reference such as registry.example.com/app:1.2" % option)
    reference = str(reference).strip()
    match = _REFERENCE_RE.match(reference)
    if not match:
        raise ValueError("%s %r is not a valid image reference: use [registry[:port]/]name[:tag] with a "
                         "lowercase name, for example registry.example.com/app:1.2" % (option, reference))
    if match.group("digest") or match.group("tag"):
        return reference
    return reference + ":latest"


# --- build contexts --------------------------------------------------------------------------

def _pattern_regex(pattern):
    """A .dockerignore pattern as a regex on slash-separated relative paths (Go filepath.Match + '**')."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # '**/' : zero or more directories
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def parse_dockerignore(text):
    """[(regex, negated)] from the text of a .dockerignore file."""
    rules = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:].strip()
        line = posixpath.normpath(line.lstrip("/")) if line.lstrip("/") else ""
        if not line or line == ".":
            continue
        rules.append((_pattern_regex(line), negated))
    return rules


def is_ignored(path, rules):
    """Whether a context-relative path is excluded: the last rule matching it or a parent decides."""
    parents = []
    parts = path.split("/")
    for index in range(1, len(parts) + 1):
        parents.append("/".join(parts[:index]))
    ignored = False
    for regex, negated in rules:
        if any(regex.match(candidate) for candidate in parents):
            ignored = not negated
    return ignored


def context_members(context, dockerfile="Dockerfile"):
    """Sorted (absolute path, name in the archive) of what a build sends, honouring .dockerignore.

    The Dockerfile is sent even when it lies outside the context (as .berth.Dockerfile) and, like
    the .dockerignore file itself, even when .dockerignore excludes it. Returns (members, dockerfile name).
    """
    context = os.path.abspath(context)
    if not os.path.isdir(context):
        raise ValueError("build.path %s is not a directory (the build context must exist on the managed node)"
                         % context)
    dockerfile_path = dockerfile if os.path.isabs(dockerfile) else os.path.join(context, dockerfile)
    dockerfile_path = os.path.abspath(dockerfile_path)
    if not os.path.isfile(dockerfile_path):
        raise ValueError("build.dockerfile %s does not exist" % dockerfile_path)
    relative = os.path.relpath(dockerfile_path, context)
    inside = not relative.startswith(".." + os.sep) and relative != ".."
    dockerfile_name = relative.replace(os.sep, "/") if inside else ".berth.Dockerfile"

    rules = []
    ignore_file = os.path.join(context, ".dockerignore")
    if os.path.isfile(ignore_file):
        with open(ignore_file, encoding="utf-8", errors="replace") as handle:
            rules = parse_dockerignore(handle.read())
    has_exceptions = any(negated for _unused, negated in rules)
    always = {dockerfile_name, ".dockerignore"}

    members = []
    for root, dirs, files in os.walk(context):
        dirs.sort()
        relroot = os.path.relpath(root, context).replace(os.sep, "/")
        relroot = "" if relroot == "." else relroot + "/"
        kept_dirs = []
        for name in dirs:
            rel = relroot + name
            full = os.path.join(root, name)
            ignored = is_ignored(rel, rules)
            if os.path.islink(full):
                if not ignored:
                    members.append((full, rel))
                continue
            if ignored and not has_exceptions:
                continue  # prune: no '!' rule can bring anything below it back
            if not ignored:
                members.append((full, rel))
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = relroot + name
            if rel in always or not is_ignored(rel, rules):
                members.append((os.path.join(root, name), rel))
    if not inside:
        members.append((dockerfile_path, dockerfile_name))
    members.sort(key=lambda member: member[1])
    return members, dockerfile_name


def _as_root(info):
    # Like the docker CLI: context files belong to root in the archive, so the build cache
    # (which hashes owners but not mtimes) matches builds made by `docker build`.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def context_archive(context, dockerfile="Dockerfile"):
    """Tar the build context into a temporary file: (file object at offset 0, size, dockerfile name)."""
    members, dockerfile_name = context_members(context, dockerfile)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path, name in members:
                try:
                    archive.add(path, arcname=name, recursive=False, filter=_as_root)
                except OSError as err:
                    raise ValueError("cannot read %s from the build context: %s"
                                     % (path, err.strerror or err)) from None
        size = handle.tell()
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle, size, dockerfile_name


# --- docker save tarballs --------------------------------------------------------------------

def tarball_images(path, option="load_path"):
    """[{'id', 'containerd_id', 'repo_tags'}] for the images in a `docker save` tarball (also compressed).

    Both IDs are known without loading. 'id' is the sha256 of the image's config blob: the image ID
    under the classic image store. Under the containerd image store (Docker 28 opt-in, 29 default) an
    image's ID is the digest of its manifest (or index): 'containerd_id', see _containerd_ids.
    """
    if not os.path.isfile(path):
        raise ValueError("%s %s does not exist on the managed node" % (option, path))
    try:
        with tarfile.open(path, mode="r:*") as archive:
            manifest = json.loads(_read_member(archive, "manifest.json", path))
            indexed = _indexed_ids(archive, path)
            images = []
            for entry in manifest:
                config = _read_member(archive, entry["Config"], path)
                config_id = _digest(config)
                containerd_id = indexed.get(config_id) or _converted_manifest_id(archive, entry, config, path)
                images.append({"id": config_id, "containerd_id": containerd_id,
                               "repo_tags": list(entry.get("RepoTags") or [])})
            return images
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ValueError("%s %s is not a readable image tarball (docker save): %s"
                         % (option, path, " ".join(str(err).split()))) from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError("%s %s has no valid manifest.json (is it a docker save tarball?): %s"
                         % (option, path, err)) from None


def tarball_image_id(image, containerd_store):
    """The ID the engine gives a tarball image once loaded: it depends on the engine's image store."""
    return image["containerd_id"] if containerd_store else image["id"]


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _indexed_ids(archive, path):
    """{config digest: top-level digest} for an OCI layout (index.json, written by Docker 25+).

    The containerd store imports the images index.json lists, each under the digest listed there
    (a manifest's, or a multi-platform index's: then every platform's config maps to it)."""
    try:
        index = json.loads(_read_member(archive, "index.json", path))
    except ValueError:
        return {}  # a classic docker save tarball: no index.json
    ids = {}
    for top in index.get("manifests") or []:
        for config_id in _config_digests(archive, top, path):
            ids.setdefault(config_id, top["digest"])
    return ids


def _config_digests(archive, descriptor, path, depth=0):
    try:
        document = json.loads(_read_member(archive, _blob_path(descriptor["digest"]), path))
    except ValueError:
        return []  # a platform left out of the archive
    if "config" in document:
        return [document["config"]["digest"]]
    if depth > 2:
        return []
    return [config_id for child in document.get("manifests") or []
            for config_id in _config_digests(archive, child, path, depth + 1)]


def _blob_path(digest):
    algorithm, _unused, encoded = digest.partition(":")
    return "blobs/%s/%s" % (algorithm, encoded)


# The media types containerd's archive importer gives a classic docker save image's manifest, config and
# layers (uncompressed layer.tar; gzip when the layer is compressed).
_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
_GZIP_MAGIC = b"\x1f\x8b"


def _converted_manifest_id(archive, entry, config, path):
    """The ID the containerd store gives a classic docker save image: it writes a Docker v2 manifest
    for it (config, then the layers as stored, each by digest and size) and uses that manifest's digest.
    Go's encoding/json output: fields in struct order, no spaces."""
    layers = []
    for name in entry["Layers"]:
        digest, size, head = _member_digest(archive, name, path)
        media_type = _DOCKER_LAYER + (".gzip" if head.startswith(_GZIP_MAGIC) else "")
        layers.append({"mediaType": media_type, "digest": digest, "size": size})
    manifest = {"schemaVersion": 2, "mediaType": _DOCKER_MANIFEST,
                "config": {"mediaType": _DOCKER_CONFIG, "digest": _digest(config), "size": len(config)},
                "layers": layers}
    return _digest(json.dumps(manifest, separators=(",", ":")).encode("utf-8"))


def _member_digest(archive, name, path):
    """(digest, size, first bytes) of a tarball member, read in chunks (layers can be large)."""
    sha, size, head = hashlib.sha256(), 0, b""
    with _open_member(archive, name, path) as member:
        for chunk in iter(lambda: member.read(1 << 20), b""):
            head = head or chunk[:2]
            sha.update(chunk)
            size += len(chunk)
    return "sha256:" + sha.hexdigest(), size, head


def _read_member(archive, name, path):
    with _open_member(archive, name, path) as member:
        return member.read()


def _open_member(archive, name, path):
    try:
        member = archive.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise ValueError("%s is missing from %s" % (name, path))
    return member


def tarball_image_for(images, reference, path):
    """The tarball image that `reference` will name after loading; raises when it is ambiguous."""
    for image in images:
        if reference in (normalise_reference(tag, "RepoTags") for tag in image["repo_tags"]):
            return image
    if len(images) == 1:
        return images[0]
    tagged = sorted(tag for image in images for tag in image["repo_tags"])
    raise ValueError("load_path %s holds %d images and none is tagged %s (it has: %s); set name to one of them"
                     % (path, len(images), reference, ", ".join(tagged) or "no tags"))


def archive_image_id(path, containerd_store=False):
    """The image ID an export archive holds now (as the engine would name it): None when there is no file yet.

    Several images (not what an export writes) give all their IDs, which never equal one image's ID,
    so the archive is rewritten. Anything else at that path fails: an export only replaces its own kind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError("archive_path %s: the directory %s does not exist on the managed node; create it first"
                         % (path, directory))
    if os.path.isdir(path):
        raise ValueError("archive_path %s is a directory: give the path of the tarball file to write" % path)
    if not os.path.lexists(path):
        return None
    try:
        ids = sorted(tarball_image_id(image, containerd_store) for image in tarball_images(path, "archive_path"))
    except ValueError as err:
        raise ValueError("%s; it is not replaced: remove it or choose another archive_path" % err) from None
    return ", ".join(ids) or None


# --- platforms -------------------------------------------------------------------------------

_PLATFORM_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*(?:/[a-z0-9][a-z0-9_.-]*)?$")
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}


def normalise_platform(platform):
    """'linux/x86_64' -> 'linux/amd64', 'linux/arm64/v8' -> 'linux/arm64'; None stays None; ValueError otherwise."""
    if platform is None:
        return None
    text = str(platform).strip().lower()
    if not _PLATFORM_RE.match(text):
        raise ValueError("platform %r is not os/arch[/variant], for example linux/amd64 or linux/arm64/v8"
                         % (platform,))
    parts = text.split("/")
    parts[1] = _ARCH_ALIASES.get(parts[1], parts[1])
    if parts[1:] == ["arm64", "v8"]:
        parts = parts[:2]  # v8 is what arm64 means; the engine often records no variant for it
    return "/".join(parts)


def image_platform(image):
    """'os/arch[/variant]' of an inspect document, normalised like normalise_platform."""
    image = image or {}
    parts = [str(image.get("Os") or "unknown").lower(), str(image.get("Architecture") or "unknown").lower()]
    if image.get("Variant"):
        parts.append(str(image["Variant"]).lower())
    try:
        return normalise_platform("/".join(parts))
    except ValueError:
        return "/".join(parts)


def platform_matches(image, platform):
    """Whether an image is of the wanted platform; a variant counts only when the image records one."""
    if platform is None:
        return True
    have = image_platform(image).split("/")
    want = platform.split("/")
    if have[:2] != want[:2]:
        return False
    return len(have) < 3 or len(want) < 3 or have[2] == want[2]


# --- desired state ---------------------------------------------------------------------------

def _check_source_inputs(source, build, load_path, archive_path):
    """The inputs a source needs are there, and none belongs to another source."""
    if source == "build" and not (build and build.get("path")):
        raise ValueError("source build needs build.path, the context directory")
    if source == "load" and not load_path:
        raise ValueError("source load needs load_path, a docker save tarball")
    if build and source != "build":
        raise ValueError("build is set but source is %s; set source: build or drop build" % source)
    if load_path and source != "load":
        raise ValueError("load_path is set but source is %s; set source: load or drop load_path" % source)
    if source == "export" and not archive_path:
        raise ValueError("source export needs archive_path, the tarball file to write")
    if archive_path and source != "export":
        raise ValueError("archive_path is set but source is %s; set source: export or drop archive_path" % source)


def _desired_tags(values, name):
    """Further name:tag references of the image (never IDs or digests), without `name` and repeats."""
    tags = []
    for tag in values or []:
        if is_image_id(tag):
            raise ValueError("tag %s is an image ID, not a name: tags must be name:tag references such as "
                             "registry.example.com/app:1.2 (to tag an image by its ID, set name to the ID with "
                             "source: local)" % tag)
        reference = normalise_reference(tag, "tag")
        if "@" in reference:
            raise ValueError("tag %s is a digest reference; tags must be name:tag" % tag)
        if reference != name and reference not in tags:
            tags.append(reference)
    return tags


def _desired_build(build):
    if not build:
        return None
    return {
        "path": build.get("path"),
        "dockerfile": build.get("dockerfile") or "Dockerfile",
        "args": as_text_map(build.get("args"), "build.args") or {},
        "target": build.get("target"),
        "labels": as_text_map(build.get("labels"), "build.labels") or {},
        "nocache": bool(build.get("nocache")),
    }


def desired_image(params):
    """Validate the module parameters into the desired state."""
    state = params.get("state") or "present"
    build, load_path, archive_path = params.get("build"), params.get("load_path"), params.get("archive_path")
    source = params.get("source")
    if source is None:
        source = "build" if build else "load" if load_path else "export" if archive_path else "pull"
    name = _desired_name(params.get("name"), state, source)
    if state == "present":
        _check_source_inputs(source, build, load_path, archive_path)
    platform = normalise_platform(params.get("platform"))
    if platform and state == "present" and source not in ("pull", "build"):
        raise ValueError("platform applies to pulls and builds, but source is %s; drop platform" % source)
    if "@" in name and source in ("build", "load"):
        raise ValueError("name %s is a digest reference; a built or loaded image needs a tag" % name)
    tags = _desired_tags(params.get("tag"), name)
    if params.get("push") and "@" in name:
        raise ValueError("name %s is a digest reference and cannot be pushed; push a name:tag" % name)
    return {
        "name": name,
        "state": state,
        "source": source,
        "force": bool(params.get("force")),
        "build": _desired_build(build),
        "load_path": load_path,
        "archive_path": archive_path,
        "platform": platform if state == "present" else None,
        "tags": tags,
        "push": bool(params.get("push")),
        "username": params.get("registry_username"),
        "password": params.get("registry_password"),
    }


def _desired_name(name, state, source):
    """`name` normalised; an image ID names an image already on the host, so it only goes with local."""
    if not is_image_id(name):
        return normalise_reference(name)
    if state == "present" and source == "pull":
        raise ValueError("name %s is an image ID, which names a local image and cannot be pulled: use a "
                         "name:tag reference, or source: local for an image already on the host" % name)
    if state == "present" and source not in ("local", "export"):
        raise ValueError("name %s is an image ID; a built or loaded image needs a name:tag reference" % name)
    name = str(name).strip().lower()
    return name if name.startswith("sha256:") else "sha256:" + name


def build_params(desired, dockerfile_name):
    """Query parameters of POST /build (the classic builder: its cache gives equal IDs for equal input)."""
    build = desired["build"]
    params = {"t": desired["name"], "dockerfile": dockerfile_name, "rm": True, "forcerm": True}
    if build["args"]:
        params["buildargs"] = build["args"]
    if build["labels"]:
        params["labels"] = build["labels"]
    if build["target"]:
        params["target"] = build["target"]
    if build["nocache"]:
        params["nocache"] = True
    if desired.get("platform"):
        params["platform"] = desired["platform"]
    return params


# --- plans -----------------------------------------------------------------------------------

def _image_id(image):
    return (image or {}).get("Id")


def plan_image(desired, image, source_id=None, users=None):
    """How `name` comes to be (or stops being) on the host.

    `image` is the inspect document of `name` (None when missing). `source_id` is the ID the source
    is known to give without running it: the tarball's image for load, the current image when a
    check-mode registry probe showed the same digest for pull. `users` are the containers (list
    summaries) created from the image, for state absent.
    """
    plan = Plan("image", desired["name"])
    current = _image_id(image)
    name = desired["name"]
    if desired["state"] == "absent":
        if image is None:
            return plan
        # Removing by image ID removes the image itself, whatever names it has.
        others = [] if is_image_id(name) else [t for t in image.get("RepoTags") or [] if t != name]
        if users and not others and not desired["force"]:
            raise ValueError(
                "image %s is used by container(s) %s: remove them first (berth.engine.container state=absent) "
                "or set force: true to remove it anyway (like docker rmi --force; the containers are left alone)"
                % (name, ", ".join(_container_names(users))))
        plan.add("remove", reference=name, id=current, force=desired["force"])
        plan.differ("state", "present", "absent")
        plan.differ("id", current, None)
        return plan

    source = desired["source"]
    if source in ("local", "export"):
        if image is None:
            raise ValueError("image %s is not on the host and source is %s: build, load or pull it first "
                             "(source build, load or pull)" % (name, source))
        return plan
    if source == "load":
        if source_id is None:
            raise ValueError("the image ID of load_path %s is not known" % desired["load_path"])
        if current != source_id or desired["force"]:
            plan.add("load", path=desired["load_path"], expected_id=source_id, provisional=current is not None)
            if current != source_id:
                _differ_obtain(plan, image, source_id)
        return plan
    matches = platform_matches(image, desired["platform"]) if image is not None else True
    if image is not None and not desired["force"] and matches:
        return plan
    if source == "pull" and image is not None and source_id == current and matches:
        return plan  # check mode: the registry has the digest we already hold
    plan.add(source, reference=name, provisional=image is not None, platform=desired["platform"])
    _differ_obtain(plan, image, UNKNOWN_ID % source)
    if not matches:
        plan.differ("platform", image_platform(image), desired["platform"])
    return plan


def _differ_obtain(plan, image, new_id):
    if image is None:
        plan.differ("state", "absent", "present")
    plan.differ("id", _image_id(image), new_id)


def _container_names(users):
    names = []
    for summary in users:
        names.append(((summary.get("Names") or ["/" + summary.get("Id", "?")[:12]])[0]).lstrip("/"))
    return sorted(names)


def expected_image_id(plan, image):
    """The ID `name` will have after the obtain step, when known without running it (check mode)."""
    for action in plan.actions:
        if action["action"] == "load":
            return action["expected_id"]
        if action["action"] in OBTAIN_ACTIONS:
            return None
    return _image_id(image)


def references(desired):
    """Every reference the task manages: name, then the extra tags."""
    return [desired["name"]] + list(desired["tags"])


def plan_references(plan, desired, image_id, tag_ids, pushed):
    """Add tag and push actions for the image `name` points at.

    `image_id` is that image's ID, None when it is not known yet (a build or pull still to run in
    check mode): then every tag and push is predicted. `tag_ids` maps each extra tag to the image ID
    it names now (None: missing). `pushed` maps references to whether the registry already holds
    this image under them.
    """
    if desired["state"] != "present":
        return plan
    tags_before, tags_after = {}, {}
    for reference in desired["tags"]:
        current = tag_ids.get(reference)
        if image_id is None or current != image_id:
            plan.add("tag", reference=reference, source=desired["name"], provisional=image_id is None)
            tags_before[reference] = current
            tags_after[reference] = image_id or UNKNOWN_ID % "image"
    if tags_after:
        plan.differ("tags", tags_before, tags_after)
    if desired["push"]:
        push_before, push_after = {}, {}
        for reference in references(desired):
            if image_id is None or not pushed.get(reference):
                # Without the registry's answer for this very image, apply asks again after the obtain step.
                plan.add("push", reference=reference, provisional=reference not in pushed)
                push_before[reference] = "not pushed"
                push_after[reference] = "pushed"
        if push_after:
            plan.differ("pushed", push_before, push_after)
    return plan


def plan_image_state(desired, state):
    """The whole plan from what ImageResource.read gathered (see there for the keys of `state`)."""
    current = state["current"]
    plan = plan_image(desired, current, state.get("source_id"), state.get("users"))
    if desired["state"] == "present":
        image_id = expected_image_id(plan, current)
        # The registry digests read are those of the current image: they say nothing about another one.
        pushed = (state.get("pushed") or {}) if image_id and image_id == _image_id(current) else {}
        plan_references(plan, desired, image_id, state.get("tag_ids") or {}, pushed)
        if desired["source"] == "export":
            plan_export(plan, desired, image_id, state.get("archive_id"))
    return plan


def plan_export(plan, desired, image_id, archive_id):
    """Write the archive unless it holds the image `name` points at already."""
    if archive_id == image_id:
        return plan
    plan.add("export", path=desired["archive_path"], id=image_id)
    plan.differ("archive", {"path": desired["archive_path"], "id": archive_id},
                {"path": desired["archive_path"], "id": image_id})
    return plan


ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    source=dict(type="str", choices=list(SOURCES)),
    force=dict(type="bool", default=False),
    build=dict(type="dict", options=dict(
        path=dict(type="path", required=True),
        dockerfile=dict(type="str", default="Dockerfile"),
        args=dict(type="dict"),
        target=dict(type="str"),
        labels=dict(type="dict"),
        nocache=dict(type="bool", default=False),
    )),
    load_path=dict(type="path"),
    archive_path=dict(type="path"),
    platform=dict(type="str"),
    tag=dict(type="list", elements="str", default=[]),
    push=dict(type="bool", default=False),
    registry_username=dict(type="str"),
    registry_password=dict(type="str", no_log=True),
)
