"""The workloads role on this machine: build contexts laid out only when they changed.

Each test runs the role on localhost with its own stack, build root, context
and image (unique names), against the shared dockerd. What the role did is
observed on disk and with the Docker SDK; which tasks ran comes from the
playbook's JSON callback.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.ansible import run_playbook

DIGEST_SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "workloads" / "files" / "context_digest.py"

PLAYBOOK = """
- name: Workloads only
  hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.workloads
"""
LAYOUT = "Lay out the changed build contexts"
COPY = "Copy the build contexts from the controller"


def _workload(tmp_path, name):
    src = tmp_path / "src"
    (src / "www").mkdir(parents=True)
    (src / "Dockerfile").write_text("FROM berth-test/busybox:latest\nCOPY www/ /www/\nCOPY tool /bin/tool\n")
    (src / "www" / "index.html").write_text("one\n")
    (tmp_path / "tool").write_text("#!/bin/sh\necho tool\n")
    root = tmp_path / "build"
    image = f"{name}:1"
    return src, root, image, {
        "berth_stack_name": name,
        "berth_networks": [],  # not the sample workload of inventories/local
        "berth_volumes": [],
        "berth_build_root": str(root),
        "berth_workloads_packages": ["coreutils"],  # installed everywhere: only asked about
        "berth_build_contexts": [{
            "name": "app", "src": str(src),
            "host_files": [{"src": str(tmp_path / "tool"), "dest": "tool", "mode": "0755"}],
        }],
        "berth_images": [{"name": image, "build": {"path": str(root / "app")}}],
        "berth_containers": [{"name": name, "image": image, "pull": "never", "command": ["sleep", "600"],
                              "state": "started"}],
    }


def _ran(run, task):
    return [t for t in run.tasks if t["task"] == task and not t.get("skipped")]


def test_unchanged_contexts_cost_no_layout_and_changed_ones_rebuild(tmp_path, docker_client, test_images,
                                                                    unique_name, cleanup):
    cleanup.container(unique_name)
    src, root, image, extra_vars = _workload(tmp_path, unique_name)
    cleanup.image(image)

    first = run_playbook(PLAYBOOK, extra_vars=extra_vars)
    assert not first.failed, first.describe()
    assert _ran(first, COPY), first.describe()
    digest = (root / "app.digest").read_text().strip()
    assert len(digest) == 64 and (root / "app" / "www" / "index.html").read_text() == "one\n"
    assert (root / "app" / "tool").stat().st_mode & 0o777 == 0o755
    built = docker_client.images.get(image).id
    container = docker_client.containers.get(unique_name)
    assert container.image.id == built and container.status == "running"

    # Nothing changed: no layout, no package query, no rebuild, changed=0.
    second = run_playbook(PLAYBOOK, extra_vars=extra_vars)
    assert not second.failed, second.describe()
    assert second.recap["localhost"]["changed"] == 0, [t["task"] for t in second.tasks if t["changed"]]
    assert not _ran(second, LAYOUT) and not _ran(second, COPY)
    assert not _ran(second, "Ask the package database which of them are installed")
    assert docker_client.images.get(image).id == built

    # An edited file and a removed one: laid out afresh, rebuilt, rolled out.
    (src / "www" / "index.html").write_text("two\n")
    (src / "www" / "old.html").write_text("stale\n")
    third = run_playbook(PLAYBOOK, extra_vars=extra_vars)
    assert not third.failed, third.describe()
    (src / "www" / "old.html").unlink()
    fourth = run_playbook(PLAYBOOK, extra_vars=extra_vars)
    assert not fourth.failed, fourth.describe()
    assert _ran(fourth, COPY), fourth.describe()
    assert not (root / "app" / "www" / "old.html").exists()
    assert (root / "app.digest").read_text().strip() not in (digest, "")
    rebuilt = docker_client.images.get(image).id
    assert rebuilt != built
    assert docker_client.containers.get(unique_name).image.id == rebuilt


def test_digest_covers_paths_and_contents_not_timestamps(tmp_path):
    """The controller-side digest, run as the role runs it (the pipe lookup)."""
    src = tmp_path / "ctx"
    (src / "a").mkdir(parents=True)
    (src / "a" / "f").write_text("x")
    probe = """
- name: Digest
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Show it
      ansible.builtin.debug:
        msg: "{{ lookup('ansible.builtin.pipe', ansible_playbook_python ~ ' ' ~ script ~ ' ' ~ (dir | quote)) }}"
"""

    def digest():
        run = run_playbook(probe, extra_vars={"dir": str(src), "script": str(DIGEST_SCRIPT)})
        assert not run.failed, run.describe()
        return run.task("Show it")["result"]["msg"]

    before = digest()
    assert len(before) == 64
    (src / "a" / "f").touch()
    assert digest() == before
    (src / "a" / "f").rename(src / "a" / "g")
    renamed = digest()
    assert renamed != before
    (src / "a" / "g").write_text("y")
    assert digest() not in (before, renamed)
