"""berth_runtime_source=upstream: the repository files the runtime role writes
and the packages it asks for. Docker's repository is unreachable from here, so
the files go to temporary directories (the role's directory variables) and the
package step is expected to fail on this Debian host, which does not know
docker-ce: its invocation shows what was asked for. The release key is one
generated for the test (its fingerprint given as berth_upstream_key_fingerprint).
"""

from __future__ import annotations

import configparser
import platform

import pytest

from tests.support.ansible import run_playbook
from tests.support.release_key import make_release_key, serve_directory

DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _deb822(text: str) -> dict:
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _unused, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


@pytest.fixture(scope="module")
def release_key(tmp_path_factory):
    return make_release_key(tmp_path_factory.mktemp("release-key"))


def test_apt_repository_files_and_packages(tmp_path, release_key):
    key_text = release_key.armored.decode()
    keyrings, sources = tmp_path / "keyrings", tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "docker.list").write_text("deb https://download.docker.com/linux/debian bookworm stable\n")
    (sources / "other.list").write_text("deb http://example.invalid/debian bookworm main\n")
    key = tmp_path / "docker.asc"
    key.write_text(key_text)
    play = f"""
- hosts: localhost
  gather_facts: false
  vars:
    berth_runtime_source: upstream
    berth_upstream_mirror: https://mirror.example.invalid/docker-ce/
    berth_upstream_gpg_key_src: {key}
    berth_upstream_key_fingerprint: {release_key.fingerprint}
    berth_apt_keyrings_dir: {keyrings}
    berth_apt_sources_dir: {sources}
    # What the role's main.yml knows before it includes install_upstream.yml (runtime_facts).
    __berth_installed: []
    __berth_facts: {{paths: {{}}}}
  tasks:
    - name: Facts
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Upstream install
      ansible.builtin.include_role:
        name: berth.engine.runtime
        tasks_from: install_upstream.yml
"""
    run = run_playbook(play)
    release = run.task("Facts")["result"]["ansible_facts"]["ansible_distribution_release"]

    # deb822 source with Signed-By pointing at the installed key
    fields = _deb822((sources / "docker.sources").read_text())
    assert fields == {
        "Types": "deb",
        "URIs": "https://mirror.example.invalid/docker-ce/linux/debian",
        "Suites": release,
        "Components": "stable",
        "Architectures": DEB_ARCH,
        "Signed-By": str(keyrings / "docker.asc"),
    }
    assert (keyrings / "docker.asc").read_text() == key_text
    assert oct((keyrings / "docker.asc").stat().st_mode & 0o777) == "0o644"
    # the legacy one-line source is gone, unrelated sources are kept
    assert not (sources / "docker.list").exists()
    assert (sources / "other.list").exists()

    # the package step asked for Docker's packages (and failed: this host's apt has no such repository)
    install = run.task("Install the engine from Docker's repository")
    assert install["status"] == "failed", run.describe()
    asked = install["result"]["invocation"]["module_args"]["name"]
    assert asked == ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"]


def test_dnf_repository_file(tmp_path, release_key):
    repos = tmp_path / "yum.repos.d"
    repos.mkdir()
    (tmp_path / "docker.asc").write_bytes(release_key.armored)
    # the key comes from the controller (centos) or is downloaded from a local stand-in of the mirror (fedora)
    with serve_directory(tmp_path) as site:
        for distro, key_src in (("fedora", ""), ("centos", str(tmp_path / "docker.asc"))):
            (tmp_path / "installed.asc").unlink(missing_ok=True)
            play = f"""
- hosts: localhost
  gather_facts: false
  vars:
    berth_yum_repos_dir: {repos}
    berth_upstream_channel: test
    berth_upstream_gpg_key_src: "{key_src}"
    berth_upstream_gpg_key_url: {site}/docker.asc
    berth_upstream_key_fingerprint: {release_key.fingerprint}
    __berth_upstream_distro: {distro}
    __berth_upstream_key_file: {tmp_path / "installed.asc"}
  tasks:
    - name: Upstream dnf repository
      ansible.builtin.include_role:
        name: berth.engine.runtime
        tasks_from: upstream_dnf.yml
"""
            run = run_playbook(play)
            assert not run.failed, run.describe()
            repo = configparser.ConfigParser(interpolation=None)
            repo.read(repos / "docker-ce.repo")
            assert repo.sections() == ["docker-ce-test"]
            section = repo["docker-ce-test"]
            assert section["baseurl"] == f"https://download.docker.com/linux/{distro}/$releasever/$basearch/test"
            assert section["gpgcheck"] == "1" and section["enabled"] == "1"
            # dnf reads the checked key from the file Berth installed, never from the network
            assert section["gpgkey"] == f"file://{tmp_path / 'installed.asc'}"
            assert (tmp_path / "installed.asc").read_bytes() == release_key.armored
