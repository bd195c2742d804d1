# Test-only stdout callback: collects every task result and prints ONE JSON
# document at the end of the run, so tests can assert on changed/failed/diff
# and on the full module result without scraping human-oriented output.
from __future__ import annotations

import json
import re

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: berth_json
    type: stdout
    short_description: one JSON document with every task result (Berth tests)
    description:
      - Prints a marker line followed by a single JSON document at the end of the run.
      - Keeps C(diff) and C(exception); drops C(_ansible_*) keys except C(_ansible_no_log).
"""

# The test harness looks for this line; everything after it is the document.
MARKER = "=== BERTH_JSON ==="


def _clean(value):
    """Strip _ansible_* noise recursively, keeping _ansible_no_log."""
    if isinstance(value, dict):
        return {
            str(k): _clean(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("_ansible_") and k != "_ansible_no_log")
        }
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


_CAUSE = re.compile(r"^The above (?:\w+ )?exception was the direct cause of the following (?:\w+ )?exception:$", re.M)


def _exception_text(raw):
    """The Python traceback behind a failure, or None when the failure was a deliberate one.

    ansible-core 2.19 attaches an `exception` to every failure; with
    ANSIBLE_DISPLAY_TRACEBACK=error its first segment is where it started. A plain
    fail_json()/fail ends that segment with "Message: ..." or "(traceback missing)",
    Ansible's own errors with "ansible.errors...."; anything else is a real exception
    (unhandled in the module, or handed to fail_json(exception=...)).
    """
    if isinstance(raw.get("results"), list):  # loops: any item counts
        texts = [t for t in (_exception_text(r) for r in raw["results"] if isinstance(r, dict)) if t]
        return "\n\n".join(texts) or None
    msg = str(raw.get("msg", ""))
    if "MODULE FAILURE" in msg or "deserialization failed" in msg:  # module printed no JSON
        return "\n".join(str(raw.get(k) or "") for k in ("msg", "module_stderr", "module_stdout")).strip()
    tb = raw.get("exception")
    if not isinstance(tb, str) or not tb.strip():
        return None
    origin = _CAUSE.split(tb)[0].strip()
    last = origin.splitlines()[-1] if origin else ""
    if last.startswith(("Message: ", "(traceback missing)", "(traceback unavailable)", "ansible.")):
        return None
    return origin


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "berth_json"

    def __init__(self, display=None):
        super().__init__(display)
        self._play = None
        self._tasks = []
        self._plays = []

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()
        self._plays.append(self._play)

    def _record(self, result, status, ignore_errors=False):
        raw = dict(result.result)
        try:
            action = result.task.resolved_action or result.task.action
        except AttributeError:
            action = result.task.action
        entry = {
            "play": self._play,
            "task": result.task_name,
            "action": action,
            "host": result.host.get_name(),
            "status": status,
            "changed": bool(raw.get("changed", False)),
            "failed": status == "failed",
            "skipped": status == "skipped",
            "unreachable": status == "unreachable",
            "ignore_errors": bool(ignore_errors),
            "msg": raw.get("msg"),
            "diff": raw.get("diff"),
            "exception": _exception_text(raw),
            "result": _clean(raw),
        }
        self._tasks.append(entry)

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result.is_changed() else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_on_async_failed(self, result):
        self._record(result, "failed")

    def v2_playbook_on_stats(self, stats):
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        doc = {"plays": self._plays, "tasks": self._tasks, "stats": recap}
        self._display.display(MARKER)
        # default=str: anything exotic left in a result must not break the run.
        self._display.display(json.dumps(doc, default=str, sort_keys=True))
