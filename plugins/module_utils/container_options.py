# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container option table: every option of the container module written once, as one row.

A row holds what ansible-core and the plan each need of an option: its argument spec (type, default,
choices, suboptions), its documentation, where the engine keeps it (`at`, with the parser that gives the
engine's form and the reader of `docker inspect`), whether it changes in place, and its Compose key.
Everything else is derived from the rows: ARGUMENT_SPEC (the container module, and a stack's containers
entries), the documentation (plugins/doc_fragments/container_options.py renders it for both modules),
the comparison and create body (container_plan.py), and the Compose mapping (compose.py).

A row whose option means the same for a swarm service says where the service keeps it (`service`, a
ServiceField): the service module's argument spec, documentation and comparison of that option, and the
Compose key's swarm mapping (compose_swarm.py), come from the same row (issue 22).

A new option is one row here plus its test.
"""

from __future__ import annotations

import copy
import operator

from ansible_collections.berth.engine.plugins.module_utils.container_values import (
    actual_device_requests,
    actual_mounts,
    actual_platform,
    actual_ports,
    capabilities,
    command_words,
    cpu_list,
    grace_seconds,
    int_in,
    iops_rate,
    mounts_body,
    namespace_mode,
    parse_device_requests,
    parse_devices,
    parse_exposed_ports,
    parse_extra_hosts,
    parse_gpus,
    parse_healthcheck,
    parse_mac_address,
    parse_memory_swap,
    parse_mounts,
    parse_platform,
    parse_ports,
    parse_tmpfs,
    parse_ulimits,
    platform_os,
    ports_body,
    ports_equal,
    throttle,
)
from ansible_collections.berth.engine.plugins.module_utils.plan import (
    INT64_MAX,
    as_text_list,
    as_text_map,
    parse_bytes,
    parse_cpus,
    parse_duration,
)

STATES = ("present", "started", "stopped", "absent", "restarted", "healthy", "completed")

# How a difference is fixed: in place through POST /containers/{id}/update, or by recreating.
UPDATE = "update"
RECREATE = "recreate"

# What of a row ends up in the documentation besides its description (no_log stays in the spec only).
_DOC_KEYS = ("elements", "default", "choices", "required")


class Param:
    """A module parameter: its argument spec and its documentation, written once.

    `min_api` is the oldest Engine API that honours it (older engines drop it, so a task setting it fails).
    """

    def __init__(self, name, type, doc=None, sub=None, min_api=None, **spec):  # noqa: A002 (the spec's own word)
        self.name, self.type, self.doc, self.sub, self.min_api = name, type, doc, sub, min_api
        self.spec = spec

    def argument_spec(self):
        spec = dict(self.spec, type=self.type)
        if self.sub:
            spec["options"] = {param.name: param.argument_spec() for param in self.sub}
        return spec

    def documentation(self):
        doc = {"description": self.doc, "type": self.type}
        doc.update((key, self.spec[key]) for key in _DOC_KEYS if key in self.spec)
        if self.sub:
            doc["suboptions"] = {param.name: param.documentation() for param in self.sub}
        return doc


# Where a swarm service keeps its container's settings.
CONTAINER_SPEC = ("TaskTemplate", "ContainerSpec")


class ServiceField:
    """What a container option is to a swarm service, for a row that means the same there (Option.service).

    path      below TaskTemplate.ContainerSpec, where the service spec keeps it.
    name      the service's option name, where docker_swarm_service spells it otherwise (extra_hosts: hosts).
    parse     task value -> the service spec's form (default: the container's parser).
    read      the service spec's value -> the form `parse` gives, so equal means equal (default: the container's).
    min_api   the oldest Engine API whose service spec holds it (an older engine drops it, so the task fails).
    doc       the description, only where the container's would mislead (it names a container-only option).
    note      a sentence added to the container's description for the service.
    spec      argument spec keys the service has always taken otherwise (kept, so users see no change).
    """

    def __init__(self, *path, name=None, parse=None, read=None, min_api=None, doc=None, note=None, **spec):
        self.path, self.name, self.min_api = CONTAINER_SPEC + path, name, min_api
        self.parse, self.read, self.doc, self.note, self.spec = parse, read, doc, note, spec
        self.row = None

    def bind(self, row):
        """Take what the service does not say otherwise from the container option `row`."""
        self.row, self.name = row, self.name or row.name
        self.parse, self.read = self.parse or row.parse, self.read or row.read

    def argument_spec(self):
        return dict(self.row.argument_spec(), **self.spec)

    def documentation(self):
        own = {key: self.spec[key] for key in ("type",) + _DOC_KEYS if key in self.spec}
        doc = dict(self.row.documentation(), **own)
        text = self.doc or self.row.doc
        text = [text] if isinstance(text, str) else list(text)
        if self.note:
            text.append(self.note)
        if self.min_api:
            text.append("Needs Docker Engine API %s or newer for a service; an older engine would drop it, so the "
                        "task fails instead." % self.min_api)
        doc["description"] = text if len(text) > 1 else text[0]
        return doc


class Option(Param):
    """A container option: a Param, and where it lives in the engine's documents and how it changes.

    at          "Config.Key" or "HostConfig.Key" in the create body and inspect document; without it
                (and without `actual`) the option is a parameter of the module only, never compared.
    parse       task value -> the engine's form (the default keeps the value as it is).
    desire      params -> the engine's form or None, for options made of several parameters.
    read        the value at `at` (None: `empty`) -> the value to compare, like sorted.
    empty       what the engine's null means (default: [] or {} for a list or mapping, else None).
    actual      inspect document -> the value to compare, for options not read from `at` alone.
    expected    (parsed value, image inspect document) -> the value to compare.
    body        parsed value -> what goes in the create body.
    same        (expected, actual) -> whether they match (default: equal).
    partial     the engine merges defaults into the value (the image's healthcheck, the daemon's log-opts):
                only the keys the task sets are compared.
    mode        RECREATE, or UPDATE for what POST /containers/{id}/update changes in place.
    compose     the Compose service key ("section.key" inside a mapping) that sets it, converted by
                `from_compose` (default: taken as it is).
    collection  a list or mapping: comparisons may say allow_more_present (default: from the type).
    compared_as the compared option a comparisons key of this name means (volumes -> mounts).
    conflicts   options that cannot be set together with this one.
    service     a ServiceField: the option means the same for a swarm service, kept there.
    """

    def __init__(self, name, type, at=None, parse=None, desire=None, read=None, empty=None, actual=None,  # noqa: A002
                 expected=None, body=None, same=None, partial=False, mode=RECREATE, compose=None, from_compose=None,
                 collection=None, compared_as=None, conflicts=(), service=None, **param):
        super().__init__(name, type, **param)
        self.service = service
        self.section, _dot, self.key = (at or "").partition(".")
        self.parse = parse or (lambda value: value)
        self.mode = mode
        self.compared = bool(at or actual)
        self.collection = collection if collection is not None else (
            type == "list" or (type == "dict" and not self.sub))
        self.compose, self.from_compose = compose, from_compose or (lambda value: value)
        self.compared_as, self.conflicts = compared_as, conflicts
        self._desire, self._actual, self._expected, self._body = desire, actual, expected, body
        self.same, self.partial = same or operator.eq, partial
        self.read = read or (lambda value: value)
        self.empty = empty if empty is not None else {"list": [], "dict": {}}.get(type) if not self.sub else None
        if service:
            service.bind(self)

    def desire(self, params):
        if self._desire:
            return self._desire(params)
        raw = params.get(self.name)
        return None if raw is None else self.parse(raw)

    def actual(self, container):
        if self._actual:
            return self._actual(container)
        value = (container.get(self.section) or {}).get(self.key)
        return self.read(copy.copy(self.empty) if value is None else value)

    def expected(self, desired, image):
        return self._expected(desired, image) if self._expected else desired

    def body_value(self, desired):
        return self._body(desired) if self._body else desired


def _env_list(env):
    return ["%s=%s" % (k, v) for k, v in sorted(env.items())]


def _env_dict(items):
    result = {}
    for item in items or []:
        key, _unused, value = item.partition("=")
        result[key] = value
    return result


def image_config(image):
    return (image or {}).get("Config") or {}


def memory_parser(option):
    return lambda value: parse_bytes(value, option)


def _restart_actual(container):
    policy = (container.get("HostConfig") or {}).get("RestartPolicy") or {}
    return {"Name": policy.get("Name") or "no", "MaximumRetryCount": policy.get("MaximumRetryCount") or 0}


def _same_restart(expected, actual):
    """The retry count is the engine's business unless the policy is on-failure."""
    return actual["Name"] == expected["Name"] and (
        expected["Name"] != "on-failure" or actual["MaximumRetryCount"] == expected["MaximumRetryCount"])


def _desired_restart(params):
    if params.get("restart_policy") is None:
        return None
    return {"Name": params["restart_policy"], "MaximumRetryCount": int(params.get("restart_retries") or 0)}


def _one_or_more(value):
    """Compose's `dns_search: a.test` or `[a.test, b.test]`."""
    return [value] if isinstance(value, str) else list(value)


def service_hosts(value):
    """extra hosts as the container takes them (host:ip, or {host: ip}) -> the service spec's 'ip host' lines."""
    entries = parse_extra_hosts(value)
    return sorted("%s %s" % (ip, host) for host, _sep, ip in (entry.partition(":") for entry in entries))


def _texts(values):
    return [str(value) for value in values]


COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_IMAGE_LABEL = "com.docker.compose.image"


def compose_image_label(labels, image):
    """A Compose project's container also carries its image's ID, as `docker compose up` writes it:
    Compose recreates a container whose label differs from the image it would run."""
    if COMPOSE_PROJECT_LABEL in labels and (image or {}).get("Id"):
        return dict(labels, **{COMPOSE_IMAGE_LABEL: image["Id"]})
    return labels


# The rate limits of one block device (device_read_bps rates are sizes like 10m, the iops ones whole numbers).
THROTTLE = [
    Param("path", "str", required=True, doc="Block device on the host, like C(/dev/sda)."),
    Param("rate", "str", required=True, doc="The limit."),
]

TABLE = [
    Option("name", "str", required=True,
           doc="Container name."),
    Option("image", "str",
           doc=["Image reference, for example C(registry.example.com/app:1.4). Without a tag C(:latest) is meant.",
                ("Needed only when the container may have to be created; without it an existing container keeps the "
                 "image it runs (also across a recreate), and a missing one fails saying the image is needed.")]),
    Option("state", "str", default="started",
           choices=["present", "started", "stopped", "absent", "restarted", "healthy", "completed"],
           doc=[("C(present) the container exists (created, its running state untouched; a recreate keeps it running "
                 "if it was)."),
                "C(started) it exists and runs. C(stopped) it exists and does not run. C(absent) it does not exist.",
                "C(restarted) like C(started), and restarted if this run did not already (re)start it.",
                "C(healthy) like C(started), then wait until its health check passes (O(healthy_timeout)).",
                ("C(completed) a one-shot job (a migration, an init step) run to its exit; the task fails with the "
                 "output when it exits non-zero. One that already exited 0 with the same settings is not run again.")]),
    Option("pull", "str", default="missing", choices=["missing", "always", "never"],
           doc=["C(missing) pulls the image only when the host does not have it.",
                ("C(always) asks the registry for the image's digest every run and pulls when it is not the host's "
                 "image (or the registry cannot tell); the container is recreated only if that brought a different "
                 "image. Check mode makes the same comparison without pulling."),
                "C(never) fails when the image is not on the host."]),
    Option("recreate", "str", default="auto", choices=["auto", "always", "never"],
           doc=["C(auto) recreates when the image or an option that cannot change in place differs.",
                "C(always) recreates every run. C(never) keeps the container and warns about the differences."]),
    Option("registry_username", "str",
           doc=["User name for the registry of O(image), for pulls.",
                ("When not given, the login stored for that registry by M(berth.engine.login) is used, if there is "
                 "one.")]),
    Option("registry_password", "str", no_log=True,
           doc="Password or token for O(registry_username)."),
    Option("command", "raw", at="Config.Cmd", parse=lambda v: command_words(v, "command"),
           empty=[],
           doc=["Command (arguments to the entrypoint), as a list or a string split like a shell would.",
                "An empty list means the image's own command, as the engine fills it in."]),
    Option("entrypoint", "raw", at="Config.Entrypoint", parse=lambda v: command_words(v, "entrypoint"),
           empty=[],
           doc="Entrypoint, as a list or a string split like a shell would."),
    Option("env", "dict", at="Config.Env", parse=lambda v: as_text_map(v, "env"),
           read=_env_dict,
           expected=lambda d, img: dict(_env_dict(image_config(img).get("Env")), **d), body=_env_list,
           doc="Environment variables. Values are turned into strings (booleans as C(true)/C(false))."),
    Option("labels", "dict", at="Config.Labels", parse=lambda v: as_text_map(v, "labels"),
           expected=lambda d, img: dict(image_config(img).get("Labels") or {}, **compose_image_label(d, img)),
           doc="Labels. Labels from the image are kept and never count as a difference."),
    Option("ports", "list", elements="str", at="HostConfig.PortBindings", parse=parse_ports, actual=actual_ports,
           body=ports_body, same=ports_equal,
           doc=["Published ports as C([ip:][host_port:]container_port[/tcp|udp|sctp]). Ranges like C(8000-8001:80-81).",
                ("A host range to one container port, like C(127.0.0.1:8000-8010:80), lets the engine bind one free "
                 "port of the range; any port bound inside the range counts as matching."),
                "Without a host port the engine picks one. IPv6 addresses go in brackets, C([::1]:8080:80)."]),
    Option("mounts", "list", elements="dict", at="HostConfig.Mounts", actual=actual_mounts, body=mounts_body,
           desire=lambda p: parse_mounts(p.get("mounts"), p.get("volumes")),
           sub=[
               Param("type", "str", default="volume", choices=["bind", "volume", "tmpfs"],
                     doc="Mount type."),
               Param("source", "str",
                     doc="Host path (bind) or volume name (volume; empty for an anonymous volume)."),
               Param("target", "str", required=True,
                     doc="Path in the container."),
               Param("read_only", "bool", default=False,
                     doc="Mount read-only."),
               Param("create_host_path", "bool", default=False,
                     doc=[("For a bind mount, create a missing source directory on the host instead of failing (like "
                           "the short syntax of O(volumes) and C(docker run -v); C(docker --mount) refuses a missing "
                           "source)."),
                          ("The berth.engine.stack module checks and creates bind sources before it changes anything, "
                           "and only when the engine runs on the managed host (a unix socket).")]),
           ],
           doc=["Mounts, each a bind mount, a named or anonymous volume, or a tmpfs.",
                ("With O(mounts) or O(volumes) set, the container mounts exactly these (plus the image's own VOLUME "
                 "paths). An anonymous volume removed from the task is unmounted by a recreate; the volume itself is "
                 "kept.")]),
    Option("volumes", "list", elements="str", compared_as="mounts",
           doc=[("Short form of O(mounts), C([source:]target[:ro|rw]). A source starting with C(/) is a bind mount, "
                 "anything else a named volume.")]),
    Option("tmpfs", "list", elements="str", at="HostConfig.Tmpfs", parse=parse_tmpfs,
           empty={},
           doc="tmpfs mounts as C(/path[:options]), for example C(/run:size=64m)."),
    Option("networks", "list", elements="dict",
           sub=[
               Param("name", "str", required=True,
                     doc="Network name."),
               Param("aliases", "list", elements="raw",
                     doc="DNS aliases on this network (strings; a YAML boolean or decimal number is refused)."),
               Param("ipv4_address", "str",
                     doc="Static IPv4 address (the network needs a configured subnet)."),
               Param("ipv6_address", "str",
                     doc="Static IPv6 address."),
           ],
           doc=[("Networks to attach, in order. When set, the container is attached to exactly these networks; "
                 "membership, aliases and static addresses are fixed in place without a recreate."),
                "Static addresses and aliases are kept when the container is recreated.",
                ("An empty list means no user networks; the container stays on the network it was created on (the "
                 "default bridge).")]),
    Option("network_mode", "str", at="HostConfig.NetworkMode", parse=str,
           doc="C(bridge), C(host), C(none), C(container:NAME) or a network name."),
    Option("restart_policy", "str", choices=["no", "always", "on-failure", "unless-stopped"],
           at="HostConfig.RestartPolicy", mode=UPDATE, actual=_restart_actual, desire=_desired_restart,
           same=_same_restart,
           doc="Restart policy; changes in place."),
    Option("restart_retries", "int", compared_as="restart_policy",
           doc="Maximum restarts with O(restart_policy=on-failure)."),
    Option("healthcheck", "dict", at="Config.Healthcheck", parse=parse_healthcheck, partial=True,
           sub=[
               Param("test", "raw",
                     doc="A string (run by a shell) or a list (C(CMD) form)."),
               Param("interval", "str",
                     doc="Time between checks, like C(30s)."),
               Param("timeout", "str",
                     doc="Time one check may take."),
               Param("retries", "int",
                     doc="Consecutive failures before the container is unhealthy."),
               Param("start_period", "str",
                     doc="Grace period after start."),
               Param("start_interval", "str", min_api="1.44",
                     doc=("Time between checks during O(healthcheck.start_period), like C(2s). Needs Docker Engine 25 "
                          "(API 1.44) or newer; an older engine would drop it, so the task fails instead.")),
               Param("disable", "bool", default=False,
                     doc="Disable the image's health check."),
           ],
           doc="Health check; keys you leave out keep the image's values."),
    Option("healthy_timeout", "int", default=60,
           doc="Seconds to wait for O(state=healthy), or for a O(state=completed) container to exit."),
    Option("user", "str", at="Config.User", parse=str, compose="user", service=ServiceField("User"),
           doc="User (and group) the process runs as."),
    Option("working_dir", "str", at="Config.WorkingDir", parse=str, compose="working_dir", service=ServiceField("Dir"),
           doc="Working directory."),
    Option("hostname", "str", at="Config.Hostname", parse=str, compose="hostname",
           service=ServiceField("Hostname", note="For a service, the engine's templates work: C(web-{{.Task.Slot}})."),
           doc="Container host name."),
    Option("init", "bool", at="HostConfig.Init", parse=bool,
           read=bool, compose="init", service=ServiceField("Init"),
           doc="Run an init process (docker-init) as PID 1."),
    Option("stop_signal", "str", at="Config.StopSignal", parse=str, compose="stop_signal",
           service=ServiceField("StopSignal"),
           doc="Signal that stops the container."),
    Option("stop_timeout", "int", at="Config.StopTimeout", parse=int,
           doc="Seconds to wait after the stop signal before killing; also used when this module stops it."),
    Option("stop_grace_period", "str", at="Config.StopTimeout", parse=grace_seconds, compose="stop_grace_period",
           conflicts=("stop_timeout",),
           # A service keeps nanoseconds (no whole-second truncation) and has no stop_timeout; a number is seconds.
           service=ServiceField("StopGracePeriod", parse=lambda v: parse_duration(v, "stop_grace_period"), type="raw",
                                doc=("Time the engine waits after the stop signal before it kills the task, a "
                                     "duration like C(1m30s) or a number of seconds.")),
           doc=("O(stop_timeout) as Compose spells it, a duration like C(1m30s) (whole seconds count; the engine "
                "stores seconds). Not with O(stop_timeout).")),
    Option("memory", "str", at="HostConfig.Memory", parse=memory_parser("memory"), mode=UPDATE,
           doc="Memory limit like C(512m) or C(1g); changes in place."),
    Option("memory_reservation", "str", at="HostConfig.MemoryReservation", parse=memory_parser("memory_reservation"),
           mode=UPDATE,
           doc="Soft memory limit; changes in place."),
    Option("cpus", "float", at="HostConfig.NanoCpus", parse=parse_cpus, mode=UPDATE,
           doc="Number of CPUs, like C(1.5); changes in place."),
    Option("cpu_shares", "int", at="HostConfig.CpuShares", parse=int, mode=UPDATE,
           doc="Relative CPU weight; changes in place."),
    Option("pids_limit", "int", at="HostConfig.PidsLimit", parse=int, mode=UPDATE,
           empty=0, compose="pids_limit",
           doc="Maximum number of processes; changes in place."),
    Option("ulimits", "list", elements="str", at="HostConfig.Ulimits", parse=parse_ulimits,
           read=lambda v: sorted(v, key=lambda u: u["Name"]), service=ServiceField("Ulimits"),
           doc="Limits as C(name=soft[:hard]), for example C(nofile=1024:2048)."),
    Option("cap_add", "list", elements="str", at="HostConfig.CapAdd", parse=capabilities,
           read=capabilities, compose="cap_add", service=ServiceField("CapabilityAdd"),
           doc="Capabilities to add, with or without the C(CAP_) prefix."),
    Option("cap_drop", "list", elements="str", at="HostConfig.CapDrop", parse=capabilities,
           read=capabilities, compose="cap_drop", service=ServiceField("CapabilityDrop"),
           doc="Capabilities to drop."),
    Option("privileged", "bool", at="HostConfig.Privileged", parse=bool, compose="privileged",
           doc=[("Give the container every capability and device. Fails with a clear message on hosts whose "
                 "capability bounding set is incomplete (hosts that are themselves containers); use O(cap_add) "
                 "there.")]),
    Option("read_only", "bool", at="HostConfig.ReadonlyRootfs", parse=bool, compose="read_only",
           service=ServiceField("ReadOnly"),
           doc="Mount the root filesystem read-only."),
    Option("security_opt", "list", elements="str", at="HostConfig.SecurityOpt", parse=sorted,
           read=sorted, compose="security_opt",
           doc="Security options, like C(no-new-privileges) or C(seccomp=unconfined)."),
    Option("devices", "list", elements="str", at="HostConfig.Devices", parse=parse_devices,
           read=lambda v: sorted(v, key=lambda d: d.get("PathInContainer", "")),
           compose="devices",
           doc="Host devices as C(/dev/host[:/dev/container[:rwm]])."),
    Option("sysctls", "dict", at="HostConfig.Sysctls", parse=lambda v: as_text_map(v, "sysctls"),
           service=ServiceField("Sysctls"),
           doc="Namespaced kernel parameters."),
    Option("dns", "list", elements="str", at="HostConfig.Dns", parse=lambda v: [str(x) for x in v],
           compose="dns", from_compose=_one_or_more, service=ServiceField("DNSConfig", "Nameservers"),
           doc="DNS servers."),
    Option("extra_hosts", "raw", at="HostConfig.ExtraHosts", parse=parse_extra_hosts, collection=True,
           read=sorted, empty=[],
           # docker_swarm_service's name; the service spec holds "ip host" lines
           service=ServiceField("Hosts", name="hosts", parse=service_hosts,
                                note="A service's spec holds them as the engine's C(ip host) lines."),
           doc="Extra C(/etc/hosts) entries, as a mapping of host to IP or a list of C(host:ip)."),
    Option("log_driver", "str", at="HostConfig.LogConfig", parse=str,
           read=lambda v: (v or {}).get("Type"),
           doc="Logging driver."),
    Option("log_options", "dict", at="HostConfig.LogConfig", parse=lambda v: as_text_map(v, "log_options"),
           read=lambda v: (v or {}).get("Config") or {}, partial=True,
           doc=[("Logging driver options. Only the keys given are compared, against the effective values (the engine "
                 "adds the daemon's C(log-opts) to the container's).")]),
    Option("cgroupns_mode", "str", choices=["host", "private"], at="HostConfig.CgroupnsMode", parse=str,
           doc="Cgroup namespace mode."),
    Option("output_logs", "bool", default=False,
           doc=["Return the container's recent output in RV(logs).",
                "M(berth.engine.stack) returns no output; there it has no effect."]),
    Option("env_file", "path", compared_as="env",
           doc=[("A file on the managed host with C(KEY=VALUE) lines, read as Docker Compose reads an env_file "
                 "(C(export KEY=v), quotes, escapes in double quotes, C(#) comments, C(${VAR}) of keys defined "
                 "earlier in the file, C($$) for a literal C($); an unset C($VAR) is refused, never blanked). "
                 "Merged under O(env) (a variable in both takes the O(env) value). Compared as part of O(env).")]),
    Option("shm_size", "str", at="HostConfig.ShmSize", parse=memory_parser("shm_size"), compose="shm_size",
           doc="Size of C(/dev/shm), like C(256m); compared in bytes. Changing it recreates the container."),
    Option("tty", "bool", at="Config.Tty", parse=bool, read=bool, service=ServiceField("TTY"),
           compose="tty",
           doc="Allocate a pseudo-TTY (C(docker run -t))."),
    Option("interactive", "bool", at="Config.OpenStdin", parse=bool,
           read=bool, compose="stdin_open",
           doc="Keep stdin open (C(docker run -i))."),
    Option("pid_mode", "str", at="HostConfig.PidMode", parse=namespace_mode("pid_mode"), compose="pid",
           doc="PID namespace, C(host) or C(container:NAME)."),
    Option("ipc_mode", "str", at="HostConfig.IpcMode", parse=namespace_mode("ipc_mode"), compose="ipc",
           doc="IPC namespace, C(none), C(private), C(shareable), C(host) or C(container:NAME)."),
    Option("userns_mode", "str", at="HostConfig.UsernsMode", parse=namespace_mode("userns_mode"),
           compose="userns_mode",
           doc=["User namespace, C(host) to opt out of the daemon's user namespace remapping.",
                "C('') is the engine's default (the daemon's remapping); it takes a container set to C(host) back."]),
    Option("uts", "str", at="HostConfig.UTSMode", parse=namespace_mode("uts"), compose="uts",
           doc="UTS namespace, C(host); C('') (the engine's default, a private one) takes a container back."),
    Option("memory_swap", "str", at="HostConfig.MemorySwap", parse=parse_memory_swap, mode=UPDATE,
           compose="memswap_limit",
           doc=["Memory plus swap, like C(1g), or C(-1) for unlimited swap; needs O(memory). Changes in place.",
                "Without it a change of O(memory) sets it to twice the memory, as the engine does at create."]),
    Option("memory_swappiness", "int", at="HostConfig.MemorySwappiness", parse=int_in("memory_swappiness", 0, 100),
           compose="mem_swappiness",
           doc=["Swappiness of the container's memory, 0 to 100.",
                ("cgroup v1 hosts only; on cgroup v2 the engine discards it, so there it is not compared (with a "
                 "warning).")]),
    Option("cpuset_cpus", "str", at="HostConfig.CpusetCpus", parse=cpu_list("cpuset_cpus"), mode=UPDATE,
           compose="cpuset",
           doc="CPUs the container may use, like C(0-2,4); changes in place."),
    Option("cpuset_mems", "str", at="HostConfig.CpusetMems", parse=cpu_list("cpuset_mems"), mode=UPDATE,
           doc="Memory nodes the container may use, like C(0,1); changes in place."),
    Option("cpu_period", "int", at="HostConfig.CpuPeriod", parse=int_in("cpu_period", 1000, 1000000, also=(0,)),
           mode=UPDATE, compose="cpu_period",
           doc="CFS period in microseconds, 1000 to 1000000 (0 for the default); changes in place. Not with O(cpus)."),
    Option("cpu_quota", "int", at="HostConfig.CpuQuota", parse=int_in("cpu_quota", 1000, INT64_MAX, also=(0, -1)),
           mode=UPDATE, compose="cpu_quota",
           doc="CFS quota in microseconds per O(cpu_period), at least 1000 (0 or -1 for none); changes in place."),
    Option("blkio_weight", "int", at="HostConfig.BlkioWeight", parse=int_in("blkio_weight", 10, 1000, also=(0,)),
           mode=UPDATE, compose="blkio_config.weight",
           doc=["Relative block IO weight, 10 to 1000 (0 for the default); changes in place.",
                ("Needs an engine that can apply it, on cgroup v2 with C(io.weight) or on cgroup v1 with a Linux "
                 "older than 5.0 (C(blkio.weight)). Elsewhere the engine discards it, so there it is not compared "
                 "(with a warning).")]),
    Option("oom_score_adj", "int", at="HostConfig.OomScoreAdj", parse=int_in("oom_score_adj", -1000, 1000),
           compose="oom_score_adj", service=ServiceField("OomScoreAdj", min_api="1.46"),
           doc="OOM score adjustment, -1000 to 1000."),
    Option("oom_killer", "bool", at="HostConfig.OomKillDisable", parse=bool,
           read=operator.not_, body=lambda v: not v,
           compose="oom_kill_disable", from_compose=operator.not_,
           doc="C(false) keeps the kernel's OOM killer away from the container (the engine's C(OomKillDisable))."),
    Option("groups", "list", elements="str", at="HostConfig.GroupAdd",
           parse=lambda v: sorted(as_text_list(v, "groups")),
           read=sorted, compose="group_add", service=ServiceField("Groups"),
           doc="Additional groups the container's process runs with."),
    Option("domainname", "str", at="Config.Domainname", parse=str, compose="domainname",
           doc="Container NIS domain name."),
    Option("mac_address", "str", at="Config.MacAddress", parse=parse_mac_address,
           read=lambda v: (v or "").lower(), compose="mac_address",
           doc="MAC address of the container on its first network, like C(02:42:ac:11:00:02); compared lower-case."),
    Option("dns_search", "list", elements="str", at="HostConfig.DnsSearch",
           parse=lambda v: as_text_list(v, "dns_search"),
           compose="dns_search", from_compose=_one_or_more, service=ServiceField("DNSConfig", "Search"),
           doc="DNS search domains."),
    Option("dns_options", "list", elements="str", at="HostConfig.DnsOptions",
           parse=lambda v: sorted(set(as_text_list(v, "dns_options"))),
           read=lambda v: sorted(set(v)), compose="dns_opt", service=ServiceField("DNSConfig", "Options"),
           doc="DNS resolver options, like C(ndots:2); compared as a set (their order does not matter)."),
    Option("publish_all_ports", "bool", at="HostConfig.PublishAllPorts", parse=bool,
           read=bool,
           doc="Publish every exposed port on a random host port."),
    Option("exposed_ports", "list", elements="str", at="Config.ExposedPorts", parse=parse_exposed_ports,
           read=sorted,
           body=lambda v: {port: {} for port in v}, compose="expose", from_compose=_texts,
           doc=[("Ports to expose without publishing them, as C(port[-port][/tcp|udp|sctp]). The image's exposed "
                 "ports and the published O(ports) are exposed too and never count as a difference.")]),
    Option("volumes_from", "list", elements="str", at="HostConfig.VolumesFrom",
           parse=lambda v: as_text_list(v, "volumes_from"),
           doc="Containers whose volumes to mount, as C(NAME[:ro|rw])."),
    Option("auto_remove", "bool", at="HostConfig.AutoRemove", parse=bool,
           read=bool,
           doc=[("The engine removes the container when it stops. Not with O(restart_policy). Such a container cannot "
                 "be stopped aside for a safe recreate, so a recreate that fails cannot roll back.")]),
    Option("runtime", "str", at="HostConfig.Runtime", parse=str, compose="runtime",
           doc="OCI runtime, like C(runc) or a runtime configured in the daemon (C(berth_daemon_config.runtimes))."),
    Option("platform", "str", parse=parse_platform, actual=actual_platform, expected=lambda d, img: platform_os(d),
           compose="platform",
           doc=[("Platform of the image to create the container from, like C(linux/amd64) (the create call's "
                 "C(platform))."),
                ("The engine keeps only the OS; the architecture is the image's, so a different image is a recreate "
                 "anyway."),
                "An architecture alone, like C(amd64) or C(arm64/v8), means the engine's own OS (C(linux))."]),
    Option("gpus", "str", at="HostConfig.DeviceRequests", parse=parse_gpus, actual=actual_device_requests,
           collection=True,
           doc=[("GPUs as C(docker run --gpus) takes them, C(all), a count like C(2), or fields like C(device=0,1) or "
                 "C(count=2,capabilities=compute,utility) (C(driver=nvidia) optional)."),
                ("Needs the NVIDIA container runtime on the host, configured through the runtime role's "
                 "C(berth_daemon_config.runtimes); without it the container is created, but fails to start."),
                "The long form is O(device_requests); only one of the two may be set."]),
    Option("device_requests", "list", elements="dict", at="HostConfig.DeviceRequests", parse=parse_device_requests,
           actual=actual_device_requests,
           sub=[
               Param("driver", "str",
                     doc="Device driver, like C(nvidia); empty picks the one that offers the capabilities."),
               Param("count", "int",
                     doc="Number of devices, -1 for all. Not with O(device_requests[].device_ids)."),
               Param("device_ids", "list", elements="str",
                     doc="IDs (or UUIDs) of the devices."),
               Param("capabilities", "list", elements="str",
                     doc="Capabilities the devices must have, all of them; C([gpu]) when not set."),
               Param("options", "dict",
                     doc="Driver options."),
           ],
           doc=[("Device requests to device drivers (GPUs), the long form of O(gpus); see O(gpus) for what the host "
                 "needs.")]),
    Option("device_read_bps", "list", elements="dict", at="HostConfig.BlkioDeviceReadBps",
           parse=throttle("device_read_bps", memory_parser("device_read_bps rate")),
           compose="blkio_config.device_read_bps",
           sub=THROTTLE,
           doc="Read rate limits per block device; the rate is bytes per second like C(10m)."),
    Option("device_write_bps", "list", elements="dict", at="HostConfig.BlkioDeviceWriteBps",
           parse=throttle("device_write_bps", memory_parser("device_write_bps rate")),
           compose="blkio_config.device_write_bps",
           sub=THROTTLE,
           doc="Write rate limits per block device; the rate is bytes per second like C(10m)."),
    Option("device_read_iops", "list", elements="dict", at="HostConfig.BlkioDeviceReadIOps",
           parse=throttle("device_read_iops", iops_rate("device_read_iops")),
           compose="blkio_config.device_read_iops",
           sub=THROTTLE,
           doc="Read limits per block device in IO operations per second (a whole number)."),
    Option("device_write_iops", "list", elements="dict", at="HostConfig.BlkioDeviceWriteIOps",
           parse=throttle("device_write_iops", iops_rate("device_write_iops")),
           compose="blkio_config.device_write_iops",
           sub=THROTTLE,
           doc="Write limits per block device in IO operations per second (a whole number)."),
    Option("cgroup_parent", "str", at="HostConfig.CgroupParent", parse=str, compose="cgroup_parent",
           doc="Parent cgroup of the container."),
    Option("storage_opt", "dict", at="HostConfig.StorageOpt", parse=lambda v: as_text_map(v, "storage_opt"),
           compose="storage_opt",
           doc="Storage driver options, like C(size=10G) (overlay2 on xfs with pquota only)."),
    Option("comparisons", "dict",
           doc=[("For containers that other tools change too, how each option is compared. Keys are option names "
                 "(O(volumes) counts as O(mounts), O(env_file) as O(env)), O(networks), or C(*) for all of them."),
                ("C(strict) (the default) the container must match what the task sets. C(ignore) the option is never "
                 "compared (it is still used when the container is created)."),
                ("C(allow_more_present), for lists and mappings (O(env), O(labels), O(ports), O(mounts), O(networks), "
                 "O(cap_add), O(dns), O(extra_hosts) ...), entries in the container that the task does not list are "
                 "not a difference; with C(*) the other options stay C(strict)."),
                "Options that are not set are never compared, whatever this says."]),

]

TABLE_BY_NAME = {row.name: row for row in TABLE}
# The container module's options; the stack module validates each of its containers with the same spec.
ARGUMENT_SPEC = {row.name: row.argument_spec() for row in TABLE}
# The options compared with the container, in the order the plan reports them.
OPTIONS = [row for row in TABLE if row.compared]
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
# Options holding lists or mappings: comparisons may allow_more_present for them (and for networks).
COLLECTION_OPTIONS = frozenset([option.name for option in OPTIONS if option.collection] + ["networks"])
# The module parameters a comparisons key may name for the option they are compared as.
COMPARED_AS = {row.name: row.compared_as for row in TABLE if row.compared_as}
# Compose service key ("section.key" inside a mapping) -> the option it sets.
COMPOSE_KEYS = {option.compose: option for option in TABLE if getattr(option, "compose", None)}


def documentation():
    """The options' documentation, as a module's DOCUMENTATION `options` holds it."""
    return {row.name: row.documentation() for row in TABLE}


# The container options a swarm service shares, by the service's option name. The service's other options
# stay in service_plan.py/service_options.py because they mean something else for a service:
# - command is the entrypoint there (args the command); env and container_labels are compared as a whole or
#   by key, without the image's values the container's comparison merges in;
# - mounts, networks and ports are the swarm's (volume driver options, overlay attachments with driver options,
#   ingress or host publishing on every node), restart_policy, limits/reservations and the update and rollback
#   configs the orchestrator's (TaskTemplate.RestartPolicy and Resources, not HostConfig);
# - healthcheck is written whole (test required unless it removes the image's check), where the container's
#   keeps the image's values for the keys left out; logging is one LogDriver object compared whole, where the
#   container has log_driver and partially compared log_options; env_files is a list where the container has
#   one env_file;
# - max_replicas_per_node, force_update and the modes have no container counterpart.
SERVICE_OPTIONS = {row.service.name: row.service for row in TABLE if row.service}


def service_argument_spec():
    return {name: field.argument_spec() for name, field in SERVICE_OPTIONS.items()}


def service_documentation():
    """The shared options' documentation for the service module (plugins/doc_fragments/container_options.py)."""
    return {name: field.documentation() for name, field in SERVICE_OPTIONS.items()}


def service_api_versions(params):
    """{option: oldest API version that honours it in a service spec} for what `params` sets."""
    return {name: field.min_api for name, field in SERVICE_OPTIONS.items()
            if field.min_api and params.get(name) is not None}


def _version(text):
    return tuple(int(part) for part in str(text).split("."))


def refuse_older_api(what, needs_api, api_version):
    """Fail naming the option when the engine is too old to honour one the task sets (it would drop it)."""
    for path, oldest in sorted((needs_api or {}).items()):
        if api_version and _version(api_version) < _version(oldest):
            raise ValueError("%s: %s needs Docker Engine API %s or newer, but the engine speaks %s; "
                             "upgrade the engine or leave %s out" % (what, path, oldest, api_version, path))


def _params_with_min_api(rows, params, prefix=""):
    for row in rows:
        value = (params or {}).get(row.name)
        if value is None:
            continue
        if row.min_api:
            yield prefix + row.name, row.min_api
        if row.sub and isinstance(value, dict):
            yield from _params_with_min_api(row.sub, value, prefix + row.name + ".")


def required_api_versions(params):
    """{option path: oldest API version that honours it} for what `params` sets (healthcheck.start_interval)."""
    return dict(_params_with_min_api(TABLE, params))
