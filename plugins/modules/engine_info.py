#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: engine_info
short_description: Report on a Docker engine and list its containers, images, networks and volumes
version_added: 0.1.0
description:
  - Returns the engine's version, API version, storage driver, cgroup driver and version, data root and more,
    for reports and assertions.
  - Optionally lists containers, images, networks and volumes, filtered like the C(docker ... ls --filter) commands.
  - Optionally reports disk usage (like C(docker system df)), and always the warnings the daemon reports about its
    own configuration (in RV(engine.warnings)).
  - Never changes anything.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  containers:
    description: List containers in RV(containers).
    type: bool
    default: false
  containers_all:
    description: List stopped containers too (like C(docker ps -a)); otherwise only running ones.
    type: bool
    default: true
  containers_filters:
    description:
      - 'Filters for the container list, for example C({"label": ["app=web"], "status": "running"}).'
      - 'Values are strings or lists of strings; a mapping such as C({"label": {"app": "web"}}) means C(label=app=web).'
    type: dict
  images:
    description: List images in RV(images).
    type: bool
    default: false
  images_filters:
    description: 'Filters for the image list, for example C({"dangling": true}) or C({"reference": "app:*"}).'
    type: dict
  networks:
    description: List networks in RV(networks).
    type: bool
    default: false
  networks_filters:
    description: 'Filters for the network list, for example C({"driver": "bridge"}).'
    type: dict
  volumes:
    description: List volumes in RV(volumes).
    type: bool
    default: false
  volumes_filters:
    description: 'Filters for the volume list, for example C({"dangling": true}).'
    type: dict
  disk_usage:
    description:
      - Report the space used by images, containers, volumes and the build cache in RV(disk_usage)
        (C(GET /system/df), like C(docker system df)).
      - Off by default, because the engine measures every container layer and volume for it, which takes long on
        hosts with many of them.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Runs the same in check mode; it never changes anything.
  diff_mode:
    support: full
    details: There is never a difference to show.
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the engine's facts
  berth.engine.engine_info:
  register: engine

- name: Require cgroup v2 and overlay2
  ansible.builtin.assert:
    that:
      - engine.engine.cgroup_version == "2"
      - engine.engine.storage_driver == "overlay2"

- name: List the containers of one application
  berth.engine.engine_info:
    containers: true
    containers_filters:
      label:
        - org.example.app=shop
  register: shop

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ shop.containers | map(attribute='Names') | flatten }}"
"""

RETURN = r"""
engine:
  description: The main facts about the engine.
  returned: always
  type: dict
  contains:
    version:
      description: Engine version.
      type: str
      sample: 20.10.24
    api_version:
      description: Newest API version the engine speaks.
      type: str
      sample: "1.41"
    min_api_version:
      description: Oldest API version the engine speaks.
      type: str
    client_api_version:
      description: API version Berth negotiated with the engine (and uses).
      type: str
    os:
      description: Operating system the engine runs on (C(linux)).
      type: str
    arch:
      description: CPU architecture.
      type: str
    kernel_version:
      description: Kernel version of the host.
      type: str
    operating_system:
      description: Host operating system name.
      type: str
    name:
      description: Host name of the engine's host.
      type: str
    storage_driver:
      description: Storage driver, such as C(overlay2).
      type: str
    cgroup_driver:
      description: Cgroup driver, C(cgroupfs) or C(systemd).
      type: str
    cgroup_version:
      description: Cgroup version, C(1) or C(2).
      type: str
    data_root:
      description: The engine's data root directory.
      type: str
      sample: /var/lib/docker
    logging_driver:
      description: Default logging driver.
      type: str
    default_runtime:
      description: Default container runtime.
      type: str
    security_options:
      description: >-
        Security features in use, such as C(name=seccomp,profile=default), C(name=apparmor), C(name=userns),
        C(name=rootless), C(name=cgroupns).
      type: list
      elements: str
    rootless:
      description: >-
        Whether the engine runs rootless (dockerd in its user's own user namespace, reached through the
        user's socket, e.g. O(docker_host=unix:///run/user/1001/docker.sock)).
      type: bool
    swarm:
      description: Swarm state of the node (C(inactive), C(active), ...).
      type: str
    ncpu:
      description: Number of CPUs.
      type: int
    mem_total:
      description: Memory of the host in bytes.
      type: int
    containers:
      description: Number of containers.
      type: int
    containers_running:
      description: Number of running containers.
      type: int
    images:
      description: Number of images.
      type: int
    warnings:
      description:
        - The warnings the daemon reports about its configuration (C(Warnings) of C(GET /info)), such as an API
          reachable without TLS or missing kernel features; an empty list when there are none.
      type: list
      elements: str
disk_usage:
  description:
    - Space used on the engine's data root, per kind of object. Sizes are in bytes.
    - C(reclaimable) is what removing the unused objects would free (like the RECLAIMABLE column of
      C(docker system df)). Images in use by a container, running containers, volumes mounted by a container and
      build cache in use are not reclaimable.
  returned: when O(disk_usage=true)
  type: dict
  contains:
    images:
      description: C(count), C(active) (used by containers), C(size) (all layers, shared ones once), C(reclaimable).
      type: dict
      sample: {count: 12, active: 3, size: 664126671, reclaimable: 401000000}
    containers:
      description: C(count), C(active) (running), C(size) (their writable layers), C(reclaimable) (of stopped ones).
      type: dict
    volumes:
      description: C(count), C(active) (used by containers), C(size), C(reclaimable) (of unused ones).
      type: dict
    build_cache:
      description: C(count), C(active) (in use), C(size) (shared records once), C(reclaimable).
      type: dict
info:
  description: The engine's full C(GET /info) document.
  returned: always
  type: dict
version:
  description: The engine's full C(GET /version) document.
  returned: always
  type: dict
containers:
  description: Containers as C(GET /containers/json) lists them.
  returned: when O(containers=true)
  type: list
  elements: dict
images:
  description: Images as C(GET /images/json) lists them.
  returned: when O(images=true)
  type: list
  elements: dict
networks:
  description: Networks as C(GET /networks) lists them.
  returned: when O(networks=true)
  type: list
  elements: dict
volumes:
  description: Volumes as C(GET /volumes) lists them.
  returned: when O(volumes=true)
  type: list
  elements: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint  # noqa: E402

ARGUMENT_SPEC = dict(
    containers=dict(type="bool", default=False),
    containers_all=dict(type="bool", default=True),
    containers_filters=dict(type="dict"),
    images=dict(type="bool", default=False),
    images_filters=dict(type="dict"),
    networks=dict(type="bool", default=False),
    networks_filters=dict(type="dict"),
    volumes=dict(type="bool", default=False),
    volumes_filters=dict(type="dict"),
    disk_usage=dict(type="bool", default=False),
)


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalise_filters(filters, option):
    """{'label': 'a=b', 'status': ['running']} -> {'label': ['a=b'], 'status': ['running']} (the API's form)."""
    if not filters:
        return None
    result = {}
    for key, value in filters.items():
        if isinstance(value, dict):
            items = ["%s=%s" % (k, _text(v)) if v is not None else str(k) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            items = []
            for item in value:
                if isinstance(item, (dict, list)):
                    raise ValueError("%s.%s must be a string or a list of strings, got %r" % (option, key, value))
                items.append(_text(item))
        elif value is None:
            raise ValueError("%s.%s has no value" % (option, key))
        else:
            items = [_text(value)]
        result[str(key)] = items
    return result


def engine_facts(version, info, client_api_version):
    return {
        "version": version.get("Version"),
        "api_version": version.get("ApiVersion"),
        "min_api_version": version.get("MinAPIVersion"),
        "client_api_version": client_api_version,
        "os": version.get("Os") or info.get("OSType"),
        "arch": version.get("Arch") or info.get("Architecture"),
        "kernel_version": info.get("KernelVersion") or version.get("KernelVersion"),
        "operating_system": info.get("OperatingSystem"),
        "name": info.get("Name"),
        "storage_driver": info.get("Driver"),
        "cgroup_driver": info.get("CgroupDriver"),
        "cgroup_version": str(info.get("CgroupVersion") or ""),
        "data_root": info.get("DockerRootDir"),
        "logging_driver": info.get("LoggingDriver"),
        "default_runtime": info.get("DefaultRuntime"),
        "security_options": info.get("SecurityOptions") or [],
        # A rootless engine lists name=rootless among its security options.
        "rootless": "name=rootless" in (info.get("SecurityOptions") or []),
        "swarm": (info.get("Swarm") or {}).get("LocalNodeState"),
        "ncpu": info.get("NCPU"),
        "mem_total": info.get("MemTotal"),
        "containers": info.get("Containers"),
        "containers_running": info.get("ContainersRunning"),
        "images": info.get("Images"),
        "warnings": list(info.get("Warnings") or []),
    }


def _size(value):
    """Sizes the engine did not compute come as -1 (or not at all): they count as 0."""
    return value if isinstance(value, int) and value > 0 else 0


def _usage(count, active, size, reclaimable):
    return {"count": count, "active": active, "size": size, "reclaimable": max(0, min(reclaimable, size))}


def disk_usage(df):
    """The summary of a GET /system/df document, per kind: count, active, size, reclaimable (bytes)."""
    images = df.get("Images") or []
    used_images = [i for i in images if (i.get("Containers") or 0) > 0]
    # A used image keeps its own layers; layers shared with other images are counted in their sizes.
    image_size = _size(df.get("LayersSize"))
    image_used = sum(_size(i.get("Size")) - _size(i.get("SharedSize")) for i in used_images)
    containers = df.get("Containers") or []
    running = [c for c in containers if c.get("State") == "running"]
    container_size = sum(_size(c.get("SizeRw")) for c in containers)
    volumes = df.get("Volumes") or []
    used_volumes = [v for v in volumes if ((v.get("UsageData") or {}).get("RefCount") or 0) > 0]
    volume_size = sum(_size((v.get("UsageData") or {}).get("Size")) for v in volumes)
    cache = df.get("BuildCache") or []
    own_cache = [b for b in cache if not b.get("Shared")]
    cache_size = sum(_size(b.get("Size")) for b in own_cache)
    return {
        "images": _usage(len(images), len(used_images), image_size, image_size - image_used),
        "containers": _usage(len(containers), len(running), container_size,
                             container_size - sum(_size(c.get("SizeRw")) for c in running)),
        "volumes": _usage(len(volumes), len(used_volumes), volume_size,
                          volume_size - sum(_size(v["UsageData"].get("Size")) for v in used_volumes)),
        "build_cache": _usage(len(cache), len([b for b in cache if b.get("InUse")]), cache_size,
                              sum(_size(b.get("Size")) for b in own_cache if not b.get("InUse"))),
    }


def main():
    module = engine_module(ARGUMENT_SPEC)
    params = module.params

    def listing(client, kind, path, extra=None):
        option = kind + "_filters"
        query = dict(extra or {}, filters=normalise_filters(params[option], option))
        try:
            return client.get(path, query)
        except EngineError as err:
            if err.status == 400:
                raise EngineError("%s were not accepted by the engine: %s" % (option, err.daemon_message or err),
                                  err.status, err.daemon_message) from None
            raise

    def report(client):
        version = client.get("/version") or {}
        info = client.get("/info") or {}
        result = dict(changed=False, engine=engine_facts(version, info, client.api_version), info=info,
                      version=version)
        if params["containers"]:
            result["containers"] = listing(client, "containers", "/containers/json",
                                           {"all": params["containers_all"]}) or []
        if params["images"]:
            result["images"] = listing(client, "images", "/images/json") or []
        if params["networks"]:
            result["networks"] = listing(client, "networks", "/networks") or []
        if params["volumes"]:
            result["volumes"] = (listing(client, "volumes", "/volumes") or {}).get("Volumes") or []
        if params["disk_usage"]:
            result["disk_usage"] = disk_usage(client.get(endpoint("system", "df")) or {})
        return result

    run(module, report)


if __name__ == "__main__":
    main()
