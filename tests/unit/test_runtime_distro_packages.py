"""The runtime role's package tables for berth_runtime_source: distro, rendered the way a play renders them.

The facts are what Ansible's setup module reported on the Molecule test hosts (gather_subset=min):
Debian 13 has a version number; sid has none (no VERSION_ID in os-release), and Ansible then reports
its /etc/debian_version, "forky/sid", as the major version.
"""
from __future__ import annotations

import pytest
from test_hardening_profile import render

DEBIAN_13 = {"distribution": "Debian", "os_family": "Debian", "distribution_major_version": "13",
             "distribution_version": "13.8", "distribution_release": "trixie"}
DEBIAN_SID = {"distribution": "Debian", "os_family": "Debian", "distribution_major_version": "forky/sid",
              "distribution_version": "forky/sid", "distribution_release": "forky"}
DEBIAN_12 = dict(DEBIAN_13, distribution_major_version="12", distribution_version="12.12",
                 distribution_release="bookworm")


def table_entry(table, facts):
    """What install_distro.yml looks up first: the table's entry for this release, if any."""
    return render("runtime", table, ansible_facts=facts).get(render("runtime", "__berth_distro_key",
                                                                    ansible_facts=facts))


@pytest.mark.parametrize("facts, key", [
    (DEBIAN_13, "Debian-13"),
    (DEBIAN_SID, "Debian-unreleased"),
    (dict(DEBIAN_SID, distribution_major_version="n/a"), "Debian-unreleased"),
    (dict(DEBIAN_SID, distribution_major_version=""), "Debian-unreleased"),
    ({"distribution": "Ubuntu", "distribution_major_version": "24"}, "Ubuntu-24"),
])
def test_release_key(facts, key):
    assert render("runtime", "__berth_distro_key", ansible_facts=facts) == key


def test_sid_gets_the_cli_and_compose_packages_of_the_newest_release():
    # docker.io only recommends docker-cli from Debian 13 on; the test hosts install no recommends.
    assert table_entry("__berth_distro_packages_map", DEBIAN_SID) == ["docker.io", "docker-cli"]
    assert table_entry("__berth_distro_compose_map", DEBIAN_SID) == ["docker-compose"]
    assert table_entry("__berth_distro_packages_map", DEBIAN_13) == ["docker.io", "docker-cli"]


def test_debian_12_has_no_entry_of_its_own_and_no_compose_v2():
    # It falls back to the distribution's entry (docker.io, with the CLI in it) and refuses berth_install_compose.
    assert table_entry("__berth_distro_packages_map", DEBIAN_12) is None
    assert render("runtime", "__berth_distro_packages_map")["Debian"] == ["docker.io"]
    assert table_entry("__berth_distro_compose_map", DEBIAN_12) is None
