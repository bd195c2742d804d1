# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image engine calls shared by the container, image and stack modules."""

from __future__ import annotations

import base64
import json
import re

from ansible_collections.berth.engine.plugins.module_utils.credentials import stored_credentials
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint


def split_reference(reference):
    """'host:5000/app:1.2' -> ('host:5000/app', '1.2'); digests keep their '@'."""
    if "@" in reference:
        name, digest = reference.split("@", 1)
        return name, digest
    head, _unused, last = reference.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return (head + "/" + last if head else last), tag
    return reference, "latest"


def registry_of(reference):
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def registry_credentials(reference, username=None, password=None):
    """(username, password) for the registry of `reference`: the task's, else berth.engine.login's stored ones.

    An unreadable docker config or a failing credential helper counts as no stored login: a pull of a
    public image must not fail over it, and a registry that wants credentials says so (credentials_hint).
    """
    if username:
        return username, password
    try:
        stored = stored_credentials(registry_of(reference))
    except (ValueError, OSError):
        return None, None
    return stored if stored[0] else (None, None)


def auth_header(reference, username, password):
    """X-Registry-Auth for the registry of `reference`; the stored login when no username is given."""
    username, password = registry_credentials(reference, username, password)
    if not username:
        return {}
    auth = {"username": username, "password": password or "", "serveraddress": registry_of(reference)}
    encoded = base64.urlsafe_b64encode(json.dumps(auth).encode("utf-8")).decode("ascii")
    return {"X-Registry-Auth": encoded}


# An image ID as the engine prints it: sha256:<64 hex>, or the bare 64 hex digits.
_IMAGE_ID_RE = re.compile(r"^(?:sha256:)?[0-9a-fA-F]{64}$")


def is_image_id(value):
    """Whether `value` is a full image ID (which names a local image and can never be pulled)."""
    return bool(_IMAGE_ID_RE.match(str(value or "").strip()))


def inspect_image(client, reference):
    return client.inspect("image", reference)


CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"


def uses_containerd_store(info):
    """Whether the engine whose GET /info answer is `info` keeps images in containerd's image store,
    where an image ID is its manifest's (or index's) digest, not its config's."""
    return ["driver-type", CONTAINERD_SNAPSHOTTER] in (info.get("DriverStatus") or [])


def pull_image(client, reference, username=None, password=None, timeout=None, platform=None):
    """Pull to the end of the stream (for `platform`, os/arch[/variant], when given); returns its inspect document."""
    if is_image_id(reference):
        raise EngineError("image %s is an image ID, which names a local image and cannot be pulled: build or load "
                          "that image first, or use a name:tag reference" % reference)
    name, tag = split_reference(reference)
    try:
        client.stream("POST", endpoint("images", "create"), {"fromImage": name, "tag": tag, "platform": platform},
                      headers=auth_header(reference, username, password), timeout=timeout)
    except EngineError as err:
        raise EngineError("pulling image %s failed: %s" % (reference, err), err.status, err.daemon_message) from None
    image = inspect_image(client, reference)
    if image is None:
        raise EngineError("image %s was pulled but the engine does not show it" % reference)
    return image


def remote_digest(client, reference, username=None, password=None):
    """The registry's digest for a reference, without pulling (for exact check mode); None if unknown."""
    try:
        info = client.get(endpoint("distribution", reference, "json"),
                          headers=auth_header(reference, username, password))
    except EngineError:
        return None
    return ((info or {}).get("Descriptor") or {}).get("digest")


def credentials_hint(message, reference, username=None):
    """A sentence to append to a failed pull or push when the registry asked for or refused credentials."""
    text = (message or "").lower()
    registry = registry_of(reference)
    stored = not username and registry_credentials(reference)[0] is not None
    if stored and (_refused(text) or "no basic auth credentials" in text):
        return (" (the registry %s refused the login stored by berth.engine.login: log in again, or set "
                "registry_username and registry_password)" % registry)
    if "no basic auth credentials" in text or (_refused(text) and not username):
        return (" (the registry %s wants credentials: set registry_username and registry_password, or log in "
                "once with berth.engine.login)" % registry)
    if _refused(text):
        return (" (the registry %s refused the credentials: check registry_username and registry_password)"
                % registry)
    return ""


def _refused(text):
    return any(word in text for word in ("unauthorized", "authentication required", "denied"))


def has_digest(image, digest):
    return any(d.endswith("@" + digest) for d in (image or {}).get("RepoDigests") or [])


def content_digests(image):
    """The digests an image inspect document names its content by: its ID, descriptor and repo digests."""
    image = image or {}
    digests = {d.rpartition("@")[2] for d in image.get("RepoDigests") or []}
    digests.add(image.get("Id"))
    digests.add((image.get("Descriptor") or {}).get("digest"))
    return digests - {None, ""}


def origin_unknown(image):
    """True when the image store does not record whether an image came from a registry.

    The containerd image store (an ID that is the manifest's digest, or a Descriptor, API 1.48+) gives
    every tag a repo digest, pulled, built or loaded alike; the classic store gives repo digests only
    to images pulled or pushed, and an ID that is the config's digest, never a manifest's.
    """
    image = image or {}
    repo_digests = {d.rpartition("@")[2] for d in image.get("RepoDigests") or []}
    return bool(image.get("Descriptor")) or image.get("Id") in repo_digests
