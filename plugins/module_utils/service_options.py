# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container options of a swarm service: task parameters -> ContainerSpec/TaskTemplate values.

An option that means what the container option means is a row of the container option table
(container_options.TABLE, its `service` field): its argument spec, documentation, parser and reader come
from there, so `container`, `service` and Compose agree on what a value is. The rest are the service's own.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.container_options import (
    SERVICE_OPTIONS,
    service_argument_spec,
)
from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_healthcheck, read_env_file
from ansible_collections.berth.engine.plugins.module_utils.plan import parse_bytes, parse_int
from ansible_collections.berth.engine.plugins.module_utils.strict_input import text_map

CS = ("TaskTemplate", "ContainerSpec")


def _logging(value):
    if not value.get("driver"):
        raise ValueError("logging.driver is required (e.g. json-file, or none)")
    result = {"Name": value["driver"]}
    if value.get("options") is not None:
        result["Options"] = text_map(value["options"], "logging.options")
    return result


def _healthcheck(value):
    result = parse_healthcheck(value)
    if "Test" not in result:
        raise ValueError("healthcheck.test is required (test: [NONE] or disable: true removes the image's check)")
    return result


# The service's own container settings (container_options.SERVICE_OPTIONS says why they are not the container's).
_OWN_SETTINGS = {
    "healthcheck": (CS + ("Healthcheck",), _healthcheck, None),
    "logging": (("TaskTemplate", "LogDriver"), _logging, None),
    "max_replicas_per_node": (("TaskTemplate", "Placement", "MaxReplicas"),
                              lambda v: parse_int(v, "max_replicas_per_node", 0), None),
}
# option -> (engine path, parser, reader of the engine's value): each is written as a whole and compared as a
# whole; the shared ones as the option table's rows say.
_SETTINGS = dict({name: (field.path, field.parse, field.read) for name, field in SERVICE_OPTIONS.items()},
                 **_OWN_SETTINGS)
CONTAINER_SETTINGS = tuple((option, path, parse) for option, (path, parse, _read) in _SETTINGS.items())


def parse_container_settings(params):
    """{option: engine value} for the container options the task gives."""
    return {option: parse(params[option]) for option, _path, parse in CONTAINER_SETTINGS
            if params.get(option) is not None}


def canonical_setting(option, value):
    """The engine's value in the shape the option's parser gives, so equal means equal."""
    read = _SETTINGS[option][2] if option in _SETTINGS else None
    return read(value) if read else value


def env_with_files(params, read_text):
    """env_files (in order) and then env: the later wins, as with `docker service create --env-file`."""
    env = text_map(params.get("env"), "env")
    if not params.get("env_files"):
        return env
    merged = {}
    for path in params["env_files"]:
        merged.update(read_env_file(path, read_text))
    merged.update(env or {})
    return merged


# --- mounts ------------------------------------------------------------------------------------------

_MOUNT_OPTIONS_BY_TYPE = {"bind": ("propagation",), "volume": ("no_copy", "labels", "driver_config"),
                          "tmpfs": ("tmpfs_size", "tmpfs_mode")}


def parse_octal_mode(value, option):
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise ValueError("%s must be an octal mode such as '0440', got %r" % (option, value)) from None
    return parse_int(value, option, 0, 0o7777)


def _mount_options(mount, where):
    """BindOptions/VolumeOptions/TmpfsOptions of one mount entry, refusing options of another type."""
    kind = mount.get("type") or "volume"
    for key in ("propagation", "no_copy", "labels", "driver_config", "tmpfs_size", "tmpfs_mode"):
        if mount.get(key) not in (None, False) and key not in _MOUNT_OPTIONS_BY_TYPE[kind]:
            raise ValueError("%s.%s is for %s mounts, this one is %s" % (
                where, key, [k for k, v in _MOUNT_OPTIONS_BY_TYPE.items() if key in v][0], kind))
    options = {}
    if kind == "bind" and mount.get("propagation"):
        options["BindOptions"] = {"Propagation": mount["propagation"]}
    if kind == "volume":
        volume = {}
        if mount.get("no_copy"):
            volume["NoCopy"] = True
        if mount.get("labels"):
            volume["Labels"] = text_map(mount["labels"], where + ".labels")
        driver = mount.get("driver_config")
        if driver:
            if not driver.get("name"):
                raise ValueError("%s.driver_config.name (the volume driver) is required" % where)
            volume["DriverConfig"] = {"Name": driver["name"]}
            if driver.get("options"):
                volume["DriverConfig"]["Options"] = text_map(driver["options"], where + ".driver_config.options")
        if volume:
            options["VolumeOptions"] = volume
    if kind == "tmpfs":
        tmpfs = {}
        if mount.get("tmpfs_size") is not None:
            tmpfs["SizeBytes"] = parse_bytes(mount["tmpfs_size"], where + ".tmpfs_size")
        if mount.get("tmpfs_mode") is not None:
            tmpfs["Mode"] = parse_octal_mode(mount["tmpfs_mode"], where + ".tmpfs_mode")
        if tmpfs:
            options["TmpfsOptions"] = tmpfs
    return options


def parse_mounts(value):
    if value is None:
        return None
    result = []
    for index, mount in enumerate(value):
        where = "mounts[%d]" % index
        if not mount.get("target"):
            raise ValueError(where + ".target is required")
        kind = mount.get("type") or "volume"
        entry = {"Type": kind, "Target": mount["target"]}
        if mount.get("source"):
            entry["Source"] = mount["source"]
        elif kind == "bind":
            raise ValueError(where + " is a bind mount and needs a source path")
        if mount.get("read_only"):
            entry["ReadOnly"] = True
        entry.update(_mount_options(mount, where))
        result.append(entry)
    return sorted(result, key=lambda m: m["Target"])


MOUNT_KEYS = ("Type", "Source", "Target", "ReadOnly", "BindOptions", "VolumeOptions", "TmpfsOptions")


def canonical_mounts(value):
    """The engine's mounts with what Berth compares: empty option blocks and false flags dropped."""
    return sorted(({k: v for k, v in m.items() if k in MOUNT_KEYS and v not in (False, None, {})} for m in value),
                  key=lambda m: m.get("Target", ""))


# --- argument spec -----------------------------------------------------------------------------------

MOUNT_SPEC = dict(
    type=dict(type="str", default="volume", choices=["volume", "bind", "tmpfs"]),
    source=dict(type="str"),
    target=dict(type="str", required=True),
    read_only=dict(type="bool", default=False),
    propagation=dict(type="str", choices=["private", "rprivate", "shared", "rshared", "slave", "rslave"]),
    no_copy=dict(type="bool", default=False),
    labels=dict(type="dict"),
    driver_config=dict(type="dict", options=dict(name=dict(type="str", required=True), options=dict(type="dict"))),
    tmpfs_size=dict(type="raw"),
    tmpfs_mode=dict(type="raw"),
)

CONTAINER_ARGUMENT_SPEC = dict(
    service_argument_spec(),  # user, hosts, cap_add, ...: the option table's rows shared with the container
    logging=dict(type="dict", options=dict(driver=dict(type="str", required=True), options=dict(type="dict"))),
    env_files=dict(type="list", elements="path"),
    max_replicas_per_node=dict(type="int"),
    force_update=dict(type="bool", default=False),
)
