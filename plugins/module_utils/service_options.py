# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container options of a swarm service: task parameters -> ContainerSpec/TaskTemplate values.

An option that means what the container option of the same name means is parsed by the container's
own parser (container_options, container_values), so `container`, `service` and Compose agree on what a value is.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.container_options import OPTIONS_BY_NAME
from ansible_collections.berth.engine.plugins.module_utils.container_values import parse_healthcheck, read_env_file
from ansible_collections.berth.engine.plugins.module_utils.plan import parse_bytes, parse_duration, parse_int
from ansible_collections.berth.engine.plugins.module_utils.strict_input import text_map

CS = ("TaskTemplate", "ContainerSpec")
DNS = CS + ("DNSConfig",)


def container_parser(name):
    """The container module's parser of option `name` (one definition for both resources)."""
    return OPTIONS_BY_NAME[name].parse


def _hosts(value):
    """extra hosts as the container takes them (host:ip, or {host: ip}) -> the service's 'ip host' lines."""
    entries = container_parser("extra_hosts")(value)
    return sorted("%s %s" % (ip, host) for host, _sep, ip in (e.partition(":") for e in entries))


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


# option -> (engine path, parser): each is written as a whole and compared as a whole.
CONTAINER_SETTINGS = (
    ("user", CS + ("User",), container_parser("user")),
    ("working_dir", CS + ("Dir",), container_parser("working_dir")),
    ("hostname", CS + ("Hostname",), container_parser("hostname")),
    ("init", CS + ("Init",), container_parser("init")),
    ("tty", CS + ("TTY",), container_parser("tty")),
    ("read_only", CS + ("ReadOnly",), container_parser("read_only")),
    ("groups", CS + ("Groups",), container_parser("groups")),
    ("hosts", CS + ("Hosts",), _hosts),
    ("dns", DNS + ("Nameservers",), container_parser("dns")),
    ("dns_search", DNS + ("Search",), container_parser("dns_search")),
    ("dns_options", DNS + ("Options",), container_parser("dns_options")),
    ("cap_add", CS + ("CapabilityAdd",), container_parser("cap_add")),
    ("cap_drop", CS + ("CapabilityDrop",), container_parser("cap_drop")),
    ("stop_signal", CS + ("StopSignal",), container_parser("stop_signal")),
    ("stop_grace_period", CS + ("StopGracePeriod",), lambda v: parse_duration(v, "stop_grace_period")),
    ("sysctls", CS + ("Sysctls",), container_parser("sysctls")),
    ("ulimits", CS + ("Ulimits",), container_parser("ulimits")),
    ("healthcheck", CS + ("Healthcheck",), _healthcheck),
    ("logging", ("TaskTemplate", "LogDriver"), _logging),
    ("max_replicas_per_node", ("TaskTemplate", "Placement", "MaxReplicas"),
     lambda v: parse_int(v, "max_replicas_per_node", 0)),
)
# How the engine's value is put in the shape the parser gives, so equal means equal.
SORTED_SETTINGS = frozenset(["groups", "hosts", "cap_add", "cap_drop"])


def parse_container_settings(params):
    """{option: engine value} for the container options the task gives."""
    return {option: parse(params[option]) for option, _path, parse in CONTAINER_SETTINGS
            if params.get(option) is not None}


def canonical_setting(option, value):
    if option in SORTED_SETTINGS:
        return sorted(value)
    if option == "ulimits":
        return sorted(value, key=lambda u: u.get("Name", ""))
    return value


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
    user=dict(type="str"),
    working_dir=dict(type="str"),
    hostname=dict(type="str"),
    init=dict(type="bool"),
    tty=dict(type="bool"),
    read_only=dict(type="bool"),
    groups=dict(type="list", elements="str"),
    hosts=dict(type="raw"),
    dns=dict(type="list", elements="str"),
    dns_search=dict(type="list", elements="str"),
    dns_options=dict(type="list", elements="str"),
    cap_add=dict(type="list", elements="str"),
    cap_drop=dict(type="list", elements="str"),
    stop_signal=dict(type="str"),
    stop_grace_period=dict(type="raw"),
    sysctls=dict(type="dict"),
    ulimits=dict(type="list", elements="str"),
    logging=dict(type="dict", options=dict(driver=dict(type="str", required=True), options=dict(type="dict"))),
    env_files=dict(type="list", elements="path"),
    max_replicas_per_node=dict(type="int"),
    force_update=dict(type="bool", default=False),
)
