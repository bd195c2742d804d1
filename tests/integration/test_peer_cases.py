"""community.docker's swarm integration cases, ported to Berth's modules as data and run on a private swarm.

Each file in tests/integration/peer_cases/ holds one of their targets as Berth cases (see the README there):
per case the module, its args and what must come of it (changed or not, a failure and a fragment of
its message, values of the engine object read afterwards). All cases run in ONE ansible-playbook (a
play per file, a task per case) on a private single-node swarm; the peer_observer callback reads the
case's object through the Docker SDK right after the task, so every assertion about the engine comes
from the engine, not from Berth's result. Each case is its own pytest item, named
<file>/<group>/<case>, so a failure names the case.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.support.ansible import CALLBACK_DIR, OUTPUT_DIR, run_playbook
from tests.support.private_daemon import private_daemons
from tests.support.swarm_daemon import swarm_fixture

CASES_DIR = Path(__file__).resolve().parent / "peer_cases"
OBSERVER_DIR = CASES_DIR / "callback_plugins"
MISSING = object()

swarm = swarm_fixture()


def load_targets():
    return [dict(yaml.safe_load(path.read_text()), file=path.stem) for path in sorted(CASES_DIR.glob("*.yml"))]


def expand(value, subs):
    """Placeholders in any string of a case: @p@ (this run's name prefix), @files@ (peer_cases/files,
    absolute: modules run in a temp dir), @node@ and @hostname@ (the swarm's only node), @cluster@ (its ID),
    all read through the SDK."""
    if isinstance(value, str):
        for placeholder, text in subs.items():
            value = value.replace(placeholder, text)
        return value
    if isinstance(value, list):
        return [expand(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, subs) for k, v in value.items()}
    return value


def object_name(subs, group):
    return f"{subs['@p@']}-{group}".replace("_", "-")


def cases_of(target):
    """(case id, group, case) in run order; a case without args repeats the previous case's args."""
    for group, cases in target["groups"].items():
        previous = {}
        listed = cases["cases"] if isinstance(cases, dict) else cases
        if target.get("check_create"):
            # Every group starts with its first case in check mode: a change predicted, nothing created.
            listed = [{**listed[0], "id": f"{listed[0]['id']}-check", "check": True, "changed": True,
                       "observe": {"absent": True}}, *listed]
        for case in listed:
            case = dict(case)
            case.setdefault("args", previous)
            previous = case["args"]
            yield f"{target['file']}/{group}/{case['id']}", group, case


def task_for(target, group, case, subs):
    """The playbook task of one case, and what the observer reads after it (and on which daemon)."""
    module = case.get("module", target["module"])
    args = dict(target.get("defaults", {})) if module == target["module"] else {}
    name = object_name(subs, group)
    if target.get("named", True) and module == target["module"]:
        args["name"] = name
    args.update(case["args"])
    task = {module: expand(args, subs), "ignore_errors": True, "check_mode": bool(case.get("check"))}
    return task, {"kind": case.get("kind", target["kind"]), "name": name, "docker_host": target["docker_host"]}


def steps(cases, key, group, subs):
    """A group's setup or teardown tasks (networks, secrets the cases use)."""
    listed = cases.get(key, []) if isinstance(cases, dict) else []
    return [dict(expand(step, subs), name=f"{key} {group} {i}", ignore_errors=key == "teardown")
            for i, step in enumerate(listed)]


def build_playbook(targets, subs):
    """A play per file, on its daemon (target["docker_host"]), and {case id: what the observer reads}."""
    plays, observe = [], {}
    for target in targets:
        tasks = []
        for group, cases in target["groups"].items():
            tasks += steps(cases, "setup", group, subs)
            for case_id, _group, case in cases_of({**target, "groups": {group: cases}}):
                task, observe[case_id] = task_for(target, group, case, subs)
                tasks.append({"name": case_id, **task})
            if target.get("cleanup", True):
                tasks.append({"name": f"cleanup {group}", "ignore_errors": True,
                              target["module"]: {"name": object_name(subs, group), "state": "absent"}})
            tasks += steps(cases, "teardown", group, subs)
        plays.append({"name": target["file"], "hosts": "localhost", "gather_facts": False, "tasks": tasks,
                      "module_defaults": {"group/berth.engine.docker": {"docker_host": target["docker_host"]}}})
    return plays, observe


ALL_TARGETS = load_targets()
ALL_CASES = [(case_id, case) for target in ALL_TARGETS for case_id, _group, case in cases_of(target)]
# The case run just before each one in its group (None for the first): `observe_changed`/`observe_kept` compare
# against that case's reading.
PREVIOUS = {case_id: (before if before and before.rsplit("/", 1)[0] == case_id.rsplit("/", 1)[0] else None)
            for (before, _b), (case_id, _case) in zip([(None, None), *ALL_CASES], ALL_CASES)}


def shared_swarm_subs(swarm):
    """The placeholders naming the shared swarm's only node and its cluster, read through the SDK."""
    node = swarm.client.nodes.list()[0].attrs
    return {"@node@": node["ID"], "@hostname@": node["Description"]["Hostname"],
            "@cluster@": swarm.client.swarm.attrs["ID"]}


def signing_cas():
    """Two self-signed CAs the swarm can sign node certificates with: @ca1_cert@, @ca1_key@, @ca2_cert@, @ca2_key@."""
    subs = {}
    with tempfile.TemporaryDirectory() as directory:
        for ca in ("ca1", "ca2"):
            cert, key = Path(directory, f"{ca}.pem"), Path(directory, f"{ca}.key")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-subj", f"/CN=berth-peer-{ca}", "-days", "3650", "-keyout", str(key),
                            "-out", str(cert), "-addext", "basicConstraints=critical,CA:TRUE",
                            "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                           check=True, capture_output=True)
            subs[f"@{ca}_cert@"], subs[f"@{ca}_key@"] = cert.read_text(), key.read_text()
    return subs


@pytest.fixture(scope="module")
def recorded(request):
    """Run the cases once (every file with a selected case): {case id: (task entry, SDK reading, run, subs)}.

    Files run on the shared private swarm, except those with `daemon: own`: they get one private daemon of
    their own, in no swarm yet (their cases init, change and leave swarms), whose address is @own_addr@, with two
    CAs to sign with (@ca1_cert@...). Those run in a second ansible-playbook at the same time as the shared
    swarm starts and its files run, so they add little to the wall time.
    """
    selected = {item.callspec.params["case_id"].split("/")[0] for item in request.session.items
                if item.originalname == "test_peer_case"}
    targets = [dict(t) for t in ALL_TARGETS if t["file"] in selected]
    own = [t for t in targets if t.get("daemon") == "own"]
    shared = [t for t in targets if t.get("daemon") != "own"]
    subs = {"@p@": "peer" + secrets.token_hex(2), "@files@": str(CASES_DIR / "files")}
    results = {}
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as pool:
        if own:
            daemon = stack.enter_context(private_daemons(1, "peer"))[0]
            own_subs = {**subs, "@own_addr@": daemon.address, **signing_cas()}
            own_run = pool.submit(run_cases, [dict(t, docker_host=daemon.docker_host) for t in own], own_subs, "own")
        if shared:
            swarm = request.getfixturevalue("swarm")
            shared_subs = {**subs, **shared_swarm_subs(swarm)}
            results.update(run_cases([dict(t, docker_host=swarm.host) for t in shared], shared_subs, "shared"))
        if own:
            results.update(own_run.result())
    return results


def run_cases(targets, subs, tag):
    """One ansible-playbook for the files given: {case id: (task entry, the observer's reading, run, subs)}."""
    plays, observe = build_playbook(targets, subs)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    plan, readings = (OUTPUT_DIR / f"peer-{kind}-{tag}-{subs['@p@']}.json" for kind in ("observe", "readings"))
    plan.write_text(json.dumps(observe))
    try:
        run = run_playbook(yaml.safe_dump(plays, sort_keys=False), extra_env={
            "ANSIBLE_CALLBACK_PLUGINS": f"{CALLBACK_DIR}:{OBSERVER_DIR}", "ANSIBLE_CALLBACKS_ENABLED": "peer_observer",
            "ANSIBLE_PIPELINING": "1",  # no module file copied per task
            "BERTH_PEER_OBSERVE": plan, "BERTH_PEER_READINGS": readings})
        observed = json.loads(readings.read_text())
    finally:
        plan.unlink(missing_ok=True)
        readings.unlink(missing_ok=True)
    entries = {entry["task"]: entry for entry in run.tasks}
    return {case_id: (entries.get(case_id), observed.get(case_id), run, subs) for case_id in observe}


def at(value, path):
    """The value at a dotted path (list indexes are numbers; '@len' is a length); MISSING if absent."""
    for part in path.split("."):
        if part == "@len" and isinstance(value, (list, dict)):
            value = len(value)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def check_outcome(case, entry, substitutions):
    assert not entry["exception"], f"the module crashed:\n{entry['exception']}"
    if "failed" in case:
        fragment = expand(case["failed"], substitutions)
        assert entry["failed"], f"expected a failure containing {fragment!r}, got {entry['result']}"
        assert fragment in (entry["msg"] or ""), entry["msg"]
    else:
        assert not entry["failed"], entry["msg"]
    if "changed" in case:
        assert entry["changed"] is case["changed"], f"changed={entry['changed']}, expected {case['changed']}"
    # Read-only modules: what they return, against values the SDK gave (placeholders).
    for path, expected in expand(case.get("returns", {}), substitutions).items():
        found = at(entry["result"], path)
        if expected is None:  # not returned at all, or null
            assert found in (MISSING, None), f"result {path}: expected nothing, got {found!r}"
        else:
            assert found == expected, f"result {path}: expected {expected!r}, got {found!r}"


def check_observed(case, reading, subs):
    assert "error" not in reading, reading["error"]
    value = reading["value"]
    for path, expected in expand(case.get("observe", {}), subs).items():
        if path == "absent":
            assert (value in (None, [])) is expected, f"expected absent={expected}, read {value}"
            continue
        found = at(value, path)
        if expected is None:  # the engine leaves an unset field out
            assert found in (MISSING, None, [], {}, ""), f"{path}: expected unset, read {found!r}"
        elif expected == "@set@":  # any value (a key, a token), as long as there is one
            assert found not in (MISSING, None, [], {}, ""), f"{path}: expected a value, read {found!r}"
        else:
            assert found == expected, f"{path}: expected {expected!r}, read {found!r}"


@pytest.mark.parametrize("case_id,case", ALL_CASES, ids=[case_id for case_id, _case in ALL_CASES])
def test_peer_case(recorded, case_id, case):
    entry, reading, run, subs = recorded[case_id]
    assert entry is not None, f"no result for {case_id}\n{run.describe()[-3000:]}"
    check_outcome(case, entry, subs)
    if case.get("observe"):
        assert reading is not None, f"no SDK reading for {case_id}"
        check_observed(case, reading, subs)
    if case.get("observe_changed") or case.get("observe_kept"):
        check_since_previous(case, reading, recorded.get(PREVIOUS[case_id], (None, None))[1])


def check_since_previous(case, reading, before):
    """Engine values that must differ from (observe_changed: a rotation) or equal (observe_kept: check mode,
    no rotation asked) those read after the case before (secrets compared without printing them)."""
    assert reading is not None and before is not None, "no SDK reading for this case or the one before"
    for path in case.get("observe_changed", []):
        was, now = at(before["value"], path), at(reading["value"], path)
        assert now is not MISSING and was != now, f"{path}: unchanged since the case before"
    for path in case.get("observe_kept", []):
        was, now = at(before["value"], path), at(reading["value"], path)
        assert was is not MISSING and was == now, f"{path}: changed since the case before"
