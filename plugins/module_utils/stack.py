# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a named set of images, networks, volumes and containers in one task, on the one contract.

Every item is a Resource (resource.py) built from its entry: read (with `known` from the stack's
one listing of each kind), planned, and applied by a bounded pool of workers: networks and volumes
first (images to build or pull before them), containers in depends_on waves. A Compose document is
translated into the same entries first (compose.py), so it is planned by the same rules. One item's
failure is reported by name and does not stop the others (except the containers that depend on it).
The pure parts (validation of the declared set, waves, prune selection, results) are functions at the
bottom, unit-tested without a daemon.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import os
import pwd
import re
import stat
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.berth.engine.plugins.module_utils.container_plan import (
    ARGUMENT_SPEC as CONTAINER_SPEC,
)
from ansible_collections.berth.engine.plugins.module_utils.container_plan import image_reference
from ansible_collections.berth.engine.plugins.module_utils.container_recovery import aside_of
from ansible_collections.berth.engine.plugins.module_utils.container_resource import (
    ContainerResource,
    converge_container,
)
from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.image_calls import inspect_image
from ansible_collections.berth.engine.plugins.module_utils.image_plan import ARGUMENT_SPEC as IMAGE_SPEC
from ansible_collections.berth.engine.plugins.module_utils.image_resource import ImageResource
from ansible_collections.berth.engine.plugins.module_utils.network_plan import ARGUMENT_SPEC as NETWORK_SPEC
from ansible_collections.berth.engine.plugins.module_utils.network_resource import NetworkResource
from ansible_collections.berth.engine.plugins.module_utils.preflight import run_stack_preflight, with_bind_actions
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, converge
from ansible_collections.berth.engine.plugins.module_utils.stack_base import (
    ItemError,
    StackBase,
    merge_compose,
    read_host_text,
    scrub,
    validate_entry,
)
from ansible_collections.berth.engine.plugins.module_utils.stack_base import build_result as _build_result
from ansible_collections.berth.engine.plugins.module_utils.stack_rollback import (
    Journal,
    finish,
    rollback_summary,
    undo,
)
from ansible_collections.berth.engine.plugins.module_utils.volume_plan import ARGUMENT_SPEC as VOLUME_SPEC
from ansible_collections.berth.engine.plugins.module_utils.volume_resource import VolumeResource

OWNER_LABEL = "io.berth.stack"
KINDS = ("images", "networks", "volumes", "containers")
LOCK_DIR = "/run/berth"
LOCK_PREFIX_LENGTH = 64  # of the stack name in its lock file's name (with the hash, far below NAME_MAX 255)
# Options of a container entry whose values never appear in results, diffs or messages.
SECRET_OPTIONS = sorted(name for name, spec in CONTAINER_SPEC.items() if spec.get("no_log"))

# A container entry: the container module's options plus depends_on (also the stack module's suboptions,
# so that ansible-core masks the no_log ones wherever they show up).
CONTAINER_ENTRY_SPEC = dict(CONTAINER_SPEC, depends_on=dict(type="list", elements="str", default=[]))

# (kind, argument spec of one entry, Resource class): the one table the stack loops over.
RESOURCES = (
    ("images", IMAGE_SPEC, ImageResource),
    ("networks", NETWORK_SPEC, NetworkResource),
    ("volumes", VOLUME_SPEC, VolumeResource),
    ("containers", CONTAINER_ENTRY_SPEC, ContainerResource),
)


class Stack(StackBase):
    KINDS = KINDS
    OWNER_LABEL = OWNER_LABEL
    MODULE = "stack"
    DECLARED_TWICE = "%(item)s declared twice in %(kind)s: %(names)s"

    def __init__(self, client, params, check_mode):
        params = with_compose(params)
        super().__init__(client, params, check_mode, parallel=params["parallel"])
        self.asides = {}  # container name -> containers a crashed recreate left aside (read_known)
        self.secrets = secret_values(params.get("containers") or [])
        self.listings = {}  # the engine's container and network listings (read_known), for the pre-flight
        self.bind_sources_created = {}  # container name -> bind sources the pre-flight created
        # rollback "stack": what this run changes is journaled, and undone as a whole when an item fails.
        self.journal = Journal() if (params.get("rollback") or "stack") == "stack" and not check_mode else None
        self.rolled_back = None  # the undo's report, when there was one
        self.entries = {kind: {} for kind in KINDS}  # kind -> name -> the validated entry
        # (image reference, pull) -> (inspect document, pull state) of the containers' images: resolved (and
        # pulled) once each by the pre-flight, given to each container's read().
        self.images = {}
        self.networks_ready = {}  # name -> whether the stack's network exists for its containers

    # --- declared items ------------------------------------------------------------------------------

    def declared(self):
        """{kind: [Resource]} for every entry; any bad entry stops the run before anything changes."""
        items = {}
        for kind, spec, cls in RESOURCES:
            entries = [validate_entry(kind, spec, entry) for entry in self.params.get(kind) or []]
            self.check_unique(kind, entries)
            if kind == "containers":
                check_depends_on(entries)
                for entry in entries:
                    entry["labels"] = self.owner_labels(entry.get("labels"))
            inputs = {"journal": self.journal} if kind == "containers" else {}
            items[kind] = [self.build(kind, cls, entry, **inputs) for entry in entries]
            self.entries[kind] = {resource.name: entry for resource, entry in zip(items[kind], entries)}
        return items

    def _labelled(self, kind, resource):
        """The same network or volume, labelled as this stack's: used only when the stack creates it.

        Labels of an existing network or volume cannot change in place, and adopting one must not
        recreate it (or refuse, for a volume).
        """
        entry = self.entries[kind][resource.name]
        return type(resource)(self.client, dict(entry, labels=self.owner_labels(entry.get("labels"))),
                              self.check_mode, self.cache)

    # --- reading -------------------------------------------------------------------------------------

    def read_known(self, items):
        """{kind: {name: document or None}} from one listing per kind (plus one inspect per container)."""
        self.listings = {"networks": self.client.listing("network"),
                         "containers": self.client.listing("container", all=True)}
        networks = {n["Name"]: n for n in self.listings["networks"]}
        volumes = {v["Name"]: v for v in (self.client.listing("volume") or {}).get("Volumes") or []}
        by_name = {}
        for entry in self.listings["containers"]:
            for name in entry.get("Names") or []:
                by_name[name.lstrip("/")] = entry
        wanted = {r.name for r in items["containers"]}
        # Containers a crashed recreate of a declared one left renamed aside: its item finishes that.
        asides = sorted(n for n, e in by_name.items() if aside_of(e) in wanted)
        present = sorted(n for n in wanted if n in by_name) + asides
        with ThreadPoolExecutor(self.parallel) as pool:
            documents = dict(zip(present, pool.map(
                lambda n: self.client.inspect("container", by_name[n]["Id"]), present)))
        self.asides = {n: [] for n in wanted}
        for name in asides:
            if documents.get(name):
                self.asides[aside_of(documents[name])].append(documents[name])
        owned = {
            "containers": [n for n, e in by_name.items() if _owned(e, self.name) and n not in asides],
            "networks": [n for n, e in networks.items() if _owned(e, self.name)],
            "volumes": [n for n, e in volumes.items() if _owned(e, self.name)],
        }
        known = {
            "images": {r.name: UNREAD for r in items["images"]},
            "networks": {r.name: networks.get(r.name) for r in items["networks"]},
            "volumes": {r.name: volumes.get(r.name) for r in items["volumes"]},
            "containers": {n: documents.get(n) for n in wanted},
        }
        return known, owned

    # --- running items -------------------------------------------------------------------------------

    def _converge_one(self, kind, resource, known):
        try:
            if kind == "containers":
                plan, _unused, _unused = converge_container(
                    resource, known, asides=self.asides.get(resource.name, []),
                    image=self.images.get(resource.image_key()), networks=self.networks_ready)
            else:
                plan, _unused, document = converge(self._labelled(kind, resource) if known is None else resource, known)
                if self.journal is not None and known is None and "create" in plan.action_names():
                    self.journal.record(kind, resource.name, "created", id=(document or {}).get("Id"))
            return self._record(kind, resource.name, plan)
        except (EngineError, ValueError) as err:
            return self._record(kind, resource.name, error=err)

    def _run_parallel(self, kind, resources, known):
        with ThreadPoolExecutor(self.parallel) as pool:
            return list(pool.map(lambda r: self._converge_one(kind, r, known.get(r.name)), resources))

    def _run_containers(self, containers, known):
        """Containers in depends_on waves; one whose dependency failed is not converged."""
        by_name = {r.name: r for r in containers}
        failed = set()
        depends_on = {r.name: r.params.get("depends_on") or [] for r in containers}
        for wave in depends_on_waves(depends_on):
            if self._rolling_back():  # all or nothing: no further wave once an item failed
                for name in wave:
                    self.results["containers"][name] = {"changed": False, "actions": [], "msg": (
                        "not converged: another item failed, so the stack is rolled back")}
                continue
            ready = []
            for name in wave:
                blockers = sorted(set(depends_on[name]) & failed)
                if blockers:
                    failed.add(name)
                    self._record("containers", name, error=ItemError(
                        "not converged: it depends on %s, which failed" % ", ".join(blockers)))
                else:
                    ready.append(by_name[name])
            for resource, succeeded in zip(ready, self._run_parallel("containers", ready, known)):
                if not succeeded:
                    failed.add(resource.name)

    def _count_on_images(self, images):
        """Check mode: a container may run an image the stack builds in this run; it is not there yet."""
        for image in images:
            if image.desired.get("state", "present") != "present":
                continue
            for reference in dict.fromkeys((image.name, image_reference(image.name))):
                if inspect_image(self.client, reference) is None:  # one inspect per reference, not per pull mode
                    for pull in ("missing", "never"):
                        self.images[(reference, pull)] = (None, "predicted")

    # --- the pre-flight -------------------------------------------------------------------------------

    def preflight(self, items, known):
        """True when everything can work (preflight.py); otherwise each problem is recorded on its item.

        Runs after the images (a built or pulled image changes nothing users see), before any change.
        """
        problems = run_stack_preflight(self, items, known, self.listings)
        for (kind, name), message in sorted(problems.items()):
            self._record(kind, name, error=ItemError(message.split(": ", 1)[-1]))
        return not problems and not any(i.get("failed") for i in self.results["images"].values())

    # --- all or nothing ------------------------------------------------------------------------------

    def _rolling_back(self):
        return self.journal is not None and any(
            item.get("failed") for kind in KINDS for item in self.results[kind].values())

    def _settle(self):
        """rollback stack: undo the run when an item failed, else remove the old containers kept aside.

        True when the run may prune (a run that is rolled back prunes nothing).
        """
        if self.journal is None:
            return True
        if self._rolling_back():
            report = undo(self.client, self.journal, self.client.is_local)
            report["summary"] = rollback_summary(report)
            self.rolled_back = scrub(report, self.secrets)
            return False
        self.warnings.extend(finish(self.client, self.journal))
        return True

    def result(self):
        with_bind_actions(self.results["containers"], self.bind_sources_created)
        result = super().result()
        if self.rolled_back is not None:
            result["rolled_back"] = self.rolled_back
        return result

    # --- pruning -------------------------------------------------------------------------------------

    def _prune(self, kind, names, action="prune"):
        # The anonymous volumes of a container go with it only when the stack's volumes may go (down -v).
        params = {"force": True, "v": action == "remove" and self.params["prune_volumes"]} \
            if kind == "containers" else None
        for name in names:
            self._prune_item(kind, name, lambda n=name: self.client.remove(kind[:-1], n, params), action)

    # --- state absent --------------------------------------------------------------------------------

    def read_owned(self):
        """{kind: [names]} of everything labelled as this stack's, and the containers set aside from them."""
        containers = {}
        for entry in self.client.listing("container", all=True):
            for name in entry.get("Names") or []:
                containers[name.lstrip("/")] = entry
        owned = {n for n, e in containers.items() if _owned(e, self.name)}
        owned.update(n for n, e in containers.items() if aside_of(e) in owned)
        networks = self.client.listing("network")
        volumes = (self.client.listing("volume") or {}).get("Volumes") or []
        return {"containers": sorted(owned),
                "networks": sorted(n["Name"] for n in networks if _owned(n, self.name)),
                "volumes": sorted(v["Name"] for v in volumes if _owned(v, self.name))}

    def remove_all(self):
        """state absent, as `docker compose down` (-v with prune_volumes): every container of the stack, then its
        networks, and its volumes only with prune_volumes. Objects are selected by the owner label."""
        with stack_lock(self.name, self.params.get("lock_timeout"), skip=self.check_mode):
            owned = self.read_owned()
            for kind in ("containers", "networks", "volumes"):  # containers first: what is in use cannot go
                if kind != "volumes" or self.params["prune_volumes"]:
                    self._prune(kind, owned[kind], action="remove")
        return self.result()

    # --- the whole run -------------------------------------------------------------------------------

    def converge(self):
        if self.params.get("state") == "absent":
            return self.remove_all()
        items = self.declared()
        with stack_lock(self.name, self.params.get("lock_timeout"), skip=self.check_mode):
            known, owned = self.read_known(items)
            self._run_parallel("images", items["images"], known["images"])
            if self.check_mode:
                self._count_on_images(items["images"])
            if not self.preflight(items, known):
                return self.result()
            self._run_parallel("networks", items["networks"], known["networks"])
            # The containers may use the stack's networks: in check mode they are only planned.
            self.networks_ready = {n.name: n.desired["state"] == "present" and not self.results["networks"][
                n.name].get("failed") for n in items["networks"]}
            self._run_parallel("volumes", items["volumes"], known["volumes"])
            self._run_containers(items["containers"], known["containers"])
            if self._settle():
                declared = {kind: [r.name for r in items[kind]] for kind in KINDS}
                for kind in ("containers", "networks", "volumes"):  # containers first: what is in use cannot go
                    self._prune(kind, prune_selection(kind, declared[kind], owned[kind], self.params["prune"],
                                                      self.params["prune_volumes"]))
        return self.result()


def with_compose(params, read_text=None):
    """The stack's parameters with the Compose project's entries added to the declared ones."""

    def load(documents, directory):
        # Imported only for Compose input (see merge_compose).
        from ansible_collections.berth.engine.plugins.module_utils.compose import load_project

        return load_project(documents, name=params.get("name"), directory=directory,
                            environ=params.get("compose_env") or {}, profiles=params.get("profiles"),
                            read_text=read_text or read_host_text,
                            config_files=",".join(params.get("compose_files") or []))

    return merge_compose(params, KINDS, "stack", load)


def _owned(entry, stack_name):
    return ((entry or {}).get("Labels") or {}).get(OWNER_LABEL) == stack_name


# --- the lock: one converge of a stack at a time on a host -------------------------------------------

class stack_lock:
    """An exclusive fcntl lock on <lock directory>/<lock_file_name(name)>, waited for up to `timeout` seconds.

    The directory is the first the user can write (lock_directory): runs of one stack by different users
    whose directories differ do not exclude each other. The holder writes who it is into the file, so a run
    that times out can say who holds the stack.
    """

    def __init__(self, name, timeout=None, skip=False, directory=None):
        self.directory = directory
        self.name = name
        self.timeout = 600 if timeout is None else timeout
        self.skip = skip
        self.handle = None
        self.path = None

    def __enter__(self):
        if self.skip:  # check mode changes nothing, so it need not wait for a run that does
            return self
        try:
            self.directory = self.directory or lock_directory()
            self.path = os.path.join(self.directory, lock_file_name(self.name))
            self.handle = open(self.path, "a+")
        except OSError as err:
            raise ItemError("stack %s: cannot open its lock file in %s: %s; free the directory or run as a user "
                            "who can write it" % (self.name, self.directory, err)) from None
        deadline = time.monotonic() + self.timeout
        while not self._try_lock():
            if time.monotonic() >= deadline:
                holder = self._holder()
                self.handle.close()
                raise ItemError("stack %s: another run is converging this stack on this host: %s holds %s, still "
                                "after %ss (lock_timeout); let it finish, or raise lock_timeout"
                                % (self.name, holder or "a process", self.path, self.timeout))
            time.sleep(0.2)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(holder_text(os.getpid(), _user_name(), time.time()))
        self.handle.flush()
        return self

    def _try_lock(self):
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            return False

    def _holder(self):
        self.handle.seek(0)
        return self.handle.read(512).strip()

    def __exit__(self, *exc):
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
        return False


def lock_directory(candidates=None):
    """The first lock directory this user can use: /run/berth (shared by the users who can write it), then
    $XDG_RUNTIME_DIR/berth, then berth-<uid> in the temp directory, created 0700 and owned by the user."""
    if candidates is None:
        candidates = [LOCK_DIR]
        if os.environ.get("XDG_RUNTIME_DIR"):
            candidates.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "berth"))
        candidates.append(os.path.join(tempfile.gettempdir(), "berth-%d" % os.getuid()))
    for index, directory in enumerate(candidates):
        try:
            os.makedirs(directory, mode=0o700 if index else 0o755, exist_ok=True)
        except OSError:
            continue
        if _usable(directory, private=index > 0):
            return directory
    raise ItemError("no directory for the stack lock: none of %s can be created or written by uid %d"
                    % (", ".join(candidates), os.getuid()))


def _usable(directory, private):
    """Writable; a private directory (in a shared parent such as /tmp) must be the user's own, not a link."""
    if not os.access(directory, os.W_OK | os.X_OK):
        return False
    if not private:
        return True
    info = os.lstat(directory)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _user_name():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return "uid %d" % os.getuid()


# --- pure parts ----------------------------------------------------------------------------------

def lock_file_name(name):
    """A file name for any stack name: a readable prefix of it (safe characters only) and a short hash of the
    whole name, so that names differing anywhere, however long, never share a lock."""
    prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:LOCK_PREFIX_LENGTH]
    return "stack-%s-%s.lock" % (prefix, hashlib.sha256(name.encode("utf-8")).hexdigest()[:12])


def holder_text(pid, user, since):
    """What the holder writes into its lock file, for the message of a run that waits in vain."""
    return "pid %d, user %s, since %s" % (pid, user, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)))


def check_depends_on(containers):
    """Unknown names and cycles in depends_on fail before anything changes."""
    known = {c["name"] for c in containers}
    for container in containers:
        unknown = [d for d in container.get("depends_on") or [] if d not in known]
        if unknown:
            raise ItemError("container %s depends_on %s, which this stack does not declare"
                            % (container["name"], ", ".join(unknown)))
    depends_on_waves({c["name"]: c.get("depends_on") or [] for c in containers})


def depends_on_waves(depends_on):
    """[[names], ...]: each wave depends only on earlier ones; a cycle raises ItemError naming it."""
    pending = {name: set(deps) for name, deps in depends_on.items()}
    done, waves = set(), []
    while pending:
        wave = sorted(n for n, deps in pending.items() if deps <= done)
        if not wave:
            raise ItemError("depends_on has a cycle among: %s" % ", ".join(sorted(pending)))
        waves.append(wave)
        done.update(wave)
        for name in wave:
            del pending[name]
    return waves


def prune_selection(kind, declared, owned, prune, prune_volumes):
    """What pruning removes: this stack's undeclared containers and networks; volumes only with prune_volumes."""
    if not prune or (kind == "volumes" and not prune_volumes):
        return []
    return sorted(set(owned) - set(declared))


# The module result of a host stack, from its per-kind results and declared counts.
build_result = functools.partial(_build_result, kinds=KINDS)


def secret_values(containers):
    """The values of the no_log options of the container entries (to keep them out of the results)."""
    return sorted({str(entry[option]) for entry in containers if isinstance(entry, dict)
                   for option in SECRET_OPTIONS if entry.get(option)}, key=len, reverse=True)
