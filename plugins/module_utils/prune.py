# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cleaning a host's disk: what each prune removes, predicted for check mode, and done for real.

The prediction reads the same listings the engine's prune uses (stopped containers, dangling or
unused images, unused networks and volumes, unused build cache) and applies the same filters.
"""

from __future__ import annotations

import calendar
import re
import time

from ansible_collections.berth.engine.plugins.module_utils.engine_client import endpoint

KINDS = ("containers", "images", "networks", "volumes", "build_cache")
PREDEFINED_NETWORKS = ("bridge", "host", "none", "ingress", "docker_gwbridge")
ANONYMOUS_VOLUME_LABEL = "com.docker.volume.anonymous"
_UNITS = {"s": 1, "m": 60, "h": 3600}


def until_cutoff(until, now=None):
    """An `until` filter (10m, 24h, 3600s, a UNIX timestamp or a UTC date) -> UNIX time, or None."""
    if until is None:
        return None
    text = str(until).strip()
    now = time.time() if now is None else now
    match = re.match(r"^([0-9]+)([smh])$", text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    if re.match(r"^[0-9]+(\.[0-9]+)?$", text):
        return float(text)
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})Z?$", text)
    if match:
        return calendar.timegm(time.strptime(match.group(1) + " " + match.group(2), "%Y-%m-%d %H:%M:%S"))
    raise ValueError("until must be a duration such as 10m or 24h, a UNIX timestamp or a UTC date, got %r" % until)


def engine_filters(until=None, labels=None, extra=None):
    filters = dict(extra or {})
    if until is not None:
        filters["until"] = [str(until)]
    if labels:
        filters["label"] = list(labels)
    return filters


def _label_match(item_labels, wanted):
    """The engine's label filter: `key` (present), `key=value`, `label!=...` (absent or other value)."""
    item_labels = item_labels or {}
    for expression in wanted or []:
        negate = "!=" in expression
        key, _unused, value = expression.partition("!=" if negate else "=")
        matched = key in item_labels and (not value or item_labels[key] == value)
        if matched == negate:
            return False
    return True


def _created(value):
    """Created as the listings give it: a UNIX number, or an RFC 3339 text (networks, build cache)."""
    if isinstance(value, (int, float)):
        return float(value)
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})", str(value or ""))
    if not match:
        return 0.0
    return calendar.timegm(time.strptime(match.group(1) + " " + match.group(2), "%Y-%m-%d %H:%M:%S"))


def _kept(item, labels_key, created_key, cutoff, labels):
    if not _label_match(item.get(labels_key), labels):
        return False
    return cutoff is None or _created(item.get(created_key)) < cutoff


def predict_containers(listing, cutoff, labels):
    return sorted(c["Names"][0].lstrip("/") for c in listing
                  if c.get("State") in ("exited", "created", "dead") and _kept(c, "Labels", "Created", cutoff, labels))


def predict_images(images, containers, all_unused, cutoff, labels):
    used = {c.get("ImageID") for c in containers}
    chosen = []
    for image in images:
        dangling = not [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        if image["Id"] in used or not (dangling or all_unused):
            continue
        if _kept(image, "Labels", "Created", cutoff, labels):
            chosen.append(image["Id"])
    return sorted(chosen)


def predict_networks(networks, containers, cutoff, labels):
    used = set()
    for container in containers:
        for settings in ((container.get("NetworkSettings") or {}).get("Networks") or {}).values():
            used.add(settings.get("NetworkID"))
    return sorted(n["Name"] for n in networks
                  if n["Name"] not in PREDEFINED_NETWORKS and n["Id"] not in used and n.get("Scope") != "swarm"
                  and _kept(n, "Labels", "Created", cutoff, labels))


def predict_volumes(volumes, containers, named_too, labels):
    used = {m.get("Name") for c in containers for m in c.get("Mounts") or [] if m.get("Type") == "volume"}
    return sorted(v["Name"] for v in volumes
                  if v["Name"] not in used and (named_too or ANONYMOUS_VOLUME_LABEL in (v.get("Labels") or {})
                                                or re.match(r"^[0-9a-f]{64}$", v["Name"]))
                  and _label_match(v.get("Labels"), labels))


def predict_build_cache(records, cutoff):
    return sorted(r["ID"] for r in records or []
                  if not r.get("InUse") and (cutoff is None or _created(r.get("LastUsedAt") or r.get("CreatedAt"))
                                             < cutoff))


def removed_names(kind, reply):
    """The names or IDs the engine says a prune removed, and the bytes it reclaimed."""
    reply = reply or {}
    if kind == "containers":
        names = reply.get("ContainersDeleted")
    elif kind == "images":
        names = [e.get("Deleted") for e in reply.get("ImagesDeleted") or [] if e.get("Deleted")]
    elif kind == "networks":
        names = reply.get("NetworksDeleted")
    elif kind == "volumes":
        names = reply.get("VolumesDeleted")
    else:
        names = reply.get("CachesDeleted")
    return sorted(names or []), int(reply.get("SpaceReclaimed") or 0)


def as_predicted(kind, removed, listing):
    """The engine's prune reply in the identifiers check mode predicts from `listing` (read just before the
    prune): container names for the IDs it answers, and of the images only those the listing shows (it also
    answers the layers and parents it deleted with them). Networks, volumes and build cache: as answered."""
    if kind == "containers":
        names = {c["Id"]: c["Names"][0].lstrip("/") for c in listing if c.get("Names")}
        return sorted(names.get(i, i) for i in removed)
    if kind == "images":
        shown = {image["Id"] for image in listing}
        return sorted(i for i in removed if i in shown)
    return sorted(removed)


def prune_path(kind):
    return endpoint("build", "prune") if kind == "build_cache" else endpoint(kind, "prune")
