# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of swarm membership: the local node's swarm, a node's settings, and the quorum guard.

Inputs are shaped like the engine's documents: the `Swarm` part of GET /info, GET /swarm (managers
only), and node documents from GET /nodes. Nothing here talks to the engine.
"""

from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.plan import Plan, as_text_map, parse_duration

SWARM_STATES = ("present", "join", "absent", "inspect")
# Node states in which the engine counts the host as part of a swarm.
IN_SWARM = ("active", "pending", "error", "locked")

# option -> (section of the swarm Spec, key in it, converter)
SPEC_OPTIONS = (
    ("snapshot_interval", "Raft", "SnapshotInterval", int),
    ("keep_old_snapshots", "Raft", "KeepOldSnapshots", int),
    ("log_entries_for_slow_followers", "Raft", "LogEntriesForSlowFollowers", int),
    ("election_tick", "Raft", "ElectionTick", int),
    ("heartbeat_tick", "Raft", "HeartbeatTick", int),
    ("dispatcher_heartbeat", "Dispatcher", "HeartbeatPeriod", "duration"),
    ("node_cert_expiry", "CAConfig", "NodeCertExpiry", "duration"),
    ("task_history_limit", "Orchestration", "TaskHistoryRetentionLimit", int),
    ("autolock", "EncryptionConfig", "AutoLockManagers", bool),
    ("labels", None, "Labels", "labels"),
)
# Settings the engine takes only when the swarm is created: option -> key of GET /swarm and of the init body.
INIT_ONLY = (("default_addr_pool", "DefaultAddrPool"), ("subnet_size", "SubnetSize"),
             ("data_path_port", "DataPathPort"))
# What the engine uses when the swarm was created without a data path port, address pool or subnet size.
DEFAULT_DATA_PATH_PORT = 4789
DEFAULT_ADDR_POOL = ["10.0.0.0/8"]
DEFAULT_SUBNET_SIZE = 24
# Explicit actions: option -> what the diff and RV(rotated) call it.
ROTATIONS = (("rotate_worker_token", "worker_token"), ("rotate_manager_token", "manager_token"),
             ("ca_force_rotate", "ca"))


def _convert(option, value, converter):
    if converter == "labels":
        return as_text_map(value, option)
    if converter == "duration":
        return parse_duration(value, option)
    if converter is bool:
        return bool(value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a whole number, got %r" % (option, value)) from None
    if number < 0:
        raise ValueError("%s must not be negative, got %r" % (option, value))
    return number


def desired_swarm(params):
    """Validate the swarm module's parameters. Only the spec options given are compared."""
    state = params.get("state") or "present"
    if state not in SWARM_STATES:
        raise ValueError("state must be one of %s, got %r" % (", ".join(SWARM_STATES), state))
    spec = {}
    for option, section, key, converter in SPEC_OPTIONS:
        if params.get(option) is not None:
            spec[(section, key)] = _convert(option, params[option], converter)
    remote_addrs = [str(a) for a in params.get("remote_addrs") or []]
    init_only = {option: params[option] for option, _key in INIT_ONLY if params.get(option) not in (None, [])}
    if "default_addr_pool" in init_only:
        init_only["default_addr_pool"] = [str(p) for p in init_only["default_addr_pool"]]
    port = init_only.get("data_path_port")
    if port is not None and not 1024 <= int(port) <= 49151:
        raise ValueError("data_path_port must be between 1024 and 49151 (the engine's range for the VXLAN port), "
                         "got %r" % port)
    rotate = [name for option, name in ROTATIONS if params.get(option)]
    if bool(params.get("signing_ca_cert")) != bool(params.get("signing_ca_key")):
        raise ValueError("signing_ca_cert and signing_ca_key go together: the engine signs node certificates "
                         "with that key")
    if state == "join" and (spec or init_only or rotate or params.get("signing_ca_cert")):
        raise ValueError("state=join cannot set %s: the cluster's settings belong to its managers; set them with "
                         "state=present on a manager"
                         % ", ".join([_option_of(k) for k in spec] + list(init_only) + rotate
                                     + (["signing_ca_cert"] if params.get("signing_ca_cert") else [])))
    if state == "join" and (not remote_addrs or not params.get("join_token")):
        raise ValueError("state=join needs remote_addrs (a manager's address) and join_token "
                         "(read it on a manager with return_tokens: true)")
    return {
        "name": "local node",
        "state": state,
        "spec": spec,
        "advertise_addr": params.get("advertise_addr"),
        "listen_addr": params.get("listen_addr") or "0.0.0.0:2377",
        "data_path_addr": params.get("data_path_addr"),
        "remote_addrs": remote_addrs,
        "join_token": params.get("join_token"),
        "cluster_id": params.get("cluster_id"),
        "force": bool(params.get("force")),
        "unlock_key": params.get("unlock_key"),
        "force_new_cluster": bool(params.get("force_new_cluster")),
        "init_only": init_only,
        "rotate": rotate,
        "signing_ca": ((params["signing_ca_cert"].strip(), params["signing_ca_key"])
                       if params.get("signing_ca_cert") else None),
    }


def _option_of(section_key):
    for option, section, key, _converter in SPEC_OPTIONS:
        if (section, key) == section_key:
            return option
    return "%s.%s" % section_key


def spec_differences(desired_spec, current_spec):
    """[(option, engine value, declared value)] for each spec option given that differs."""
    differences = []
    for (section, key), wanted in desired_spec.items():
        have = (current_spec.get(section) or {}).get(key) if section else current_spec.get(key)
        if key == "Labels":
            have = have or {}
        if isinstance(wanted, bool):
            have = bool(have)
        if have != wanted:
            differences.append((_option_of((section, key)), have, wanted))
    return differences


def updated_spec(current_spec, desired_spec):
    """The whole spec POST /swarm/update wants: the current one with the declared keys set."""
    spec = {section: dict(value) if isinstance(value, dict) else value for section, value in current_spec.items()}
    for (section, key), wanted in desired_spec.items():
        if section is None:
            spec[key] = wanted
        else:
            spec.setdefault(section, {})[key] = wanted
    return spec


def init_body(desired):
    spec = updated_spec({}, desired["spec"])
    if desired["signing_ca"]:
        spec.setdefault("CAConfig", {}).update(SigningCACert=desired["signing_ca"][0],
                                               SigningCAKey=desired["signing_ca"][1])
    body = {"ListenAddr": desired["listen_addr"], "ForceNewCluster": False, "Spec": spec}
    for option, key in INIT_ONLY:
        if option in desired["init_only"]:
            body[key] = desired["init_only"][option]
    if "SubnetSize" in body and "DefaultAddrPool" not in body:
        # The engine drops a subnet size given without a pool (it keeps /24): give it its own default pool.
        body["DefaultAddrPool"] = list(DEFAULT_ADDR_POOL)
    if desired["advertise_addr"]:
        body["AdvertiseAddr"] = desired["advertise_addr"]
    if desired["data_path_addr"]:
        body["DataPathAddr"] = desired["data_path_addr"]
    return body


def join_body(desired):
    # In the order given, once each: the engine tries them one at a time (swarm_resource joins in turn).
    addresses = {}
    for address in desired["remote_addrs"]:
        addresses.setdefault(with_port(address), address)
    body = {"ListenAddr": desired["listen_addr"], "RemoteAddrs": list(addresses.values()),
            "JoinToken": desired["join_token"]}
    if desired["advertise_addr"]:
        body["AdvertiseAddr"] = desired["advertise_addr"]
    if desired["data_path_addr"]:
        body["DataPathAddr"] = desired["data_path_addr"]
    return body


def with_port(address, port=2377):
    address = str(address)
    if address.startswith("[") or address.count(":") == 1:
        return address
    return "%s:%d" % (address, port)


def check_same_swarm(desired, info_swarm, swarm):
    """Raise ValueError when the node is already in a swarm that is not the one asked for.

    A manager knows its cluster ID and the tokens it issues; a worker only knows its managers' addresses.
    """
    node_id = info_swarm.get("NodeID") or "?"
    if swarm is not None:
        cluster_id = swarm.get("ID")
        tokens = (swarm.get("JoinTokens") or {}).values()
        if desired["cluster_id"] and desired["cluster_id"] != cluster_id:
            raise ValueError(
                "this host (node %s) is already a manager of swarm %s, not of swarm %s the task asks for; nothing "
                "was changed. Make it leave first (state=absent, force=true on its last manager) if it belongs to "
                "the other cluster" % (node_id, cluster_id, desired["cluster_id"]))
        if not desired["cluster_id"] and desired["join_token"] and desired["join_token"] not in tokens:
            raise ValueError(
                "this host (node %s) is already a manager of swarm %s, which did not issue the join token given; "
                "nothing was changed. Make it leave that swarm first (state=absent) if it must join another one"
                % (node_id, cluster_id))
        return
    managers = sorted(m.get("Addr") for m in info_swarm.get("RemoteManagers") or [])
    wanted = {with_port(a) for a in desired["remote_addrs"]}
    if wanted and not wanted & set(managers):
        raise ValueError(
            "this host (node %s) is already a worker of a swarm whose managers are %s, not one of %s; expected swarm "
            "%s; nothing was changed. Make it leave that swarm first (state=absent) if it must join this one"
            % (node_id, ", ".join(managers) or "unknown", ", ".join(sorted(wanted)), desired["cluster_id"] or "?"))


def plan_swarm(desired, state):
    """Actions taking the local node from `state` ({'info': GET /info Swarm, 'swarm': GET /swarm or None})."""
    info_swarm = state["info"]
    swarm = state.get("swarm")
    local = info_swarm.get("LocalNodeState") or "inactive"
    plan = Plan("swarm", desired["name"])
    wanted = desired["state"]
    if wanted == "inspect":
        return plan
    if wanted == "absent":
        if local in IN_SWARM:
            if info_swarm.get("ControlAvailable") and not desired["force"]:
                raise ValueError(
                    "node %s is a swarm manager: leaving could cost the cluster its quorum, so nothing was changed. "
                    "Demote it first (berth.engine.swarm_node role=worker on another manager), or set force: true "
                    "(on the last manager that destroys the cluster)" % info_swarm.get("NodeID"))
            plan.add("leave", force=desired["force"])
            plan.differ("state", local, "inactive")
        return plan
    if state.get("quorum_lost") and wanted in ("present", "join"):
        return _plan_quorum_lost(plan, desired, info_swarm, state["quorum_lost"])
    if local == "locked":
        if not desired["unlock_key"]:
            raise ValueError("this manager's swarm is locked (autolock) after a daemon restart: give unlock_key "
                             "(the key `docker swarm unlock-key` printed) to unlock it")
        plan.add("unlock")
        plan.differ("locked", True, False)
        return plan
    if local in IN_SWARM:
        check_same_swarm(desired, info_swarm, swarm)
        if local == "error":
            raise ValueError("this node is in swarm state 'error' (%s); make it leave (state=absent, force=true) and "
                             "join again" % (info_swarm.get("Error") or "no detail"))
        return _plan_spec(plan, desired, swarm, info_swarm)
    if wanted == "present":
        plan.add("init", body=init_body(desired))
        _wait_for_signing_ca(plan, desired)
    else:
        plan.add("join", body=join_body(desired))
    plan.differ("state", local, "active")
    for (section, key), value in desired["spec"].items():
        plan.after[_option_of((section, key))] = value
    plan.after.update(desired["init_only"] if wanted == "present" else {})
    return plan


def quorum_lost_message(info_swarm, engine_said):
    """What a manager whose raft has no leader tells the operator: what it means and what to do."""
    managers = sorted(m.get("Addr") for m in info_swarm.get("RemoteManagers") or [])
    return ("the swarm has lost its quorum: this manager (node %s at %s) cannot reach a majority of the swarm's "
            "%s managers (%s), so the cluster can change nothing (the engine says: %s). Nothing was changed. Bring "
            "the managers that are down back (start their Docker engines, restore the network between them): the "
            "swarm heals by itself once a majority answers, with its services, secrets and node IDs. Do not make "
            "hosts leave or join again. Only if a majority of the managers is lost for good, re-form the cluster "
            "from this manager with force_new_cluster: true (state=present): it keeps the services, secrets and "
            "configs but makes this the only manager; the lost managers must then leave and join again"
            % (info_swarm.get("NodeID") or "?", info_swarm.get("NodeAddr") or "?",
               info_swarm.get("Managers") or len(managers), ", ".join(managers) or "unknown", engine_said))


def _plan_quorum_lost(plan, desired, info_swarm, engine_said):
    if desired["state"] != "present" or not desired["force_new_cluster"]:
        raise ValueError(quorum_lost_message(info_swarm, engine_said))
    body = {"ListenAddr": desired["listen_addr"], "ForceNewCluster": True,
            "AdvertiseAddr": desired["advertise_addr"] or info_swarm.get("NodeAddr")}
    if desired["data_path_addr"]:
        body["DataPathAddr"] = desired["data_path_addr"]
    plan.add("force_new_cluster", body=body)
    plan.differ("managers", info_swarm.get("Managers"), 1)
    return plan


def quorum_lost_layout_message(answering, silent_managers):
    return ("the swarm has lost its quorum: manager(s) %s answer but cannot reach a majority of the managers; "
            "declared managers that did not answer this run: %s. Nothing was changed, and no host should leave or "
            "join. Bring the managers that are down back (start their Docker engines, restore the network): the "
            "swarm heals by itself once a majority answers, then run again. Only if they are lost for good, "
            "re-form the cluster from one manager with berth.engine.swarm force_new_cluster: true (see "
            "docs/clusters.md, When managers fail)"
            % (", ".join(answering), ", ".join(sorted(silent_managers)) or "none (check the managers' network)"))


def _plan_spec(plan, desired, swarm, info_swarm):
    asked = [_option_of(k) for k in desired["spec"]] + list(desired["init_only"]) + desired["rotate"]
    if desired["signing_ca"]:
        asked.append("signing_ca_cert")
    if not asked:
        return plan
    if swarm is None:
        raise ValueError("node %s is a swarm worker: the cluster settings (%s) can only be changed on a manager"
                         % (info_swarm.get("NodeID"), ", ".join(asked)))
    _refuse_init_only_changes(desired, swarm)
    current = swarm.get("Spec") or {}
    differences = spec_differences(desired["spec"], current)
    new_spec = updated_spec(current, desired["spec"])
    ca_cert = desired["signing_ca"] and desired["signing_ca"][0]
    if ca_cert and ca_cert != ((swarm.get("TLSInfo") or {}).get("TrustRoot") or "").strip():
        # A new signing CA: the engine rotates every node's certificate to it.
        new_spec["CAConfig"] = dict(new_spec.get("CAConfig") or {}, SigningCACert=ca_cert,
                                    SigningCAKey=desired["signing_ca"][1])
        differences.append(("signing_ca_cert", "the current root CA", "the given CA"))
    if differences:
        for option, before, after in differences:
            plan.differ(option, before, after)
        plan.add("update", spec=new_spec, version=(swarm.get("Version") or {}).get("Index"),
                 options=[d[0] for d in differences])
        if ca_cert and differences[-1][0] == "signing_ca_cert":
            _wait_for_signing_ca(plan, desired)
    for what in desired["rotate"]:
        # An explicit action: it happens on every run that asks for it, and reports so (never the token).
        plan.differ(what, "current", "rotated")
        plan.add("rotate_" + what)
    return plan


def _wait_for_signing_ca(plan, desired):
    """The engine moves to a signing CA by a root rotation that ends after the call (at init too): wait for it,
    so the next run reads the new root and changes nothing (it would rotate again while the old one shows)."""
    if desired["signing_ca"]:
        plan.PASSIVE = Plan.PASSIVE | {"wait_root_ca"}
        plan.add("wait_root_ca", cert=desired["signing_ca"][0])


def _refuse_init_only_changes(desired, swarm):
    for option, key in INIT_ONLY:
        wanted = desired["init_only"].get(option)
        # A swarm created without them reports 0 (or nothing): the engine's defaults are in use.
        have = swarm.get(key) or {"data_path_port": DEFAULT_DATA_PATH_PORT, "subnet_size": DEFAULT_SUBNET_SIZE,
                                  "default_addr_pool": DEFAULT_ADDR_POOL}[option]
        if wanted is not None and wanted != have:
            raise ValueError("%s is %s in this swarm, not %s: the engine takes it only when the swarm is created "
                             "(init), and networks already use it; nothing was changed. Keep the current value, or "
                             "re-create the cluster to change it" % (option, have, wanted))


def swarm_facts(info_swarm, swarm, nodes=None, quorum_lost=False):
    """What the module returns about the local node and its cluster (never a token)."""
    local = info_swarm.get("LocalNodeState") or "inactive"
    facts = {
        "local_node_state": local,
        "node_id": info_swarm.get("NodeID") or None,
        "node_addr": info_swarm.get("NodeAddr") or None,
        "is_manager": bool(info_swarm.get("ControlAvailable")),
        "role": None if local not in IN_SWARM else ("manager" if info_swarm.get("ControlAvailable") else "worker"),
        "cluster_id": (swarm or {}).get("ID") or ((info_swarm.get("Cluster") or {}).get("ID")) or None,
        "managers": sorted(m.get("Addr") for m in info_swarm.get("RemoteManagers") or []),
        "quorum_lost": bool(quorum_lost),
    }
    if nodes is not None:
        facts["nodes"] = [node_summary(n) for n in nodes]
    return facts


# --- nodes ---------------------------------------------------------------------------------

NODE_ROLES = ("manager", "worker")
AVAILABILITIES = ("active", "pause", "drain")


def desired_node(params):
    """Validate the swarm_node module's parameters."""
    name = params.get("node")
    if not name:
        raise ValueError("node is required (a node ID or hostname)")
    labels_state = params.get("labels_state") or "merge"
    if labels_state not in ("merge", "replace"):
        raise ValueError("labels_state must be merge or replace, got %r" % labels_state)
    for option, choices in (("role", NODE_ROLES), ("availability", AVAILABILITIES)):
        if params.get(option) is not None and params[option] not in choices:
            raise ValueError("%s must be one of %s, got %r" % (option, ", ".join(choices), params[option]))
    both = sorted(set(params.get("labels") or {}) & {str(k) for k in params.get("labels_to_remove") or []})
    if both:
        raise ValueError("labels %s are both set (labels) and removed (labels_to_remove); keep them in one"
                         % ", ".join(both))
    return {
        "name": name,
        "state": params.get("state") or "present",
        "role": params.get("role"),
        "availability": params.get("availability"),
        "labels": as_text_map(params.get("labels"), "labels"),
        "labels_state": labels_state,
        "labels_to_remove": [str(k) for k in params.get("labels_to_remove") or []],
        "force": bool(params.get("force")),
    }


def node_summary(node):
    spec = node.get("Spec") or {}
    manager = node.get("ManagerStatus") or {}
    return {
        "id": node.get("ID"),
        "hostname": (node.get("Description") or {}).get("Hostname"),
        "role": spec.get("Role"),
        "availability": spec.get("Availability"),
        "labels": spec.get("Labels") or {},
        "state": (node.get("Status") or {}).get("State"),
        "addr": (node.get("Status") or {}).get("Addr"),
        "reachability": manager.get("Reachability"),
        "leader": bool(manager.get("Leader")),
    }


def find_node(nodes, ref):
    """The node whose ID or hostname is `ref`. A rebuilt host leaves a down entry with its hostname behind:
    among several with one hostname the ones not down count; still several is an error naming them."""
    for node in nodes:
        if node.get("ID") == ref:
            return node
    named = [n for n in nodes if (n.get("Description") or {}).get("Hostname") == ref]
    if len(named) > 1:
        named = [n for n in named if (n.get("Status") or {}).get("State") != "down"] or named
    if len(named) > 1:
        raise ValueError("node %s is ambiguous: nodes %s have that hostname; use the node ID"
                         % (ref, ", ".join(n["ID"] for n in named)))
    return named[0] if named else None


def _plan_node_labels(plan, desired, labels, new_spec):
    """labels (merged, or the whole set with labels_state=replace), then labels_to_remove dropped."""
    if desired["labels"] is None and not desired["labels_to_remove"]:
        return
    wanted, before, after = dict(labels), {}, {}
    if desired["labels"] is not None:
        if desired["labels_state"] == "replace":
            wanted, before = dict(desired["labels"]), dict(labels)
        else:
            wanted.update(desired["labels"])
            before = {k: labels[k] for k in desired["labels"] if k in labels}
        after = dict(desired["labels"])
    for key in desired["labels_to_remove"]:
        if key in wanted:
            del wanted[key]
            before[key] = labels[key]
    if wanted != labels:
        plan.differ("labels", before, after)
        new_spec["Labels"] = wanted


def _demotion_refusal(name, node, nodes):
    """Why the engine would refuse to demote this manager (as it checks it), or None.

    The engine keeps a demotion only when the managers left are a majority reachable: never the last
    manager. Predicted here so check mode and the real run say the same.
    """
    others = [n for n in nodes if n.get("ID") != node.get("ID") and (n.get("Spec") or {}).get("Role") == "manager"]
    if not others:
        return ("node %s is the swarm's only manager: it cannot be demoted (the swarm would have none); promote "
                "another node first (role: manager)" % name)
    reachable = [n for n in others if (n.get("ManagerStatus") or {}).get("Reachability") == "reachable"]
    if len(reachable) < majority(len(others)):
        return ("demoting node %s would leave %d reachable manager(s) of %d, fewer than the majority the swarm needs "
                "to keep its quorum; bring the others back first" % (name, len(reachable), len(others)))
    return None


def plan_node(desired, node, nodes=None):
    """Actions for one node (its document from GET /nodes, or None); nodes: the whole listing, for a demotion."""
    plan = Plan("swarm node", desired["name"])
    plan.PASSIVE = Plan.PASSIVE | {"wait_drained"}  # waiting for a drain that is done changes nothing
    if desired["state"] == "absent":
        if node is None:
            return plan
        if (node.get("Spec") or {}).get("Role") == "manager" or node.get("ManagerStatus"):
            raise ValueError("node %s (%s) is a manager: demote it first (role: worker) so the managers keep their "
                             "quorum, then remove it" % (desired["name"], node.get("ID")))
        plan.add("remove", id=node["ID"], force=desired["force"],
                 wait_down=not desired["force"] and (node.get("Status") or {}).get("State") != "down")
        plan.differ("state", "present", "absent")
        return plan
    if node is None:
        raise ValueError("there is no node %s in this swarm; nodes join with berth.engine.swarm state=join"
                         % desired["name"])
    spec = dict(node.get("Spec") or {})
    new_spec = dict(spec)
    for key, option in (("Role", "role"), ("Availability", "availability")):
        if desired[option] is not None and spec.get(key) != desired[option]:
            plan.differ(option, spec.get(key), desired[option])
            new_spec[key] = desired[option]
    _plan_node_labels(plan, desired, spec.get("Labels") or {}, new_spec)
    if spec.get("Role") == "manager" and new_spec.get("Role") == "worker" and nodes is not None:
        refusal = _demotion_refusal(desired["name"], node, nodes)
        if refusal:
            raise ValueError(refusal)
    if new_spec != spec:
        plan.add("update", id=node["ID"], spec=new_spec, version=(node.get("Version") or {}).get("Index"),
                 options=sorted(plan.after))
    # A down node reports nothing more: its tasks were rescheduled already and never say they stopped.
    if desired["availability"] == "drain" and (node.get("Status") or {}).get("State") != "down":
        plan.add("wait_drained", id=node["ID"])
    return plan


# --- membership of the whole cluster: the quorum guard ---------------------------------------


def majority(count):
    return count // 2 + 1


def quorum_refusal(nodes, promote=(), demote=(), remove=(), force=False):
    """Why the membership plan must not run, or None when it may.

    nodes: node summaries (node_summary) of the cluster now; promote/demote/remove: node IDs.
    Promotions run first, so promoted nodes that are ready count as reachable managers. The plan is
    refused when the managers left reachable are fewer than a majority of the current managers or of
    the managers after the plan, or when the plan leaves an even number of managers (which tolerates no
    more failures than one fewer), unless force.
    """
    if force:
        return None
    by_id = {n["id"]: n for n in nodes}
    current = {n["id"] for n in nodes if n["role"] == "manager"}
    reachable = {n["id"] for n in nodes if n["role"] == "manager" and n.get("reachability") == "reachable"}
    promoted = {i for i in promote if i in by_id and by_id[i]["role"] != "manager"}
    leaving = (set(demote) | set(remove)) & current
    after = (current - leaving) | promoted
    reachable_after = (reachable - leaving) | {i for i in promoted if by_id[i].get("state") == "ready"}
    if not leaving and not promoted:
        return None
    hint = "; set berth_swarm_force: true (force) to run it anyway"
    if current and len(reachable_after) < majority(len(current)):
        return ("refused: the plan leaves %d reachable manager(s) of the %d there are now, fewer than the majority "
                "(%d) the cluster needs to keep its quorum; nothing was changed%s"
                % (len(reachable_after), len(current), majority(len(current)), hint))
    if after and len(reachable_after) < majority(len(after)):
        return ("refused: after the plan %d of its %d managers would be reachable, fewer than a majority; nothing "
                "was changed%s" % (len(reachable_after), len(after), hint))
    if len(after) % 2 == 0:
        return ("refused: the plan leaves %d managers, an even number, which tolerates no more failures than %d; "
                "declare an odd number of managers; nothing was changed%s" % (len(after), len(after) - 1, hint))
    return None


def membership_plan(nodes, declared, force=False):
    """What the swarm role does to the cluster, as node IDs, in order.

    nodes: node summaries of the cluster; declared: {node ID: 'manager' | 'worker'} for the declared hosts
    that are in it. Undeclared nodes are removed (demoted first if they are managers).
    Returns {'promote', 'demote', 'remove', 'refusal'}.
    """
    by_id = {n["id"]: n for n in nodes}
    promote = sorted(i for i, role in declared.items() if role == "manager" and i in by_id
                     and by_id[i]["role"] != "manager")
    demote = sorted(i for i, role in declared.items() if role == "worker" and i in by_id
                    and by_id[i]["role"] == "manager")
    remove = sorted(i for i in by_id if i not in declared)
    demote += [i for i in remove if by_id[i]["role"] == "manager"]
    return {"promote": promote, "demote": demote, "remove": remove,
            "refusal": quorum_refusal(nodes, promote, demote, remove, force)}


ARGUMENT_SPEC_SWARM = dict(
    state=dict(type="str", default="present", choices=list(SWARM_STATES)),
    advertise_addr=dict(type="str"),
    listen_addr=dict(type="str", default="0.0.0.0:2377"),
    data_path_addr=dict(type="str"),
    remote_addrs=dict(type="list", elements="str"),
    join_token=dict(type="str", no_log=True),
    cluster_id=dict(type="str"),
    force=dict(type="bool", default=False),
    unlock_key=dict(type="str", no_log=True),
    force_new_cluster=dict(type="bool", default=False),
    snapshot_interval=dict(type="int"),
    keep_old_snapshots=dict(type="int"),
    log_entries_for_slow_followers=dict(type="int"),
    election_tick=dict(type="int"),
    heartbeat_tick=dict(type="int"),
    labels=dict(type="dict"),
    default_addr_pool=dict(type="list", elements="str"),
    subnet_size=dict(type="int"),
    data_path_port=dict(type="int"),
    rotate_worker_token=dict(type="bool", default=False),
    rotate_manager_token=dict(type="bool", default=False),
    ca_force_rotate=dict(type="bool", default=False),
    signing_ca_cert=dict(type="str", no_log=True),
    signing_ca_key=dict(type="str", no_log=True),
    dispatcher_heartbeat=dict(type="str"),
    node_cert_expiry=dict(type="str"),
    task_history_limit=dict(type="int"),
    autolock=dict(type="bool"),
    return_tokens=dict(type="bool", default=False),
    list_nodes=dict(type="bool", default=False),
)

ARGUMENT_SPEC_NODE = dict(
    node=dict(type="str", required=True, aliases=["name", "hostname"]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    role=dict(type="str", choices=list(NODE_ROLES)),
    availability=dict(type="str", choices=list(AVAILABILITIES)),
    labels=dict(type="dict"),
    labels_state=dict(type="str", default="merge", choices=["merge", "replace"]),
    labels_to_remove=dict(type="list", elements="str"),
    force=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=120),
)


# --- the swarm role's view of the declared hosts ----------------------------------------------


def swarm_layout(hosts, silent_managers=()):
    """Where the swarm role starts from: which host inits, or which manager everyone joins through.

    hosts: {inventory host: {'declared': 'manager' | 'worker' | None, 'swarm': the swarm module's facts}}
    in inventory order; silent_managers: declared managers that did not answer this run.
    Returns {'init': host or None, 'entry': host or None, 'error': message or None}.
    A second cluster is never made: when any declared host is in a swarm, nobody inits.
    """
    declared = [h for h, v in hosts.items() if v.get("declared") in NODE_ROLES]
    layout = {"init": None, "entry": None, "error": None}
    lost = [h for h in declared if (hosts[h].get("swarm") or {}).get("quorum_lost")]
    if lost:
        layout["error"] = quorum_lost_layout_message(lost, silent_managers)
        return layout
    clusters = {}
    for host in declared:
        facts = hosts[host].get("swarm") or {}
        if facts.get("is_manager") and facts.get("local_node_state") == "active" and facts.get("cluster_id"):
            clusters.setdefault(facts["cluster_id"], []).append(host)
    if len(clusters) > 1:
        layout["error"] = ("the declared hosts are in different swarms: %s. Berth never merges clusters; make the "
                           "hosts of the wrong one leave (berth.engine.swarm state=absent) and run again"
                           % "; ".join("%s in %s" % (", ".join(h), c) for c, h in sorted(clusters.items())))
        return layout
    members = clusters and next(iter(clusters.values()))
    managers_first = [h for h in members or [] if hosts[h]["declared"] == "manager"] + list(members or [])
    if managers_first:
        layout["entry"] = managers_first[0]
        return layout
    in_swarm = [h for h in declared if (hosts[h].get("swarm") or {}).get("local_node_state") in IN_SWARM]
    if in_swarm:
        layout["error"] = ("%s %s in a swarm, but no declared host is one of its managers that answers (managers "
                           "known: %s). Declare a manager of that swarm, unlock it, or make the hosts leave"
                           % (", ".join(in_swarm), "is" if len(in_swarm) == 1 else "are",
                              ", ".join(sorted({a for h in in_swarm for a in hosts[h]["swarm"].get("managers") or []}))
                              or "none"))
        return layout
    first_managers = [h for h in declared if hosts[h]["declared"] == "manager"]
    if first_managers:
        layout["init"] = layout["entry"] = first_managers[0]
    elif declared:
        layout["error"] = "workers are declared (%s) but no manager: add a host to the managers group" % ", ".join(
            declared)
    return layout
