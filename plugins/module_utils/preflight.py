# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pre-flight of a stack: everything that cannot work, found before the first change (issue 19).

A stack run either reaches the declared state or leaves the host as it was. So before any network,
volume or container is created, removed or recreated, the stack checks every image reference, resolves
every image (and pulls, in parallel, those the containers' plans would pull: a pulled image changes
nothing users see, and the containers are then given it rather than pulling it), every bind source on the
host, every published host port and every new network's subnet, and reports every problem at once,
one message per item. The decisions are the pure functions below (unit-tested without a daemon);
run_stack_preflight() feeds them from the stack's one listing per kind, so a run with nothing to
create costs no extra engine call. Host checks (bind sources, the bind() probe of a port) only mean
something when the engine runs on this host (a unix socket); with a tcp:// engine they are skipped.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError

# States in which a container runs, so publishes its ports.
PUBLISHING_STATES = ("started", "restarted", "healthy", "completed")
WILDCARDS = ("", "0.0.0.0", "::")

# The image reference grammar of distribution/reference: [domain[:port]/]path[:tag][@digest].
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = r"(?:%s(?:\.%s)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_NAME = r"(?:%s/)?%s(?:/%s)*" % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT)
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(r"^(?P<name>%s)(?::%s)?(?:@%s)?$" % (_NAME, _TAG, _DIGEST))


# --- image references --------------------------------------------------------------------------

def reference_problem(reference):
    """Why `reference` is not a valid image reference, or None when it is."""
    match = _REFERENCE.match(reference or "")
    if match and len(match.group("name")) <= 255:
        return None
    if match:
        return "its name is longer than 255 characters"
    if reference.endswith((":", "@")):
        return "it ends with %r and no tag or digest after it" % reference[-1]
    path = _repository_path(reference)
    if path != path.lower():
        return "the repository name must be lowercase"
    return "it is not of the form [registry[:port]/]name[:tag][@digest]"


def _repository_path(reference):
    """The repository path of a reference: without its registry, tag and digest."""
    name = reference.split("@", 1)[0]
    first, _unused, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def image_reference_problems(kind, wanted):
    """{name: message} for the items whose image reference is invalid; `wanted` is {name: reference}."""
    problems = {}
    for name, reference in sorted(wanted.items()):
        cause = reference_problem(reference) if reference else None
        if cause:
            problems[name] = ("%s %s: image reference %r is not valid: %s; write it as "
                              "[registry[:port]/]name[:tag][@digest], e.g. busybox:1.36"
                              % (kind, name, reference, cause))
    return problems


# --- host ports ----------------------------------------------------------------------------------

def requested_ports(ports):
    """[(ip, port, proto)] of the fixed host ports in a parsed `ports` value (container_plan.parse_ports).

    A host port range for one container port is left out: the engine picks a free port of it.
    """
    requests = []
    for key, bindings in sorted((ports or {}).items()):
        proto = key.split("/", 1)[1] if "/" in key else "tcp"
        for ip, host_port in bindings:
            if host_port and host_port.isdigit():
                requests.append((ip or "", int(host_port), proto))
    return requests


def listed_ports(listing):
    """{(ip, port, proto): [container names]} of the host ports that containers of the listing publish."""
    held = {}
    for entry in listing or []:
        name = ((entry.get("Names") or ["?"])[0]).lstrip("/")
        for port in entry.get("Ports") or []:
            if port.get("PublicPort"):
                address = (port.get("IP") or "", int(port["PublicPort"]), port.get("Type") or "tcp")
                held.setdefault(address, []).append(name)
    return held


def addresses_overlap(first, second):
    """Two (ip, port, proto) collide: same port and protocol, and the same IP or a wildcard on either side."""
    return first[1:] == second[1:] and (first[0] == second[0] or first[0] in WILDCARDS or second[0] in WILDCARDS)


def describe_address(address):
    ip, port, proto = address
    return "%s%s/%s" % ("[%s]:" % ip if ":" in ip else ("%s:" % ip if ip else ""), port, proto)


def port_problems(requests, held):
    """({container: message}, {container: [unheld addresses]}) for the declared containers' host ports.

    `requests` is {container: [(ip, port, proto)]} of the containers that will run; `held` is
    listed_ports() of the engine's listing. A port the same container publishes already is fine (it
    keeps it, or its replacement takes it over); one another container publishes, or another declared
    container asks for too, is a problem. The unheld ones are for probe_port() on a local engine.
    """
    problems, unheld = {}, {}
    claimed = []  # (address, container) of the declared containers, in name order
    for name in sorted(requests):
        causes = []
        for address in requests[name]:
            others = sorted({holder for spot, holders in held.items() if addresses_overlap(address, spot)
                             for holder in holders if holder != name})
            mine = any(addresses_overlap(address, spot) and name in holders for spot, holders in held.items())
            twice = sorted({other for spot, other in claimed if other != name and addresses_overlap(address, spot)})
            where = describe_address(address)
            if others:
                causes.append("host port %s is published by container %s" % (where, ", ".join(others)))
            elif twice:
                causes.append("host port %s is also declared by container %s" % (where, ", ".join(twice)))
            elif not mine:
                unheld.setdefault(name, []).append(address)
            claimed.append((address, name))
        if causes:
            problems[name] = "container %s: %s: free it (stop or remove that container) or publish another " \
                             "port" % (name, "; ".join(causes))
    return problems, unheld


def probe_port(address):
    """True when a process on this host holds `address` (bind() says it is in use); False otherwise.

    Never called for a port a container publishes: the engine's userland proxy holds those.
    """
    ip, port, proto = address
    if proto not in ("tcp", "udp"):
        return False
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    try:
        probe = socket.socket(family, kind)
    except OSError:
        return False
    try:
        if proto == "tcp":  # a port in TIME_WAIT is free for the engine too
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        return False
    except OSError as err:
        return err.errno == errno.EADDRINUSE
    finally:
        probe.close()


def busy_port_problems(unheld, probe=probe_port):
    """{container: message} for the unheld host ports a process on this host holds (probe())."""
    problems = {}
    for name in sorted(unheld):
        busy = [describe_address(a) for a in unheld[name] if probe(a)]
        if busy:
            problems[name] = ("container %s: host port %s is in use by a process on the host (not a container): "
                              "stop that process or publish another port" % (name, ", ".join(busy)))
    return problems


# --- bind sources --------------------------------------------------------------------------------

def bind_sources(params):
    """[(source, create)] of a container entry's bind mounts: create says a missing source is created.

    The short syntax (`volumes: [/src:/dst]`, like `docker run -v`) creates it; `mounts` of type bind
    only with create_host_path (like `docker --mount`, which refuses a missing source).
    """
    sources = []
    for mount in params.get("mounts") or []:
        if (mount.get("type") or "volume") == "bind" and mount.get("source"):
            sources.append((mount["source"], bool(mount.get("create_host_path"))))
    for spec in params.get("volumes") or []:
        source, colon, _unused = str(spec).partition(":")
        if colon and source.startswith("/"):
            sources.append((source, True))
    return sources


def path_state(path):
    """'present', 'missing', or why the path cannot be used (permission, a file on the way)."""
    try:
        os.stat(path)
        return "present"
    except FileNotFoundError:
        return "missing"
    except OSError as err:
        return err.strerror or str(err)


def creatable(path, state=path_state, access=os.access):
    """Why the missing directory `path` cannot be created, or None: its nearest existing ancestor decides."""
    parent = os.path.dirname(path.rstrip("/")) or "/"
    while state(parent) == "missing" and parent != "/":
        parent = os.path.dirname(parent) or "/"
    if not os.path.isdir(parent):
        return "%s is not a directory" % parent
    if not access(parent, os.W_OK | os.X_OK):
        return "%s is not writable by the user the module runs as" % parent
    return None


def bind_problems(containers, state=path_state, can_create=creatable):
    """({container: message}, {container: [paths to create]}) for the bind sources of `containers`.

    `containers` is {name: [(source, create)]} (bind_sources()).
    """
    problems, to_create = {}, {}
    for name in sorted(containers):
        causes = []
        for source, create in containers[name]:
            found = state(source)
            if found == "present":
                continue
            if found != "missing":
                causes.append("bind source %s cannot be used: %s" % (source, found))
            elif not create:
                causes.append("bind source %s does not exist: create it, or set create_host_path: true on the "
                              "mount (Compose: bind.create_host_path: true, or the short syntax)" % source)
            else:
                why = can_create(source)
                if why:
                    causes.append("bind source %s does not exist and cannot be created (%s)" % (source, why))
                elif source not in to_create.setdefault(name, []):
                    to_create[name].append(source)
        if causes:
            problems[name] = "container %s: %s" % (name, "; ".join(causes))
    return problems, {n: paths for n, paths in to_create.items() if paths}


# --- network subnets -----------------------------------------------------------------------------

def listed_subnets(listing):
    """{network name: [subnets]} of the engine's network listing (its IPAM config)."""
    return {entry.get("Name"): [c["Subnet"] for c in ((entry.get("IPAM") or {}).get("Config") or [])
                                if c.get("Subnet")]
            for entry in listing or []}


def subnet_problems(to_create, existing):
    """{network: message} for networks to create whose subnet overlaps an existing or another new one.

    `to_create` and `existing` are {name: [subnets]}.
    """
    problems = {}
    seen = dict(existing)
    for name in sorted(to_create):
        causes = ["subnet %s overlaps %s of network %s" % (subnet, theirs, other)
                  for subnet in to_create[name] for other, theirs in _overlapping(subnet, seen) if other != name]
        if causes:
            problems[name] = "network %s: %s: choose a subnet no other network uses" % (name, "; ".join(causes))
        seen[name] = to_create[name]
    return problems


def _overlapping(subnet, networks):
    """[(network, its subnet)] of `networks` ({name: [subnets]}) that overlap `subnet`."""
    mine = ipaddress.ip_network(subnet, strict=False)
    found = []
    for other in sorted(networks):
        for theirs in networks[other]:
            try:
                network = ipaddress.ip_network(theirs, strict=False)
            except ValueError:  # whatever the engine holds that we cannot read cannot be compared
                continue
            if network.version == mine.version and network.overlaps(mine):
                found.append((other, theirs))
    return found


# --- results -------------------------------------------------------------------------------------

def with_bind_actions(results, created):
    """The containers' results with the bind sources the pre-flight created (or would create) added."""
    for name, paths in created.items():
        entry = results.setdefault(name, {"changed": False, "actions": []})
        actions = list(entry.get("actions") or [])
        entry["actions"] = actions if actions[:1] == ["create_bind_source"] else ["create_bind_source"] + actions
        entry["changed"] = True
        entry["bind_sources_created"] = list(paths)
    return results


def merge_problems(*groups):
    """{name: message} of several checks, one message per item (causes joined)."""
    merged = {}
    for group in groups:
        for name, message in group.items():
            prefix = message.split(": ", 1)
            merged[name] = merged[name] + "; " + prefix[-1] if name in merged else message
    return merged


# --- the run ------------------------------------------------------------------------------------

def engine_is_local(client):
    return str(getattr(client, "docker_host", "") or "").startswith("unix://")


def run_stack_preflight(stack, items, known, listing):
    """{(kind, name): message} for everything that cannot work; creates the missing short-syntax bind sources.

    `listing` holds the stack's listings ("containers": container listing, "networks": network listing).
    Images are resolved here, all in parallel, so that a pull failure stops the run before any change.
    """
    containers = [r for r in items["containers"] if r.desired["state"] != "absent"]
    references = image_reference_problems("container", {r.name: r.desired.get("image") for r in containers})
    subnets = subnet_problems(
        {r.name: [c["subnet"] for c in r.desired["config"].get("ipam_config") or []]
         for r in items["networks"] if known["networks"].get(r.name) is None and r.desired["state"] == "present"},
        listed_subnets(listing["networks"]))
    running = {r.name: requested_ports(r.desired["values"].get("ports"))
               for r in containers if r.desired["state"] in PUBLISHING_STATES}
    ports, unheld = port_problems({n: p for n, p in running.items() if p}, listed_ports(listing["containers"]))
    local = engine_is_local(stack.client)
    binds, to_create = bind_problems({r.name: bind_sources(r.params) for r in containers}) if local else ({}, {})
    busy = busy_port_problems({n: a for n, a in unheld.items() if n not in ports}) if local else {}
    images = _resolve_images(stack, [r for r in containers if r.name not in references and r.desired.get("image")])
    problems = {("containers", n): m for n, m in merge_problems(references, ports, busy, binds, images).items()}
    problems.update({("networks", n): m for n, m in subnets.items()})
    if not problems:
        stack.bind_sources_created = _create_bind_sources(to_create, stack.check_mode, problems)
    return problems


def prepare_bind_sources(client, params, check_mode):
    """The container module's bind sources, checked and the missing allowed ones created: [created paths].

    Raises ValueError naming what cannot work, before the container is touched.
    """
    if (params.get("state") or "started") == "absent" or not engine_is_local(client):
        return []
    name = params["name"]
    problems, to_create = bind_problems({name: bind_sources(params)})
    errors = {}
    created = {} if problems else _create_bind_sources(to_create, check_mode, errors)
    if problems or errors:
        raise ValueError((problems.get(name) or errors[("containers", name)]).split(": ", 1)[-1])
    return created.get(name, [])


def _resolve_images(stack, containers):
    """{container: message} for the images that cannot be obtained; the others go into stack.images.

    Each image (reference and pull mode) is resolved, and outside check mode pulled, once, all in
    parallel (ContainerResource.obtain_image); what the stack already knows (check mode: images its
    image items would build or pull) is not asked again. Each container's read() is given the outcome.
    """
    def obtain(resource):
        try:
            return resource.obtain_image()
        except EngineError as err:
            message, prefix = str(err), "container %s: " % resource.name
            return EngineError(message[len(prefix):] if message.startswith(prefix) else message)

    unique = {}
    for resource in containers:  # one resolve per image and pull mode; the others share its outcome
        if resource.image_key() not in stack.images:
            unique.setdefault(resource.image_key(), resource)
    with ThreadPoolExecutor(stack.parallel) as pool:
        outcome = dict(zip(unique, pool.map(obtain, unique.values())))
    stack.images.update({key: found for key, found in outcome.items() if not isinstance(found, EngineError)})
    return {resource.name: "container %s: %s" % (resource.name, outcome[resource.image_key()])
            for resource in containers if isinstance(outcome.get(resource.image_key()), EngineError)}


def _create_bind_sources(to_create, check_mode, problems):
    """Create the missing short-syntax bind sources (not in check mode); {container: [paths]}."""
    created = {}
    for name, paths in sorted(to_create.items()):
        for path in paths:
            try:
                if not check_mode:
                    os.makedirs(path, mode=0o755, exist_ok=True)
                created.setdefault(name, []).append(path)
            except OSError as err:
                problems[("containers", name)] = "container %s: creating bind source %s failed: %s" % (
                    name, path, err.strerror or err)
    return created
