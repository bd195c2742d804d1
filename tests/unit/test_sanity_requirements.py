"""tests/sanity/requirements.txt pins exactly what the installed ansible-test installs for its sanity tests.

scripts/sanity.sh fills its wheelhouse from that file and ansible-test then installs with no index, so
a pin that drifts from ansible-test's own (after an ansible-core upgrade) would fail the CI stage;
this test says which pin to change instead.
"""
from __future__ import annotations

import re
from pathlib import Path

import ansible_test

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_TEST = Path(ansible_test.__file__).parent
# The sanity tests that install packages and have something to test in this collection. `changelog`
# joins them once the collection has changelogs/ fragments.
TESTS = ["ansible-doc", "import", "import.plugin", "integration-aliases", "pep8", "pylint", "runtime-metadata",
         "validate-modules", "yamllint"]


def pins(path: Path) -> dict[str, str]:
    """{normalised name: version} of a requirements file's name==version lines."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path}: {line!r} is not pinned with =="
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def wanted() -> dict[str, str]:
    tests = TESTS + (["changelog"] if (REPO_ROOT / "changelogs" / "config.yaml").exists() else [])
    result = {}
    for test in tests:
        for name, version in pins(ANSIBLE_TEST / "_data" / "requirements" / f"sanity.{test}.txt").items():
            assert result.setdefault(name, version) == version, f"ansible-test pins {name} twice differently"
    # The pip that ansible-test bootstraps into each of its virtual environments.
    source = (ANSIBLE_TEST / "_internal" / "python_requirements.py").read_text()
    result["pip"] = re.search(r"pip='([0-9.]+)'", source).group(1)
    return result


def test_pins_match_ansible_test():
    ours = pins(REPO_ROOT / "tests" / "sanity" / "requirements.txt")
    theirs = wanted()
    differ = {name: (ours.get(name), version) for name, version in theirs.items() if ours.get(name) != version}
    assert not differ, f"tests/sanity/requirements.txt: set these pins (ours, ansible-test's): {differ}"
    extra = sorted(set(ours) - set(theirs))
    assert not extra, f"tests/sanity/requirements.txt pins what ansible-test does not install: {extra}"
