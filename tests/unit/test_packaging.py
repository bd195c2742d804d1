"""`ansible-galaxy collection build` packs the collection and none of the caches, test output or tooling (no daemon).

The build runs on a copy of the files git knows of, into which every kind of clutter a working tree
collects is planted first (caches at the top and deep down, a venv, .git, test output, old tarballs),
so the test shows that galaxy.yml's build_ignore keeps each one out, whatever the tree holds today.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHES = (".ruff_cache", ".pytest_cache", "__pycache__", ".mypy_cache", ".hypothesis")
# Directories (anywhere in the path) and top-level paths that must never be in the tarball.
FORBIDDEN_PARTS = set(CACHES) | {".git"}
FORBIDDEN_TOP = (".venv", ".ci", ".cache", ".ansible", "collections", "tests/output", "extensions/molecule", "bench")
# Where clutter is planted in the copy.
PLANTED = [
    *(f"{cache}/planted" for cache in CACHES),
    *(f"plugins/module_utils/{cache}/planted" for cache in CACHES),
    *(f"tests/unit/{cache}/planted" for cache in CACHES),
    "plugins/modules/planted.pyc",
    ".venv/bin/python3",
    ".git/HEAD",
    ".cache/sanity-wheels/planted.whl",
    ".ansible/planted",
    "tests/output/junit/planted.xml",
    "berth-engine-0.0.1.tar.gz",
]


def copy_collection(dest: Path) -> None:
    """The files git knows of (tracked, or untracked and not ignored), as scripts/sanity.sh copies them."""
    listing = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
    for rel in filter(None, listing.decode().split("\0")):
        src = REPO_ROOT / rel
        if not (src.exists() or src.is_symlink()):
            continue  # deleted in the working tree, not yet in git
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(src.readlink())
        else:
            shutil.copy2(src, target)


def build(tmp_path: Path) -> list[str]:
    source = tmp_path / "src"
    copy_collection(source)
    for rel in PLANTED:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text("clutter\n")
    out = tmp_path / "out"
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    proc = subprocess.run([str(galaxy), "collection", "build", "--output-path", str(out), str(source)],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    tarball = out / f"{meta['namespace']}-{meta['name']}-{meta['version']}.tar.gz"
    with tarfile.open(tarball) as tar:
        return tar.getnames()


def test_tarball_has_the_collection_and_no_clutter(tmp_path):
    names = build(tmp_path)
    for wanted in ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "plugins/modules/container.py",
                   "plugins/module_utils/engine_client.py", "plugins/doc_fragments/engine.py",
                   "roles/runtime/tasks/main.yml"):
        assert wanted in names, f"{wanted} missing from the tarball"
    clutter = sorted(
        name for name in names
        if FORBIDDEN_PARTS & set(name.split("/"))
        or any(name == top or name.startswith(top + "/") for top in FORBIDDEN_TOP)
        or name.endswith((".pyc", ".tar.gz"))
        or "planted" in name
    )
    assert not clutter, f"the tarball holds what galaxy.yml build_ignore should keep out: {clutter}"
