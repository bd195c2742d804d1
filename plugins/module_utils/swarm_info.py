# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader of swarm_info, node_info and service_info: cluster, nodes, services and tasks as a manager
sees them, with short summaries (pure functions of the engine's documents) next to the full documents."""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.engine_client import endpoint
from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import (
    find_node,
    node_summary,
    quorum_lost_message,
    swarm_facts,
)
from ansible_collections.berth.engine.plugins.module_utils.swarm_resource import read_local_swarm


def engine_filters(filters, option):
    """{key: value or [values]} as the engine's filters ({key: [str]}); ValueError naming the option."""
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise ValueError("%s must be a mapping of filter names to values, got %r" % (option, filters))
    shaped = {}
    for key, value in filters.items():
        values = value if isinstance(value, list) else [value]
        shaped[str(key)] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return shaped


def service_summary(service):
    spec = service.get("Spec") or {}
    mode = spec.get("Mode") or {}
    kind = next(iter(mode), None)
    status = service.get("ServiceStatus") or {}
    return {
        "id": service.get("ID"),
        "name": spec.get("Name"),
        "image": ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image"),
        "mode": {"Replicated": "replicated", "Global": "global", "ReplicatedJob": "replicated-job",
                 "GlobalJob": "global-job"}.get(kind, kind),
        "replicas": (mode.get("Replicated") or {}).get("Replicas"),
        "running_tasks": status.get("RunningTasks"),
        "desired_tasks": status.get("DesiredTasks"),
    }


def task_summary(task, services_by_id=None, hostnames=None):
    """A task with what an operator looks for: where it runs, its state and its error."""
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    node_id = task.get("NodeID") or None
    return {
        "id": task.get("ID"),
        "service_id": task.get("ServiceID"),
        "service": (services_by_id or {}).get(task.get("ServiceID")),
        "slot": task.get("Slot"),
        "node_id": node_id,
        "node": (hostnames or {}).get(node_id),
        "desired_state": task.get("DesiredState"),
        "state": status.get("State"),
        "message": status.get("Message"),
        "error": status.get("Err") or None,
        "exit_code": container.get("ExitCode"),
        "container_id": container.get("ContainerID") or None,
        "timestamp": status.get("Timestamp"),
    }


def cluster_summary(swarm):
    """GET /swarm without its join tokens."""
    if swarm is None:
        return None
    return {key: value for key, value in swarm.items() if key != "JoinTokens"}


class SwarmReader:
    """Reads on a manager; every listing is read once per task and shared by the summaries."""

    def __init__(self, client):
        self.client = client
        self._nodes = None
        self._services = None

    def local(self):
        """The local node's facts and the cluster (ValueError on a worker or without quorum)."""
        state = read_local_swarm(self.client)
        facts = swarm_facts(state["info"], state["swarm"], quorum_lost=state["quorum_lost"])
        return state, facts

    def require_manager(self):
        state, facts = self.local()
        if state["quorum_lost"]:
            raise ValueError(quorum_lost_message(state["info"], state["quorum_lost"]))
        if not facts["is_manager"]:
            raise ValueError("the engine at %s is not a swarm manager (swarm state %s, role %s): nodes, services "
                             "and tasks are read on a manager; point docker_host at one"
                             % (self.client.docker_host, facts["local_node_state"], facts["role"]))
        return state, facts

    def nodes(self, filters=None):
        if filters:
            return self.client.listing("node", filters)
        if self._nodes is None:
            self._nodes = self.client.listing("node")
        return self._nodes

    def services(self, filters=None):
        if filters:
            return self.client.listing("service", filters, status="true")
        if self._services is None:
            self._services = self.client.listing("service", status="true")
        return self._services

    def tasks(self, filters=None, verbose=False):
        """Task summaries naming their service and node; verbose: the engine's whole task documents."""
        tasks = sorted(self.client.listing("task", filters), key=_task_order)
        if verbose:
            return tasks
        names = {s["ID"]: (s.get("Spec") or {}).get("Name") for s in self.services()}
        hostnames = {n["ID"]: (n.get("Description") or {}).get("Hostname") for n in self.nodes()}
        return [task_summary(t, names, hostnames) for t in tasks]

    def node(self, ref):
        return find_node(self.nodes(), ref)

    def service(self, ref):
        return self.client.get(endpoint("services", ref), {"insertDefaults": "false"}, missing_ok=True)

    def one(self, kind, ref, with_tasks):
        """What node_info and service_info return: exists, the document (kind: node or service), its summary
        and, when asked, the tasks on the node or of the service. ref None: the node this engine is."""
        _state, facts = self.require_manager()
        if ref is None:
            ref = facts["node_id"]
        document = self.node(ref) if kind == "node" else self.service(ref)
        result = {"changed": False, "exists": document is not None, kind: document or {}, "summary": {}}
        if document is not None:
            result["summary"] = node_summary(document) if kind == "node" else service_summary(document)
            if with_tasks:
                result["tasks"] = self.tasks({kind: [document["ID"]]})
        return result

    def node_summaries(self, filters=None, verbose=False):
        """One summary per node; verbose: the engine's whole node documents."""
        nodes = self.nodes(filters)
        return nodes if verbose else [node_summary(n) for n in nodes]

    def service_summaries(self, filters=None, verbose=False):
        """One summary per service; verbose: the engine's whole service documents (with ServiceStatus)."""
        services = self.services(filters)
        return services if verbose else [service_summary(s) for s in services]


def _task_order(task):
    return ((task.get("ServiceID") or ""), task.get("Slot") or 0, (task.get("Status") or {}).get("Timestamp") or "")
