#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: prune
short_description: Reclaim a host's disk from stopped containers, unused images, networks, volumes and build cache
version_added: 0.2.0
description:
  - Removes what nothing uses, kind by kind, only for the kinds you switch on, in this order - stopped containers,
    images, networks, volumes, build cache. A container removed first no longer holds its image or network.
  - Volumes hold data, so they are pruned only when O(volumes=true) is given by name; and then only anonymous
    volumes, unless O(volumes_named=true).
  - Reports what was removed per kind and the space reclaimed. In check mode it lists what would go, read from the
    same listings and filters the engine uses.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  containers:
    description: Remove stopped (exited, created, dead) containers.
    type: bool
    default: false
  images:
    description: Remove dangling images (untagged and unused); with O(images_all=true) every image no container uses.
    type: bool
    default: false
  images_all:
    description: With O(images=true), remove every unused image, not only dangling ones.
    type: bool
    default: false
  networks:
    description: Remove user networks no container is connected to.
    type: bool
    default: false
  volumes:
    description: Remove anonymous volumes no container uses. Their data is deleted.
    type: bool
    default: false
  volumes_named:
    description: With O(volumes=true), remove unused named volumes too. Their data is deleted.
    type: bool
    default: false
  build_cache:
    description: Remove build cache that is not in use.
    type: bool
    default: false
  until:
    description:
      - Only what was created before this long ago (C(10m), C(24h), C(3600s)), or before a UNIX timestamp or UTC date.
      - Does not apply to volumes (the engine has no such filter for them).
    type: str
  labels:
    description: Only objects whose labels match every entry, C(key), C(key=value) or C(key!=value).
    type: list
    elements: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Weekly clean-up of a CI runner
  berth.engine.prune:
    containers: true
    images: true
    images_all: true
    build_cache: true
    until: 24h

- name: Drop anonymous volumes of this project's old containers
  berth.engine.prune:
    volumes: true
    labels: [com.docker.compose.project=shop]
"""

RETURN = r"""
removed:
  description: Per kind switched on, the names (containers, networks, volumes) or IDs (images, build cache) removed,
    or that would be removed in check mode.
  returned: always
  type: dict
  sample: {containers: [old-job-1], images: ["sha256:4f2a..."]}
space_reclaimed:
  description: Bytes the engine reports it freed (0 in check mode).
  returned: always
  type: int
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.engine_client import Conflict, endpoint  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.prune import (  # noqa: E402
    KINDS,
    as_predicted,
    engine_filters,
    predict_build_cache,
    predict_containers,
    predict_images,
    predict_networks,
    predict_volumes,
    prune_path,
    removed_names,
    until_cutoff,
)

ARGUMENT_SPEC = dict(
    containers=dict(type="bool", default=False),
    images=dict(type="bool", default=False),
    images_all=dict(type="bool", default=False),
    networks=dict(type="bool", default=False),
    volumes=dict(type="bool", default=False),
    volumes_named=dict(type="bool", default=False),
    build_cache=dict(type="bool", default=False),
    until=dict(type="str"),
    labels=dict(type="list", elements="str"),
)


def predict(client, params, cutoff):
    """{kind: [what a prune would remove]}, kinds in prune order; earlier removals free later ones."""
    labels = params["labels"]
    containers = client.listing("container", all=True)
    removed = {}
    if params["containers"]:
        removed["containers"] = predict_containers(containers, cutoff, labels)
        gone = set(removed["containers"])
        containers = [c for c in containers if c["Names"][0].lstrip("/") not in gone]
    if params["images"]:
        removed["images"] = predict_images(client.listing("image", all=False), containers, params["images_all"],
                                           cutoff, labels)
    if params["networks"]:
        removed["networks"] = predict_networks(client.listing("network"), containers, cutoff, labels)
    if params["volumes"]:
        volumes = (client.get(endpoint("volumes")) or {}).get("Volumes") or []
        removed["volumes"] = predict_volumes(volumes, containers, params["volumes_named"], labels)
    if params["build_cache"]:
        records = (client.get(endpoint("system", "df"), {"type": "build-cache"}) or {}).get("BuildCache")
        removed["build_cache"] = predict_build_cache(records, cutoff)
    return removed


def prune_volumes(client, params):
    """Volumes one by one from the prediction: the engine's own volume prune removes named volumes too
    before API 1.42 and only anonymous ones after, so its meaning depends on the daemon's version."""
    containers = client.listing("container", all=True)
    volumes = (client.get(endpoint("volumes")) or {}).get("Volumes") or []
    sizes = {v["Name"]: ((v.get("UsageData") or {}).get("Size") or 0)
             for v in (client.get(endpoint("system", "df")) or {}).get("Volumes") or []}
    removed, reclaimed = [], 0
    for name in predict_volumes(volumes, containers, params["volumes_named"], params["labels"]):
        try:
            client.remove("volume", name)
        except Conflict:  # a container started using it since the listing: it is not unused any more
            continue
        removed.append(name)
        reclaimed += max(0, sizes.get(name) or 0)
    return removed, reclaimed


def prune(client, params):
    removed, reclaimed = {}, 0
    for kind in KINDS:
        if not params[kind]:
            continue
        if kind == "volumes":
            removed[kind], space = prune_volumes(client, params)
        else:
            extra = {"dangling": ["false" if params["images_all"] else "true"]} if kind == "images" else {}
            listing = client.listing(kind[:-1], all=kind == "containers") if kind in ("containers", "images") else []
            reply = client.post(prune_path(kind), {"filters": engine_filters(params["until"], params["labels"], extra)},
                                timeout=max(client.timeout, 600))
            names, space = removed_names(kind, reply)
            removed[kind] = as_predicted(kind, names, listing)
        reclaimed += space
    return removed, reclaimed


def main():
    module = engine_module(ARGUMENT_SPEC)
    params = module.params

    def clean(client):
        cutoff = until_cutoff(params["until"])
        if not any(params[kind] for kind in KINDS):
            raise ValueError("prune: switch on at least one of %s" % ", ".join(KINDS))
        if module.check_mode:
            removed, reclaimed = predict(client, params, cutoff), 0
        else:
            removed, reclaimed = prune(client, params)
        return dict(changed=any(removed.values()), removed=removed, space_reclaimed=reclaimed)

    run(module, clean)


if __name__ == "__main__":
    main()
