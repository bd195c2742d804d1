"""The runtime role's package handling on throwaway systemd hosts reached over SSH like real machines.

- berth_runtime_version: a pinned version is installed and held (apt-mark), a rerun changes nothing, an
  engine off the pin is refused unless berth_runtime_upgrade is set, the upgrade (check mode first) installs
  the newest matching version, holds it again and restarts the daemon through the role's handler, and a
  version no repository has fails naming the available ones. The second version is Debian's own docker.io
  package with a higher version number, served from a local file: repository on the host.
- berth_docker_users: the same play, connected as that user, uses docker right after the role, which
  resets the connection when (and only when) the group membership changed.
- berth_install_compose: Debian 13's docker-compose (Compose v2) plugin; refused on Debian 12 (Compose v1).
- berth_upstream_key_fingerprint: a release key with another fingerprint is refused before anything is
  trusted (on this machine, with a generated key served on 127.0.0.1).

Hosts are berth-molecule/debian:12 and :13 containers (tests/hosts/build-image.sh) with systemd as PID 1,
started without --privileged. State is read on the hosts with the Docker SDK (exec) and files on disk.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid

import pytest

from tests.support.ansible import REPO_ROOT, run_playbook
from tests.support.release_key import make_release_key, serve_directory

pytestmark = pytest.mark.slow

DOCKER_KEY = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
LOCAL_SUFFIX = "+berth1"  # the local repository's docker.io: Debian's, with this appended to its version
ROLE_PLAY = """
- hosts: "{{ target }}"
  gather_facts: false
  roles:
    - role: berth.engine.runtime
"""


def sh(container, cmd: str) -> tuple[int, str]:
    code, out = container.exec_run(["sh", "-c", cmd])
    return code, out.decode(errors="replace")


def must(container, cmd: str) -> str:
    code, out = sh(container, cmd)
    assert code == 0, f"{cmd}: {out}"
    return out


def _wait_ssh(ip: str, timeout: int = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((ip, 22), timeout=3) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"no sshd on {ip}:22 after {timeout}s")


def _start_host(docker_client, release: str, work):
    """One systemd host from berth-molecule/debian:<release>, root and `alice` (sudo) reachable by key."""
    build = subprocess.run([str(REPO_ROOT / "tests/hosts/build-image.sh"), release], capture_output=True,
                           text=True, check=False, stdin=subprocess.DEVNULL)
    assert build.returncode == 0, build.stderr[-3000:]
    key = work / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = work / "authorized_keys"
    authorized.write_text((work / "id.pub").read_text())
    authorized.chmod(0o600)
    prefix = f"berth-t-rtpkg{release}-{uuid.uuid4().hex[:6]}"
    labels = {"io.berth.test.owner": prefix}
    network = docker_client.networks.create(prefix, labels=labels)
    volume = docker_client.volumes.create(f"{prefix}-docker", labels=labels)
    container = docker_client.containers.run(
        f"berth-molecule/debian:{release}", name=prefix, hostname=f"rtpkg{release}", detach=True,
        labels=labels, network=prefix, cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined"], cgroupns="host", tmpfs={"/run": "", "/run/lock": ""},
        stop_signal="SIGRTMIN+3",
        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
                 str(authorized): {"bind": "/root/.ssh/authorized_keys", "mode": "ro"},
                 volume.name: {"bind": "/var/lib/docker", "mode": "rw"}},
    )

    def remove():
        container.remove(force=True, v=True)
        volume.remove(force=True)
        network.remove()

    try:
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][prefix]["IPAddress"]
        _wait_ssh(ip)
        must(container, "useradd -m -s /bin/sh alice && install -d -m 700 -o alice -g alice /home/alice/.ssh"
                        " && install -m 600 -o alice -g alice /root/.ssh/authorized_keys /home/alice/.ssh/"
                        " && echo 'alice ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/alice")
        ssh = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        inventory = work / "hosts.yml"
        inventory.write_text(
            "all:\n  vars:\n"
            f"    ansible_host: {ip}\n    ansible_ssh_private_key_file: {key}\n    ansible_ssh_common_args: {ssh}\n"
            "  hosts:\n"
            "    root:\n      ansible_user: root\n"
            "    alice:\n      ansible_user: alice\n"
        )
    except BaseException:
        remove()
        raise
    return container, str(inventory), remove


@pytest.fixture(scope="module")
def host12(docker_client, tmp_path_factory):
    """A Debian 12 host with a second docker.io (Debian's, version + LOCAL_SUFFIX) in a local repository."""
    container, inventory, remove = _start_host(docker_client, "12", tmp_path_factory.mktemp("rtpkg12"))
    try:
        must(container, "apt-get update -qq")
        debian = must(container, "apt-cache madison docker.io | awk -F'|' 'NR==1 {gsub(/ /, \"\", $2); print $2}'")
        debian = debian.strip()
        assert debian, "Debian's repository has no docker.io"
        local = debian + LOCAL_SUFFIX
        must(container, f"""set -e
            mkdir -p /srv/berth-repo /tmp/repack && cd /tmp/repack
            apt-get download -qq docker.io
            dpkg-deb -R docker.io_*.deb tree
            sed -i 's/^Version: .*/Version: {local}/' tree/DEBIAN/control
            dpkg-deb -Zgzip -z1 -b tree /srv/berth-repo/docker.io_local.deb >/dev/null
            cd /srv/berth-repo && rm -rf /tmp/repack
            {{ dpkg-deb -f docker.io_local.deb; echo "Filename: ./docker.io_local.deb";
              echo "Size: $(stat -c %s docker.io_local.deb)";
              echo "SHA256: $(sha256sum docker.io_local.deb | cut -d' ' -f1)"; echo; }} > Packages
            printf 'Types: deb\\nURIs: file:/srv/berth-repo\\nSuites: ./\\nTrusted: yes\\n' \\
              > /etc/apt/sources.list.d/berth-test.sources
            apt-get update -qq""")
        assert local in must(container, "apt-cache madison docker.io")
        yield {"host": container, "inventory": inventory, "debian": debian, "local": local}
    finally:
        remove()


@pytest.fixture(scope="module")
def host13(docker_client, tmp_path_factory):
    container, inventory, remove = _start_host(docker_client, "13", tmp_path_factory.mktemp("rtpkg13"))
    try:
        yield {"host": container, "inventory": inventory}
    finally:
        remove()


def role(host, target="root", check=False, **variables):
    return run_playbook(ROLE_PLAY, inventory=host["inventory"], check=check,
                        extra_vars={"target": target, **variables})


def installed(container, package="docker.io") -> str:
    code, out = sh(container, f"dpkg-query -W -f '${{db:Status-Status}} ${{Version}}' {package}")
    return out.split(" ", 1)[1] if code == 0 and out.startswith("installed ") else ""


def dockerd_pid(container) -> str:
    return must(container, "systemctl show -p MainPID --value docker").strip()


def failure(run) -> str:
    failed = [t for t in run.tasks if t["status"] == "failed"]
    assert run.failed and len(failed) == 1, run.describe()
    return failed[0]["msg"]


def test_pinned_engine_is_held_and_upgraded_only_when_asked(host12):
    host, debian, local = host12["host"], host12["debian"], host12["local"]
    sh(host, "apt-mark unhold docker.io; apt-get purge -y -qq docker.io; rm -rf /etc/docker")

    # an exact version wins over the newer one it is a prefix of
    first = role(host12, berth_runtime_version=debian)
    assert not first.failed, first.describe()
    assert installed(host) == debian
    assert must(host, "apt-mark showhold").split() == ["docker.io"]
    assert must(host, "systemctl is-active docker").strip() == "active"
    again = role(host12, berth_runtime_version=debian)
    assert not again.failed and again.recap["root"]["changed"] == 0, again.describe()

    # off the pin without berth_runtime_upgrade: refused, nothing changed
    pid = dockerd_pid(host)
    refused = role(host12, berth_runtime_version=local)
    msg = failure(refused)
    assert f"docker.io {debian} is installed" in msg and f"asks for {local}" in msg, msg
    assert "berth_runtime_upgrade: true" in msg and "Nothing was changed" in msg, msg
    assert installed(host) == debian and dockerd_pid(host) == pid

    # the upgrade in check mode says it would change and changes nothing
    upgrade = {"berth_runtime_version": "20.10", "berth_runtime_upgrade": True}
    dry = role(host12, check=True, **upgrade)
    assert not dry.failed and dry.recap["root"]["changed"] > 0, dry.describe()
    assert installed(host) == debian and dockerd_pid(host) == pid
    assert sh(host, "test -e /usr/sbin/policy-rc.d")[0] != 0

    # a prefix picks the newest matching version; the hold is set again; the handler restarts the daemon
    moved = role(host12, **upgrade)
    assert not moved.failed, moved.describe()
    assert installed(host) == local
    assert must(host, "apt-mark showhold").split() == ["docker.io"]
    restart = moved.task("Restart docker.socket and docker.service (systemd)")
    assert restart["status"] == "changed", moved.describe()
    assert dockerd_pid(host) != pid
    assert must(host, "docker info --format '{{.Driver}}'").strip() == "overlay2"
    assert sh(host, "test -e /usr/sbin/policy-rc.d")[0] != 0, "policy-rc.d left behind"
    assert sh(host, "test -e /var/lib/berth/runtime-restart-pending")[0] != 0
    rerun = role(host12, **upgrade)
    assert not rerun.failed and rerun.recap["root"]["changed"] == 0, rerun.describe()

    # a version no repository has: refused, naming what there is
    missing = role(host12, berth_runtime_version="99.1", berth_runtime_upgrade=True)
    msg = failure(missing)
    assert "berth_runtime_version=99.1 matches no version of docker.io" in msg, msg
    assert f"Available: {local}, {debian}." in msg and "Nothing was installed" in msg, msg
    assert installed(host) == local


def test_docker_users_can_use_docker_later_in_the_same_play(host12):
    """Connected as alice (sudo for the role), the play's later tasks use docker as alice.

    Debian 12's sshd gives every session of a multiplexed connection fresh groups, so this cannot tell a
    reset connection from a kept one; it shows that the reset happens exactly when the membership changed.
    """
    host = host12["host"]
    play = """
- hosts: alice
  gather_facts: false
  tasks:
    - name: Log in as alice before the group changes
      ansible.builtin.command: id -nG
      changed_when: false
    - name: The runtime role
      ansible.builtin.include_role:
        name: berth.engine.runtime
        apply:
          become: true
      vars:
        berth_docker_users: [alice]
    - name: Use docker as alice
      ansible.builtin.command: docker ps -q
      changed_when: false
    - name: Use docker as alice through become_user
      ansible.builtin.command: docker ps -q
      become: true
      become_user: alice
      changed_when: false
"""
    # the engine is there first (whatever version), so that only the group membership differs
    setup = role(host12)
    assert not setup.failed, setup.describe()
    sh(host, "gpasswd -d alice docker")
    assert "docker" not in must(host, "id -nG alice").split()

    first = run_playbook(play, inventory=host12["inventory"])
    assert not first.failed, first.describe()
    assert first.task("Log in again so the new group membership applies to this play")["status"] == "ok"
    assert first.task("Use docker as alice")["result"]["rc"] == 0
    assert "docker" in must(host, "id -nG alice").split()

    again = run_playbook(play, inventory=host12["inventory"])
    assert not again.failed and again.recap["alice"]["changed"] == 0, again.describe()
    assert again.task("Log in again so the new group membership applies to this play")["status"] == "skipped"


def test_compose_is_refused_on_debian_12(host12):
    host = host12["host"]
    before = installed(host)
    run = role(host12, berth_install_compose=True)
    msg = failure(run)
    assert "Debian 12" in msg and "Compose v1" in msg and "docker-compose-plugin" in msg, msg
    assert installed(host, "docker-compose") == "" and installed(host) == before


def test_compose_plugin_on_debian_13(host13):
    host = host13["host"]
    first = role(host13, berth_install_compose=True)
    assert not first.failed, first.describe()
    assert installed(host, "docker-compose")
    version = must(host, "docker compose version")
    assert version.startswith("Docker Compose version") and " 2." in version.replace("v2.", " 2."), version
    again = role(host13, berth_install_compose=True)
    assert not again.failed and again.recap["root"]["changed"] == 0, again.describe()


# The key check on this machine: only files in temporary directories are written.
KEY_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Facts
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Docker's apt repository
      ansible.builtin.include_role:
        name: berth.engine.runtime
        tasks_from: upstream_apt.yml
"""


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two generated keys (the second stands for an intruder's) and a site serving both files."""
    work = tmp_path_factory.mktemp("release-keys")
    ours, intruder = make_release_key(work / "a"), make_release_key(work / "b")
    site = work / "site"
    (site / "linux" / "debian").mkdir(parents=True)
    (site / "linux" / "debian" / "gpg").write_bytes(ours.armored)  # where <mirror>/linux/<distro>/gpg points
    (site / "two-keys").write_bytes(ours.armored + intruder.armored)
    with serve_directory(site) as url:
        yield {"ours": ours, "intruder": intruder, "url": url}


def _key_vars(tmp_path, url, **extra):
    return {"berth_apt_keyrings_dir": str(tmp_path / "keyrings"), "berth_apt_sources_dir": str(tmp_path / "sources"),
            "berth_upstream_mirror": url, "__berth_upstream_distro": "debian",
            "__berth_upstream_key_file": str(tmp_path / "keyrings" / "docker.asc"), **extra}


@pytest.mark.parametrize("check", [False, True])
def test_release_key_with_another_fingerprint_is_not_trusted(keys, tmp_path, check):
    (tmp_path / "sources").mkdir()
    run = run_playbook(KEY_PLAY, check=check, extra_vars=_key_vars(tmp_path, keys["url"]))  # Docker's fingerprint
    msg = run.task("Refuse a release key with another fingerprint")["msg"]
    assert f"{keys['url']}/linux/debian/gpg has the fingerprint(s) {keys['ours'].fingerprint}" in msg, msg
    assert f"berth_upstream_key_fingerprint is {DOCKER_KEY}" in msg and "Nothing was trusted" in msg, msg
    assert list((tmp_path / "sources").iterdir()) == []
    assert not (tmp_path / "keyrings" / "docker.asc").exists()


def test_release_key_with_an_extra_key_is_not_trusted(keys, tmp_path):
    (tmp_path / "sources").mkdir()
    variables = _key_vars(tmp_path, keys["url"], berth_upstream_gpg_key_url=keys["url"] + "/two-keys",
                          berth_upstream_key_fingerprint=keys["ours"].fingerprint)
    run = run_playbook(KEY_PLAY, extra_vars=variables)
    msg = run.task("Refuse a release key with another fingerprint")["msg"]
    assert keys["intruder"].fingerprint in msg, msg
    assert list((tmp_path / "sources").iterdir()) == []


def test_release_key_with_the_fingerprint_is_trusted(keys, tmp_path):
    (tmp_path / "sources").mkdir()
    spaced = " ".join(keys["ours"].fingerprint[i:i + 4] for i in range(0, 40, 4)).lower()
    run = run_playbook(KEY_PLAY, extra_vars=_key_vars(tmp_path, keys["url"], berth_upstream_key_fingerprint=spaced))
    assert not run.failed, run.describe()
    assert (tmp_path / "keyrings" / "docker.asc").read_bytes() == keys["ours"].armored
    sources = (tmp_path / "sources" / "docker.sources").read_text()
    assert f"URIs: {keys['url']}/linux/debian" in sources and f"Signed-By: {tmp_path}/keyrings/docker.asc" in sources
    again = run_playbook(KEY_PLAY, extra_vars=_key_vars(tmp_path, keys["url"], berth_upstream_key_fingerprint=spaced))
    assert not again.failed and not again.changed, again.describe()
