"""The pure parts of a stack's all-or-nothing rollback: the journal, the undo order, the summary line."""
from __future__ import annotations

import threading

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError
from ansible_collections.berth.engine.plugins.module_utils.stack_rollback import (
    Journal,
    empty_report,
    restore_body,
    rollback_summary,
    undo_steps,
)

OLD_WEB = "3f2a1b2c3d4e" + "0" * 52
NEW_WEB = "9" * 64


def _run_of_a_stack():
    """What a run that created a network and a volume, recreated web, created db, updated cache records."""
    journal = Journal()
    journal.record("networks", "shop", "created", id="n1")
    journal.record("volumes", "shop-db", "created", id=None)
    journal.record("containers", "web", "recreated", id=NEW_WEB, old=OLD_WEB, was_running=True)
    journal.record("containers", "db", "created", id="db1")
    journal.record("containers", "db", "started", id="db1")  # removed anyway: no step of its own
    journal.record("containers", "cache", "updated", id="c1", previous={"Memory": 0})
    journal.record("containers", "idle", "stopped", id="i1")
    return journal


def test_undo_is_the_reverse_of_the_changes_containers_first():
    steps = undo_steps(_run_of_a_stack().entries)
    assert [(s["kind"], s["name"], s["change"]) for s in steps] == [
        ("containers", "idle", "stopped"),
        ("containers", "cache", "updated"),
        ("containers", "db", "created"),
        ("containers", "web", "recreated"),
        ("networks", "shop", "created"),
        ("volumes", "shop-db", "created"),
    ]


def test_networks_and_volumes_come_after_containers_recorded_later_or_earlier():
    journal = Journal()
    journal.record("containers", "a", "created", id="a1")
    journal.record("volumes", "v", "created", id=None)
    journal.record("networks", "n", "created", id="n1")
    journal.record("images", "busybox", "pulled")  # not undone: images stay
    journal.record("containers", "b", "started", id="b1")
    assert [s["name"] for s in undo_steps(journal.entries)] == ["b", "a", "n", "v"]


def test_a_container_recreated_twice_in_a_run_is_restored_newest_first():
    """A crash's aside kept by recovery, then the recovered container recreated again: undo both, newest first."""
    journal = Journal()
    journal.record("containers", "web", "recreated", id="mid", old="orig", was_running=True)
    journal.record("containers", "web", "recreated", id="new", old="mid", was_running=True)
    assert [s["old"] for s in undo_steps(journal.entries)] == ["mid", "orig"]


def test_a_start_repair_moves_the_journal_to_the_new_id():
    journal = Journal()
    journal.record("containers", "db", "created", id="stale")
    journal.replace_id("stale", "fresh")
    journal.record("containers", "db", "started", id="fresh")
    assert [(s["change"], s["id"]) for s in undo_steps(journal.entries)] == [("created", "fresh")]


def test_kept_aside_lists_the_old_containers_to_remove_on_success():
    assert _run_of_a_stack().kept_aside() == [("web", OLD_WEB)]


def test_journal_takes_entries_from_many_threads():
    journal = Journal()
    threads = [threading.Thread(target=lambda i=i: [journal.record("containers", "c%d" % i, "created", id=str(j))
                                                    for j in range(200)]) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.entries) == 1600


def test_summary_names_what_was_restored_removed_and_kept():
    report = empty_report()
    report["containers"]["restored"].append("web (3f2a1b2c3d4e)")
    report["containers"]["removed"].append("db")
    report["networks"]["removed"].append("x")
    report["volumes"]["kept"].append("data (not empty)")
    assert rollback_summary(report) == (
        "rolled back: restored web (3f2a1b2c3d4e); removed db, network x; kept volume data (not empty)")
    assert rollback_summary(empty_report()) == "rolled back: nothing had changed"


def test_summary_says_what_was_not_undone():
    report = empty_report()
    report["failed"].append("container web: putting back the previous container failed (gone): it waits, "
                            "stopped, as web_berth_old_3f2a1b2c3d4e")
    line = rollback_summary(report)
    assert line.startswith("rolled back: nothing had changed; NOT undone: container web")
    assert "web_berth_old_3f2a1b2c3d4e" in line


def test_restore_body_leaves_out_what_the_engine_did_not_report():
    assert restore_body({"Memory": 0, "MemorySwap": None, "CpuShares": 512}) == {"Memory": 0, "CpuShares": 512}


class _Client:
    """Just enough of the engine client for undo(): records the calls, fails the ones named in `failing`."""

    def __init__(self, failing=(), documents=None):
        self.calls, self.failing, self.documents = [], set(failing), documents or {}

    def _call(self, *call):
        self.calls.append(call)
        if call[:2] in self.failing:
            raise EngineError("the engine said no")

    def remove(self, kind, name, params=None):
        self._call("remove", name)

    def act(self, kind, name, verb, params=None, body=None):
        self._call(verb, name)

    def inspect(self, kind, name):
        return self.documents.get(name)


def test_undo_runs_every_step_and_reports_the_ones_that_failed(tmp_path):
    from ansible_collections.berth.engine.plugins.module_utils.stack_rollback import undo

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "data").write_text("x")
    (tmp_path / "empty").mkdir()
    journal = Journal()
    journal.record("volumes", "empty", "created", id=None)
    journal.record("volumes", "full", "created", id=None)
    journal.record("containers", "web", "recreated", id=NEW_WEB, old=OLD_WEB, was_running=True)
    journal.record("containers", "db", "created", id="db1")
    documents = {"web": {"Id": NEW_WEB}, "empty": {"Driver": "local", "Mountpoint": str(tmp_path / "empty")},
                 "full": {"Driver": "local", "Mountpoint": str(tmp_path / "full")}}
    client = _Client(failing={("rename", OLD_WEB)}, documents=documents)
    report = undo(client, journal, local=True)
    assert client.calls == [("remove", "db1"), ("remove", NEW_WEB), ("rename", OLD_WEB), ("remove", "empty")]
    assert report["containers"]["removed"] == ["db"] and report["volumes"]["removed"] == ["empty"]
    assert report["volumes"]["kept"] == ["full (not empty)"]
    assert report["failed"] == ["container web: putting back the previous container failed (the engine said no): "
                                "it waits, stopped, as web_berth_old_3f2a1b2c3d4e, and the next run finishes it"]
    assert "NOT undone: container web" in rollback_summary(report)
    remote = undo(_Client(documents=documents), journal, local=False)["volumes"]
    assert not remote["removed"] and [v.split(" ", 1)[0] for v in remote["kept"]] == ["full", "empty"]
    assert "the engine is not local" in remote["kept"][0]
