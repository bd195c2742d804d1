# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the image resource: read, then obtain (pull, build, load), tag, push, remove.

read() gathers all the plan needs: the image `name` names, the tarball's image ID (load), the
registry's digest for a forced pull and for pushes, the images the extra tags name, the users of
an image to remove. The plan is made once from that (image_plan.plan_image_state).

A pull, build or load only reveals the resulting image ID once it ran, so apply follows one rule:
an action the plan marked provisional is dropped when it turns out to change nothing (an obtain
step that left `name` on the same image ID, a tag that already names the result, a push of a
digest the registry already holds), and the plan's actions and diff then say what was really done.
The classic builder's cache gives the same image ID for the same input, so an unchanged rebuild
reports no change.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile

from ansible_collections.berth.engine.plugins.module_utils.engine_client import Conflict, EngineError, endpoint
from ansible_collections.berth.engine.plugins.module_utils.image_calls import (
    auth_header,
    credentials_hint,
    has_digest,
    inspect_image,
    pull_image,
    registry_credentials,
    registry_of,
    remote_digest,
    split_reference,
    uses_containerd_store,
)
from ansible_collections.berth.engine.plugins.module_utils.image_plan import (
    OBTAIN_ACTIONS,
    archive_image_id,
    build_params,
    context_archive,
    desired_image,
    expected_image_id,
    image_platform,
    plan_image,
    plan_image_state,
    platform_matches,
    references,
    tarball_image_for,
    tarball_image_id,
    tarball_images,
)
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource

OUTPUT_LINES = 200  # build output kept for the result and for failure messages


class ImageResource(Resource):
    """The image `name` (and its extra tags) on the host, pushed when asked; or `name` removed."""

    kind = "image"

    def __init__(self, client, params, check_mode=False, cache=None):
        self.output = []  # build output, for the result and for failure messages
        self._containerd_store = None
        super().__init__(client, params, check_mode, cache)

    def containerd_store(self):
        """Whether the engine keeps images in the containerd store (tarball image IDs depend on it)."""
        if self._containerd_store is None:
            self._containerd_store = uses_containerd_store(self.client.get(endpoint("info")) or {})
        return self._containerd_store

    def desire(self, params):
        return desired_image(params)

    # --- read + plan -----------------------------------------------------------------------

    def read(self, known=UNREAD):
        """{'current', 'users' (absent), 'source_id', 'tag_ids', 'pushed', 'archive_id'}: see plan_image_state."""
        desired = self.desired
        current = inspect_image(self.client, self.name) if known is UNREAD else known
        state = {"current": current, "users": [], "source_id": None, "tag_ids": {}, "pushed": {}}
        if desired["state"] == "absent":
            state["users"] = self._users(current) if current else []
            return state
        state["source_id"] = self._source_id(current)
        if desired["source"] == "export":
            state["archive_id"] = archive_image_id(desired["archive_path"], self.containerd_store())
        state["tag_ids"] = {ref: (inspect_image(self.client, ref) or {}).get("Id") for ref in desired["tags"]}
        if desired["push"] and current is not None:
            # Registry digests only matter when `name` stays on the current image (no obtain step).
            obtain = plan_image(desired, current, state["source_id"])
            if expected_image_id(obtain, current) == current["Id"]:
                state["pushed"] = self._pushed(current)
        return state

    def _source_id(self, image):
        """The image ID the source gives, when that is knowable without changing anything."""
        desired = self.desired
        if desired["source"] == "load":
            images = tarball_images(desired["load_path"])
            image = tarball_image_for(images, desired["name"], desired["load_path"])
            return tarball_image_id(image, self.containerd_store())
        if desired["source"] == "pull" and image is not None and desired["force"]:
            # A forced pull of the digest the registry serves would change nothing.
            digest = remote_digest(self.client, desired["name"], desired["username"], desired["password"])
            if digest and has_digest(image, digest):
                return image["Id"]
        return None

    def _pushed(self, image):
        """{reference: whether the registry holds this image's digest under it}."""
        return {ref: self._holds(ref, image) for ref in references(self.desired)}

    def _holds(self, reference, image):
        digest = remote_digest(self.client, reference, self.desired["username"], self.desired["password"])
        return bool(digest and has_digest(image, digest))

    def _users(self, image):
        summaries = self.client.listing("container", {"ancestor": [image["Id"]]}, all=True)
        return [s for s in summaries if s.get("ImageID") == image["Id"]]

    def plan(self, state):
        return plan_image_state(self.desired, state)

    # --- apply -----------------------------------------------------------------------------

    def apply(self, plan, state):
        if self.desired["state"] == "absent":
            self._remove(plan.actions[0], state["current"])
            return None
        image = self._obtain(plan, state["current"])
        for action in list(plan.actions):
            if action["action"] == "tag":
                if action.get("provisional") and state["tag_ids"].get(action["reference"]) == image["Id"]:
                    _drop(plan, action, "tags")
                else:
                    self._tag(image["Id"], action["reference"])
                    _settle(plan, "tags", action["reference"], image["Id"])
            elif action["action"] == "push":
                if action.get("provisional") and self._holds(action["reference"], image):
                    _drop(plan, action, "pushed")
                else:
                    self._push(action["reference"])
        if plan.has("export"):
            self._export(image["Id"])
        if plan.has("push") or plan.has("tag"):
            image = inspect_image(self.client, self.name)
        return image

    def _obtain(self, plan, image):
        """Run the plan's obtain action; drop it when the result is the image `name` already had."""
        action = next((a for a in plan.actions if a["action"] in OBTAIN_ACTIONS), None)
        if action is None:
            return image
        kind = action["action"]
        if kind == "pull":
            result = self._pull()
        elif kind == "build":
            result = self._build()
        else:
            result = self._load(action["expected_id"])
        if image is not None and result["Id"] == image["Id"]:
            plan.actions.remove(action)
            for key in ("id", "state"):
                plan.before.pop(key, None)
                plan.after.pop(key, None)
        elif "id" in plan.after:
            plan.after["id"] = result["Id"]
        return result

    def _pull(self):
        desired = self.desired
        try:
            image = pull_image(self.client, desired["name"], desired["username"], desired["password"],
                               platform=desired["platform"])
        except EngineError as err:
            raise EngineError(str(err) + credentials_hint(str(err), desired["name"], desired["username"]),
                              err.status, err.daemon_message) from None
        if not platform_matches(image, desired["platform"]):
            # Older engines pull a single-platform image of another platform with only a warning.
            raise EngineError("pulling image %s for %s gave a %s image: the registry has no %s image under that "
                              "name; push one (or a multi-platform image) or change platform"
                              % (desired["name"], desired["platform"], image_platform(image), desired["platform"]))
        return image

    def _build(self):
        """Build; the classic builder's cache does not tell platforms apart, so a cached result of another
        platform than the one asked for is built once more without the cache."""
        desired = self.desired
        image = self._run_build(params=None)
        if not platform_matches(image, desired["platform"]):
            self.output.append("(the cached result is %s, not %s: building again without the cache)"
                               % (image_platform(image), desired["platform"]))
            image = self._run_build(params={"nocache": True})
        if not platform_matches(image, desired["platform"]):
            raise EngineError("the build of %s gave a %s image, not %s: check that the base images exist for %s"
                              % (desired["name"], image_platform(image), desired["platform"], desired["platform"]))
        return image

    def _run_build(self, params):
        desired = self.desired
        build = desired["build"]
        archive, size, dockerfile_name = context_archive(build["path"], build["dockerfile"])
        built_id = []

        def collect(event):
            if "stream" in event:
                self.output.extend(line for line in event["stream"].splitlines() if line.strip())
                del self.output[:-OUTPUT_LINES]
            aux = event.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                built_id.append(aux["ID"])

        headers = {"Content-Type": "application/x-tar", "Content-Length": str(size)}
        headers.update(_registry_config(desired))
        query = build_params(desired, dockerfile_name)
        query.update(params or {})
        try:
            self.client.stream("POST", endpoint("build"), query, body=archive, raw_body=True, headers=headers,
                               on_event=collect)
        except EngineError as err:
            tail = "\n".join(self.output[-20:])
            raise EngineError("building image %s from %s failed: %s%s" % (
                desired["name"], build["path"], err.daemon_message or err,
                ("\nBuild output (last lines):\n" + tail) if tail else ""), err.status, err.daemon_message) from None
        finally:
            archive.close()
        image = inspect_image(self.client, desired["name"])
        if image is None or (built_id and image["Id"] != built_id[-1]):
            raise EngineError("the build of %s finished but the engine does not show it under that name"
                              % desired["name"])
        return image

    def _load(self, expected_id):
        path = self.desired["load_path"]
        headers = {"Content-Type": "application/x-tar", "Content-Length": str(os.path.getsize(path))}
        with open(path, "rb") as handle:
            try:
                self.client.stream("POST", endpoint("images", "load"), {"quiet": True}, body=handle, raw_body=True,
                                   headers=headers)
            except EngineError as err:
                raise EngineError("loading %s failed: %s" % (path, err.daemon_message or err),
                                  err.status, err.daemon_message) from None
        name = self.desired["name"]
        image = inspect_image(self.client, name)
        if image is None or image["Id"] != expected_id:
            # The tarball's single image carried another name (or none): give it this one.
            self._tag(expected_id, name)
            image = inspect_image(self.client, name)
        return image

    def _export(self, image_id):
        """Save `name` to a temporary file beside archive_path, check it holds image_id, then rename it over."""
        path = self.desired["archive_path"]
        directory, base = os.path.split(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(prefix="." + base + ".", suffix=".partial", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    self.client.download(endpoint("images", self.name, "get"), out)
                except EngineError as err:
                    raise EngineError("exporting image %s to %s failed: %s" % (self.name, path, err.daemon_message
                                                                               or err), err.status,
                                      err.daemon_message) from None
                out.flush()
                os.fsync(out.fileno())
            written = [tarball_image_id(image, self.containerd_store())
                       for image in tarball_images(temporary, "the exported archive")]
            if written != [image_id]:
                raise EngineError("exporting image %s to %s wrote image(s) %s, not %s (did the image change "
                                  "meanwhile?); %s was left as it was" % (self.name, path, ", ".join(written),
                                                                          image_id, path))
            os.chmod(temporary, _archive_mode(path))
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def _tag(self, image_id, reference):
        repo, tag = split_reference(reference)
        self.client.act("image", image_id, "tag", {"repo": repo, "tag": tag})

    def _push(self, reference):
        repo, tag = split_reference(reference)
        desired = self.desired
        headers = auth_header(reference, desired["username"], desired["password"]) or {
            "X-Registry-Auth": base64.urlsafe_b64encode(b"{}").decode("ascii")}
        try:
            self.client.stream("POST", endpoint("images", repo, "push"), {"tag": tag}, headers=headers)
        except EngineError as err:
            message = err.daemon_message or str(err)
            raise EngineError("pushing image %s failed: %s%s"
                              % (reference, message, credentials_hint(message, reference, desired["username"])),
                              err.status, err.daemon_message) from None

    def _remove(self, action, image):
        name = action["reference"]
        try:
            self.client.remove("image", name, {"force": action["force"]})
        except Conflict as err:
            users = _names(self._users(image))
            raise EngineError("image %s cannot be removed: %s%s" % (
                name, err.daemon_message or err,
                ("; it is used by container(s) %s: remove them first or set force: true" % ", ".join(users))
                if users else ""), err.status, err.daemon_message) from None


def _drop(plan, action, key):
    """Take a provisional action that changed nothing out of the plan, and out of its diff."""
    plan.actions.remove(action)
    for side in (plan.before, plan.after):
        side.get(key, {}).pop(action["reference"], None)
        if key in side and not side[key]:
            del side[key]


def _settle(plan, key, reference, value):
    if reference in plan.after.get(key, {}):
        plan.after[key][reference] = value


def _names(summaries):
    return sorted((s.get("Names") or ["/" + s["Id"][:12]])[0].lstrip("/") for s in summaries)


def _archive_mode(path):
    """The mode of the archive being replaced, or what a new file gets under the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _registry_config(desired):
    """X-Registry-Config for base images in the registry of `name`: the task's credentials or the stored login."""
    username, password = registry_credentials(desired["name"], desired["username"], desired["password"])
    if not username:
        return {}
    config = {registry_of(desired["name"]): {"username": username, "password": password or ""}}
    return {"X-Registry-Config": base64.urlsafe_b64encode(json.dumps(config).encode("utf-8")).decode("ascii")}
