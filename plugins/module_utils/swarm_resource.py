# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin parts of swarm membership: read the local node's swarm or a node, execute a plan."""

from __future__ import annotations

import time

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint
from ansible_collections.berth.engine.plugins.module_utils.resource import UNREAD, Resource
from ansible_collections.berth.engine.plugins.module_utils.swarm_plan import (
    desired_node,
    desired_swarm,
    find_node,
    plan_node,
    plan_swarm,
)

# Task states after which a task no longer runs on its node.
TASK_DONE = frozenset(["complete", "shutdown", "failed", "rejected", "orphaned", "remove"])
POLL = 0.5


# What a manager's engine answers when the raft has no leader (too few managers online).
_NO_LEADER = ("does not have a leader", "too few managers are online")
# Join failures that mean "this manager did not answer": another one may.
_UNANSWERED = ("connection refused", "no route to host", "i/o timeout", "network is unreachable",
               "context deadline exceeded", "timeout was reached", "connection reset", "code = unavailable")


def read_local_swarm(client, settle=10.0):
    """{'info': the Swarm part of GET /info, 'swarm': GET /swarm on a manager (else None),
    'quorum_lost': the engine's words when this manager's raft has no leader (else None)}.

    A manager just demoted still says ControlAvailable while its control socket is gone (503): read
    again until it settles, for up to `settle` seconds.
    """
    deadline = time.monotonic() + settle
    while True:
        info_swarm = (client.get(endpoint("info")) or {}).get("Swarm") or {}
        if not (info_swarm.get("ControlAvailable") and info_swarm.get("LocalNodeState") == "active"):
            return {"info": info_swarm, "swarm": None, "current": info_swarm, "quorum_lost": None}
        try:
            swarm = client.get(endpoint("swarm"))
            return {"info": info_swarm, "swarm": swarm, "current": info_swarm, "quorum_lost": None}
        except EngineError as err:
            said = str(err.daemon_message or err)
            if any(words in said.lower() for words in _NO_LEADER):
                return {"info": info_swarm, "swarm": None, "current": info_swarm, "quorum_lost": said}
            if err.status != 503 or "control.sock" not in said or time.monotonic() > deadline:
                raise
        time.sleep(POLL)


class SwarmResource(Resource):
    """The local node's membership of a swarm, and the cluster settings when it is a manager."""

    kind = "swarm"

    def desire(self, params):
        return desired_swarm(params)

    def read(self, known=UNREAD):
        return read_local_swarm(self.client)

    def plan(self, state):
        return plan_swarm(self.desired, state)

    def apply(self, plan, state):
        for action in plan.actions:
            self._run(action)
        return read_local_swarm(self.client)["info"]

    def _join(self, body):
        """Join through each manager in turn: the engine tries only the first address it is given, and a
        manager that is down (or the stale address of this very host, rebuilt) must not block the join."""
        failures = []
        for address in body["RemoteAddrs"]:
            try:
                self.client.post(endpoint("swarm", "join"), body=dict(body, RemoteAddrs=[address]),
                                 timeout=max(self.client.timeout, 90))
                return
            except EngineError as err:
                said = str(err.daemon_message or err)
                failures.append("%s: %s" % (address, said))
                if not any(words in said.lower() for words in _UNANSWERED):
                    raise
                self._cancel_pending_join()
        raise EngineError("no manager answered (%s)" % "; ".join(failures), daemon_message="; ".join(failures))

    def _cancel_pending_join(self):
        """A join that timed out goes on in the background (state pending): stop it before the next try."""
        if read_local_swarm(self.client)["info"].get("LocalNodeState") == "pending":
            self.client.post(endpoint("swarm", "leave"), {"force": True})

    def _rotate(self, what):
        """One rotation on the swarm as it is now (a spec update just before changed its version)."""
        swarm = self.client.get(endpoint("swarm"))
        spec = swarm.get("Spec") or {}
        params = {"version": (swarm.get("Version") or {}).get("Index")}
        if what == "ca":
            ca_config = dict(spec.get("CAConfig") or {})
            ca_config["ForceRotate"] = int(ca_config.get("ForceRotate") or 0) + 1
            spec = dict(spec, CAConfig=ca_config)
        else:
            params["rotateWorkerToken" if what == "worker_token" else "rotateManagerToken"] = "true"
        self.client.post(endpoint("swarm", "update"), params, body=spec)

    def _wait_root_ca(self, cert):
        """Until the swarm's root CA is `cert` and no rotation is under way (nodes renew their certificates)."""
        deadline = time.monotonic() + self.client.timeout
        while True:
            swarm = self.client.get(endpoint("swarm"))
            root = ((swarm.get("TLSInfo") or {}).get("TrustRoot") or "").strip()
            if root == cert and not swarm.get("RootRotationInProgress"):
                return
            if time.monotonic() > deadline:
                raise EngineError("the rotation to the given signing CA did not end within %ss (every node must "
                                  "renew its certificate); it goes on in the background" % self.client.timeout)
            time.sleep(POLL)

    def _run(self, action):
        kind = action["action"]
        try:
            if kind == "init":
                self.client.post(endpoint("swarm", "init"), body=action["body"])
            elif kind == "join":
                self._join(action["body"])
            elif kind == "force_new_cluster":
                self.client.post(endpoint("swarm", "init"), body=action["body"])
            elif kind == "leave":
                self.client.post(endpoint("swarm", "leave"), {"force": action["force"]})
            elif kind == "unlock":
                self.client.post(endpoint("swarm", "unlock"), body={"UnlockKey": self.desired["unlock_key"]})
            elif kind == "update":
                self.client.post(endpoint("swarm", "update"), {"version": action["version"]}, body=action["spec"])
            elif kind.startswith("rotate_"):
                self._rotate(kind[len("rotate_"):])
            elif kind == "wait_root_ca":
                self._wait_root_ca(action["cert"])
        except EngineError as err:
            raise EngineError("%s failed on %s: %s. %s" % (_DOING[kind], self.client.docker_host,
                                                           err.daemon_message or err, _HINT[kind]),
                              err.status, err.daemon_message) from None


_DOING = {"init": "swarm init", "join": "joining the swarm", "leave": "leaving the swarm",
          "force_new_cluster": "re-forming the swarm (force_new_cluster)",
          "rotate_worker_token": "rotating the worker join token", "rotate_manager_token":
          "rotating the manager join token", "rotate_ca": "rotating the swarm's CA (ca_force_rotate)",
          "unlock": "unlocking the swarm", "update": "updating the swarm settings",
          "wait_root_ca": "waiting for the swarm to sign with the given CA (signing_ca_cert)"}
_HINT = {
    "init": "Check advertise_addr/listen_addr (an address of this host) and that the host is in no swarm.",
    "join": "Check the join token (read it on a manager), remote_addrs and that TCP 2377 of the manager is "
            "reachable from this host.",
    "rotate_worker_token": "Run it on a manager of a swarm that has its quorum.",
    "rotate_manager_token": "Run it on a manager of a swarm that has its quorum.",
    "rotate_ca": "Run it on a manager of a swarm that has its quorum.",
    "force_new_cluster": "Check advertise_addr/listen_addr: an address of this host.",
    "leave": "A manager needs force: true; demote it first to keep the quorum.",
    "unlock": "Check unlock_key: it is the key `docker swarm unlock-key` printed on a manager.",
    "update": "Another change may have raced this one; run the task again.",
    "wait_root_ca": "Check that every node is up and reaches a manager; run the task again once the swarm's root "
                    "CA is the given one (a run before that rotates again).",
}


def secrets_of(client, swarm):
    """Join tokens (and, with autolock, the unlock key) of a manager's swarm: returned only when asked, and the
    result is then hidden by the action plugin (plugins/action/swarm.py)."""
    tokens = dict((swarm or {}).get("JoinTokens") or {})
    found = {"worker": tokens.get("Worker"), "manager": tokens.get("Manager")}
    if (((swarm or {}).get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"):
        found["unlock_key"] = (client.get(endpoint("swarm", "unlockkey")) or {}).get("UnlockKey") or None
    return found


class SwarmNodeResource(Resource):
    """One node of the swarm, as a manager sees it: role, availability, labels, or its removal."""

    kind = "swarm node"

    def __init__(self, client, params, check_mode=False, cache=None):
        super().__init__(client, params, check_mode, cache)
        self.wait_timeout = params.get("wait_timeout") or 120

    def desire(self, params):
        return desired_node(params)

    def read(self, known=UNREAD):
        nodes = self.client.listing("node")
        node = find_node(nodes, self.name) if known is UNREAD else known
        return {"current": node, "nodes": nodes}

    def plan(self, state):
        return plan_node(self.desired, state["current"], state["nodes"])

    def apply(self, plan, state):
        for action in plan.actions:
            kind = action["action"]
            if kind == "update":
                self._update(action)
            elif kind == "wait_drained":
                self._wait_drained(action["id"])
            elif kind == "remove":
                if action["wait_down"]:
                    self._wait_down(action["id"])
                self.client.delete(endpoint("nodes", action["id"]), {"force": action["force"]}, missing_ok=True)
                return None
        return self.client.inspect("node", state["current"]["ID"])

    def _update(self, action):
        try:
            self.client.post(endpoint("nodes", action["id"], "update"), {"version": action["version"]},
                             body=action["spec"])
        except EngineError as err:
            raise EngineError("updating %s of node %s failed: %s. Run the task on a manager; a demotion the "
                              "cluster cannot afford is refused by the engine" % (", ".join(action["options"]),
                                                                                  self.name, err.daemon_message or err),
                              err.status, err.daemon_message) from None

    def _wait(self, what, done):
        deadline = time.monotonic() + self.wait_timeout
        while True:
            pending = done()
            if not pending:
                return
            if time.monotonic() > deadline:
                raise EngineError("node %s: %s within wait_timeout (%ss); still: %s"
                                  % (self.name, what, self.wait_timeout, pending))
            time.sleep(POLL)

    def _wait_drained(self, node_id):
        def running():
            tasks = self.client.listing("task", {"node": [node_id]})
            return sorted("%s (%s)" % (t.get("ID", "?")[:12], (t.get("Status") or {}).get("State"))
                          for t in tasks if (t.get("Status") or {}).get("State") not in TASK_DONE)
        self._wait("its tasks did not stop after the drain", running)

    def _wait_down(self, node_id):
        def up():
            node = self.client.inspect("node", node_id)
            state = (node or {}).get("Status", {}).get("State")
            return None if node is None or state == "down" else "state %s" % state
        self._wait("it is not down (make it leave the swarm first, or set force: true)", up)
