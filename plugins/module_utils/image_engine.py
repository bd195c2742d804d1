# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin part of the image resource: read, obtain (pull, build, load), tag, push, remove.

converge_image() reads the engine, plans (image_plan), and unless in check mode applies. Builds,
pulls and loads of an image that already existed count as a change only when they leave `name`
on a different image ID: the classic builder's cache gives the same ID for the same input.
"""

from __future__ import annotations

import base64
import json
import os

from ansible_collections.berth.engine.plugins.module_utils.engine import Conflict, EngineError, quote_path
from ansible_collections.berth.engine.plugins.module_utils.image_plan import (
    OBTAIN_ACTIONS,
    build_params,
    context_archive,
    desired_image,
    expected_image_id,
    plan_image,
    plan_references,
    references,
    tarball_image_for,
    tarball_images,
)
from ansible_collections.berth.engine.plugins.module_utils.images import (
    auth_header,
    has_digest,
    inspect_image,
    pull_image,
    registry_of,
    remote_digest,
    split_reference,
)

OUTPUT_LINES = 200  # build output kept for the result and for failure messages


class ImageConverger:
    def __init__(self, client, params, check_mode=False):
        self.client = client
        self.desired = desired_image(params)
        self.check_mode = check_mode
        self.output = []

    # --- read + plan -----------------------------------------------------------------------

    def converge(self, image=None, read=True):
        desired = self.desired
        if read:
            image = inspect_image(self.client, desired["name"])
        if desired["state"] == "absent":
            users = self._users(image) if image else []
            plan = plan_image(desired, image, users=users)
            if plan.actions and not self.check_mode:
                self._remove(plan.actions[0], image)
                return plan, None
            return plan, image

        plan = plan_image(desired, image, source_id=self._source_id(image))
        if self.check_mode:
            image_id = expected_image_id(plan, image)
        else:
            image = self._obtain(plan, image)
            image_id = image["Id"]
        tag_ids = {ref: (inspect_image(self.client, ref) or {}).get("Id") for ref in desired["tags"]}
        pushed = self._pushed(image if image_id and image and image["Id"] == image_id else None)
        plan_references(plan, desired, image_id, tag_ids, pushed)
        if self.check_mode:
            return plan, image
        for action in plan.actions:
            if action["action"] == "tag":
                self._tag(image["Id"], action["reference"])
            elif action["action"] == "push":
                self._push(action["reference"])
        if plan.has("push") or plan.has("tag"):
            image = inspect_image(self.client, desired["name"])
        return plan, image

    def _source_id(self, image):
        """The image ID the source gives, when that is knowable without changing anything."""
        desired = self.desired
        if desired["source"] == "load":
            images = tarball_images(desired["load_path"])
            return tarball_image_for(images, desired["name"], desired["load_path"])["id"]
        if desired["source"] == "pull" and image is not None and desired["force"] and self.check_mode:
            digest = remote_digest(self.client, desired["name"], desired["username"], desired["password"])
            if digest and has_digest(image, digest):
                return image["Id"]
        return None

    def _pushed(self, image):
        """{reference: True} for references the registry already holds with this image's digest."""
        if not self.desired["push"] or image is None:
            return {}
        pushed = {}
        for reference in references(self.desired):
            digest = remote_digest(self.client, reference, self.desired["username"], self.desired["password"])
            pushed[reference] = bool(digest and has_digest(image, digest))
        return pushed

    def _users(self, image):
        summaries = self.client.get("/containers/json", {"all": True, "filters": {"ancestor": [image["Id"]]}}) or []
        return [s for s in summaries if s.get("ImageID") == image["Id"]]

    # --- apply -----------------------------------------------------------------------------

    def _obtain(self, plan, image):
        """Run the plan's obtain action; drop it when the result is the image `name` already had."""
        action = next((a for a in plan.actions if a["action"] in OBTAIN_ACTIONS), None)
        if action is None:
            return image
        kind = action["action"]
        if kind == "pull":
            desired = self.desired
            try:
                result = pull_image(self.client, desired["name"], desired["username"], desired["password"])
            except EngineError as err:
                raise EngineError(str(err) + _credentials_hint(str(err), desired["name"]),
                                  err.status, err.daemon_message) from None
        elif kind == "build":
            result = self._build()
        else:
            result = self._load(action["expected_id"])
        if image is not None and result["Id"] == image["Id"]:
            plan.actions.remove(action)
            plan.before.pop("id", None)
            plan.after.pop("id", None)
            plan.before.pop("state", None)
            plan.after.pop("state", None)
        elif "id" in plan.after:
            plan.after["id"] = result["Id"]
        return result

    def _build(self):
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
        try:
            self.client.stream("POST", "/build", build_params(desired, dockerfile_name), body=archive,
                               raw_body=True, headers=headers, on_event=collect)
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
                self.client.stream("POST", "/images/load", {"quiet": True}, body=handle, raw_body=True,
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

    def _tag(self, image_id, reference):
        repo, tag = split_reference(reference)
        self.client.post("/images/%s/tag" % quote_path(image_id), {"repo": repo, "tag": tag})

    def _push(self, reference):
        repo, tag = split_reference(reference)
        desired = self.desired
        headers = auth_header(reference, desired["username"], desired["password"]) or {
            "X-Registry-Auth": base64.urlsafe_b64encode(b"{}").decode("ascii")}
        try:
            self.client.stream("POST", "/images/%s/push" % quote_path(repo), {"tag": tag}, headers=headers)
        except EngineError as err:
            message = err.daemon_message or str(err)
            raise EngineError("pushing image %s failed: %s%s"
                              % (reference, message, _credentials_hint(message, reference)),
                              err.status, err.daemon_message) from None

    def _remove(self, action, image):
        name = action["reference"]
        try:
            self.client.delete("/images/%s" % quote_path(name), {"force": action["force"]}, missing_ok=True)
        except Conflict as err:
            users = _names(self._users(image))
            raise EngineError("image %s cannot be removed: %s%s" % (
                name, err.daemon_message or err,
                ("; it is used by container(s) %s: remove them first or set force: true" % ", ".join(users))
                if users else ""), err.status, err.daemon_message) from None


def _credentials_hint(message, reference):
    if "no basic auth credentials" in message.lower():
        return " (the registry %s wants credentials: set registry_username and registry_password)" % (
            registry_of(reference))
    if any(word in message.lower() for word in ("unauthorized", "authentication required", "denied")):
        return (" (the registry %s refused the credentials: check registry_username and registry_password)"
                % registry_of(reference))
    return ""


def _names(summaries):
    return sorted((s.get("Names") or ["/" + s["Id"][:12]])[0].lstrip("/") for s in summaries)


def _registry_config(desired):
    """X-Registry-Config for base images in the registry of `name`, when credentials are given."""
    if not desired["username"]:
        return {}
    config = {registry_of(desired["name"]): {"username": desired["username"], "password": desired["password"] or ""}}
    return {"X-Registry-Config": base64.urlsafe_b64encode(json.dumps(config).encode("utf-8")).decode("ascii")}


def converge_image(client, params, check_mode=False, actual=None, read=True):
    """Plan, and apply unless check_mode. Returns (plan, image inspect document or None)."""
    return ImageConverger(client, params, check_mode).converge(actual, read=read)
