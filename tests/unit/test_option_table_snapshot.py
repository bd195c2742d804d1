"""The argument specs users write against, compared with snapshots taken before the option table served the
service too (issue 22): a difference is deliberate only when the snapshot is updated with it.

The snapshots are the specs as Ansible receives them (tests/unit/fixtures/*_argument_spec.json); to take a
deliberate change, update the fixture and say why in the commit. Also: docs/clusters.md's table of the
options a service shares with the container is the one the option table renders.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.berth.engine.plugins.module_utils import container_options, service_plan

FIXTURES = Path(__file__).parent / "fixtures"


def _plain(spec):
    """The spec as JSON holds it (tuples become lists), so it compares with the snapshot."""
    return json.loads(json.dumps(spec, sort_keys=True))


@pytest.mark.parametrize("name, spec", [
    ("service", service_plan.ARGUMENT_SPEC),
    ("container", container_options.ARGUMENT_SPEC),
])
def test_argument_spec_matches_snapshot(name, spec):
    snapshot = json.loads((FIXTURES / ("%s_argument_spec.json" % name)).read_text())
    actual = _plain(spec)
    assert sorted(actual) == sorted(snapshot), "options added or removed"
    for option in snapshot:
        assert actual[option] == snapshot[option], option


def test_the_service_options_table_in_docs_is_the_option_tables():
    """docs/clusters.md holds the shared options' table as tests/support/docs.py renders it from the rows."""
    from tests.support.docs import SERVICE_TABLE_END, SERVICE_TABLE_START, service_options_table

    text = (Path(__file__).resolve().parents[2] / "docs" / "clusters.md").read_text()
    start, end = text.index(SERVICE_TABLE_START), text.index(SERVICE_TABLE_END) + len(SERVICE_TABLE_END)
    expected = service_options_table()
    assert text[start:end] == expected, "docs/clusters.md drifted from the option table; put this there:\n" + expected
