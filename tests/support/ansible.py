"""Run Ansible the way a user would (CLI, from the repo root) and get structured results.

Results come from the berth_json stdout callback (tests/support/callback_plugins),
so tests assert on `changed`, `failed`, `diff` and the module's return values.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CALLBACK_DIR = Path(__file__).resolve().parent / "callback_plugins"
MARKER = "=== BERTH_JSON ==="
DEFAULT_INVENTORY = "inventories/local"
OUTPUT_DIR = REPO_ROOT / "tests" / "output"
TIMEOUT = int(os.environ.get("BERTH_TEST_ANSIBLE_TIMEOUT", "900"))


def _bin(name: str) -> str:
    """Prefer the interpreter's own venv (tests run under .venv/bin/python)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _env(extra_env: dict | None) -> dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_STDOUT_CALLBACK="berth_json",
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_DIR),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",  # ad-hoc ignores stdout_callback without it
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_DISPLAY_TRACEBACK="error",  # keep module tracebacks in `exception`
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),  # cwd is the repo, but be explicit
        PYTHONDONTWRITEBYTECODE="1",
    )
    if extra_env:
        env.update({k: str(v) for k, v in extra_env.items()})
    return env


def _describe(cmd, proc) -> str:
    return (
        f"command: {' '.join(cmd)}\nrc: {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


def _parse(cmd, proc) -> dict:
    """Extract the callback's JSON document; never hide stdout/stderr when that fails."""
    out = proc.stdout
    idx = out.rfind(MARKER)
    if idx < 0:
        raise AssertionError("berth_json callback printed no result document\n" + _describe(cmd, proc))
    try:
        return json.loads(out[idx + len(MARKER):].strip().splitlines()[0])
    except (ValueError, IndexError) as exc:
        raise AssertionError(f"unparseable berth_json document: {exc}\n" + _describe(cmd, proc)) from exc


def _run(cmd: list[str], extra_env: dict | None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            cmd, cwd=REPO_ROOT, env=_env(extra_env), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out, err = (x.decode(errors="replace") if isinstance(x, bytes) else x or "" for x in (exc.stdout, exc.stderr))
        raise AssertionError(f"timed out after {TIMEOUT}s: {' '.join(cmd)}\n--- stdout ---\n{out}\n"
                             f"--- stderr ---\n{err}") from None


def run_module(module: str, args: dict | None = None, check: bool = False, diff: bool = False,
               extra_env: dict | None = None, inventory: str | None = None, host: str = "localhost") -> dict:
    """Run one module ad hoc (default: localhost) and return its result dict.

    That is the module's own return values (e.g. r['ping']) plus normalised
    `changed`, `failed`, `skipped`, `unreachable`, `msg`, `diff`, `exception`
    (None unless the module tracebacked), and `_status` (ok/changed/failed/
    skipped/unreachable), `_rc`, `_stdout`, `_stderr`, `_cmd`, `_entry` (the
    callback's full entry).
    """
    cmd = [_bin("ansible"), host, "-i", inventory or DEFAULT_INVENTORY, "-m", module]
    if args:  # ad hoc reads '{}' as a raw-params string, so pass nothing instead
        cmd += ["-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = _run(cmd, extra_env)
    doc = _parse(cmd, proc)
    if len(doc["tasks"]) != 1:
        raise AssertionError(f"expected exactly 1 task result, got {len(doc['tasks'])}\n" + _describe(cmd, proc))
    entry = doc["tasks"][0]
    result = dict(entry["result"])
    # The callback drops 'failed'/'skipped' from results (they are the event); put them back.
    for key in ("changed", "failed", "skipped", "unreachable", "msg", "diff", "exception"):
        result[key] = entry[key]
    result.update(_status=entry["status"], _rc=proc.returncode, _stdout=proc.stdout,
                  _stderr=proc.stderr, _cmd=cmd, _entry=entry)
    return result


@dataclass
class PlaybookRun:
    rc: int
    tasks: list[dict]  # one entry per (task, host), in execution order
    recap: dict[str, dict]  # host -> {'changed', 'failed', 'ok', 'skipped', 'unreachable', ...}
    stdout: str
    stderr: str
    cmd: list[str] = field(default_factory=list)

    def task(self, name: str, host: str | None = None) -> dict:
        """The single result of the task called `name` (optionally for one host)."""
        hits = [t for t in self.tasks if t["task"] == name and (host is None or t["host"] == host)]
        if len(hits) != 1:
            raise AssertionError(f"expected one result for task {name!r}, got {len(hits)}\n{self.describe()}")
        return hits[0]

    @property
    def changed(self) -> bool:
        return any(r["changed"] for r in self.recap.values())

    @property
    def failed(self) -> bool:
        return self.rc != 0 or any(r["failed"] or r.get("unreachable") for r in self.recap.values())

    @property
    def exceptions(self) -> list[dict]:
        return [t for t in self.tasks if t.get("exception")]

    def describe(self) -> str:
        return (f"command: {' '.join(self.cmd)}\nrc: {self.rc}\nrecap: {self.recap}\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}")


def run_playbook(playbook: str | os.PathLike, extra_vars: dict | None = None, check: bool = False,
                 diff: bool = False, inventory: str | None = None, tags: list[str] | str | None = None,
                 extra_env: dict | None = None, limit: str | None = None) -> PlaybookRun:
    """Run a playbook given as a path (relative to the repo root or absolute) or as YAML text.

    YAML text goes to a temp file under tests/output/ (git-ignored, lint-excluded);
    roles and collections still resolve through ansible.cfg (paths relative to it).
    """
    tmp = None
    text = str(playbook)
    if isinstance(playbook, str) and ("\n" in text or text.lstrip().startswith(("-", "["))):
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="playbook-", suffix=".yml", dir=OUTPUT_DIR)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        path = tmp
    else:
        path = text
    cmd = [_bin("ansible-playbook"), "-i", inventory or DEFAULT_INVENTORY, path]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if tags:
        cmd += ["--tags", tags if isinstance(tags, str) else ",".join(tags)]
    if limit:
        cmd += ["--limit", limit]
    try:
        proc = _run(cmd, extra_env)
    finally:
        if tmp:
            os.unlink(tmp)
    doc = _parse(cmd, proc)
    recap = {
        host: {**s, "failed": s.get("failures", 0), "ok": s.get("ok", 0), "changed": s.get("changed", 0)}
        for host, s in doc["stats"].items()
    }
    return PlaybookRun(rc=proc.returncode, tasks=doc["tasks"], recap=recap,
                       stdout=proc.stdout, stderr=proc.stderr, cmd=cmd)


def module_helpers(module: str):
    """(converge, ok, fails) for one module: run it, and assert how it ended.

    A handled failure is fail_json with a message; a crash shows up as MODULE FAILURE,
    'internal error' or a traceback in the message, which every helper rejects.
    """

    def converge(args, **kwargs):
        result = run_module(kwargs.pop("module", module), args, **kwargs)
        msg = result["msg"] or ""
        assert "MODULE FAILURE" not in msg and "internal error" not in msg and "Traceback" not in msg, result
        return result

    def ok(args, **kwargs):
        result = converge(args, **kwargs)
        assert not result["failed"], (result["msg"] or "") + "\n" + result["_stdout"][-3000:]
        return result

    def fails(args, **kwargs):
        result = converge(args, **kwargs)
        assert result["failed"], result
        return result["msg"]

    return converge, ok, fails
