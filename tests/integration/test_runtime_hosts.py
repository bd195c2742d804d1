"""The runtime role on throwaway container hosts, reached over SSH like real machines.

- a systemd host and a host whose PID 1 is not systemd (sshd): a bad
  berth_daemon_config value makes the play fail with the daemon's own message,
  the previous daemon.json is back and the daemon runs with it;
- a bare systemd host gets the engine from a bundle built by
  playbooks/bundle.yml (built twice: reproducible, second run changes nothing).

Hosts are berth-molecule/debian:12 containers (tests/hosts/build-image.sh,
cached by tag) with the flags DEVELOPERS.md gives for systemd without
--privileged. Everything is observed with the Docker SDK (exec into the hosts)
and files on disk, not with Berth's modules.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.ansible import REPO_ROOT, run_playbook

pytestmark = pytest.mark.slow

IMAGE = "berth-molecule/debian:12"
ROLE_PLAY = """
- hosts: container_hosts
  gather_facts: false
  roles:
    - role: berth.engine.runtime
"""


def _exec(container, cmd: str) -> tuple[int, str]:
    code, out = container.exec_run(["sh", "-c", cmd])
    return code, out.decode(errors="replace")


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


@pytest.fixture(scope="module")
def hosts(docker_client, tmp_path_factory):
    """{'sd': systemd host, 'sv': sshd as PID 1, 'bd': bare systemd host}, plus the inventory path."""
    build = subprocess.run(
        [str(REPO_ROOT / "tests/hosts/build-image.sh"), "12"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    work = tmp_path_factory.mktemp("runtime-hosts")
    key = work / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = work / "authorized_keys"
    authorized.write_text((work / "id.pub").read_text())
    authorized.chmod(0o600)

    prefix = "berth-t-rt-" + uuid.uuid4().hex[:6]
    labels = {"io.berth.test.owner": prefix}
    network = docker_client.networks.create(prefix, labels=labels)
    containers, volumes = {}, []
    common = dict(
        image=IMAGE,
        detach=True,
        labels=labels,
        network=prefix,
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined"],
        cgroupns="host",
        tmpfs={"/run": "", "/run/lock": ""},
    )
    try:
        for name, command in (
            ("sd", None),
            ("sv", ["sh", "-c", "mkdir -p /run/sshd && ssh-keygen -A && exec /usr/sbin/sshd -D"]),
            ("bd", None),
        ):
            volume = docker_client.volumes.create(f"{prefix}-{name}-docker", labels=labels)
            volumes.append(volume)
            containers[name] = docker_client.containers.run(
                name=f"{prefix}-{name}",
                hostname=f"rt{name}",
                command=command,
                stop_signal="SIGRTMIN+3",
                volumes={
                    "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
                    str(authorized): {"bind": "/root/.ssh/authorized_keys", "mode": "ro"},
                    volume.name: {"bind": "/var/lib/docker", "mode": "rw"},
                },
                **common,
            )
        lines = [
            "all:",
            "  vars:",
            "    ansible_user: root",
            f"    ansible_ssh_private_key_file: {key}",
            "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "  children:",
            "    container_hosts:",
            "      hosts:",
        ]
        for name, container in containers.items():
            container.reload()
            ip = container.attrs["NetworkSettings"]["Networks"][prefix]["IPAddress"]
            _wait_ssh(ip)
            lines += [f"        {name}:", f"          ansible_host: {ip}"]
        inventory = work / "hosts.yml"
        inventory.write_text("\n".join(lines) + "\n")
        yield {"inventory": str(inventory), "work": work, **containers}
    finally:
        for container in containers.values():
            container.remove(force=True, v=True)
        for volume in volumes:
            volume.remove(force=True)
        network.remove()


def test_bad_daemon_config_is_rolled_back_with_the_daemons_message(hosts):
    inv = hosts["inventory"]
    first = run_playbook(ROLE_PLAY, inventory=inv, limit="sd,sv")
    assert not first.failed, first.describe()
    before = {}
    for name in ("sd", "sv"):
        code, text = _exec(hosts[name], "cat /etc/docker/daemon.json")
        assert code == 0
        before[name] = text
        assert json.loads(text)["live-restore"] is True
    # systemd runs the daemon on sd, the init script (or its stand-in) on sv
    assert _exec(hosts["sd"], "systemctl is-active docker")[1].strip() == "active"
    assert _exec(hosts["sv"], "test -d /run/systemd/system")[0] != 0

    bad = run_playbook(ROLE_PLAY, inventory=inv, limit="sd,sv", extra_vars={"berth_daemon_config": {"bogus-key": True}})
    assert bad.failed
    for name in ("sd", "sv"):
        failed = [t for t in bad.tasks if t["status"] == "failed" and t["host"] == name]
        assert len(failed) == 1, bad.describe()
        msg = failed[0]["msg"]
        assert "the following directives don't match any configuration option: bogus-key" in msg, msg
        assert "restored the previous /etc/docker/daemon.json" in msg and "running with it again" in msg
        # the previous file is back and the daemon answers with it
        assert _exec(hosts[name], "cat /etc/docker/daemon.json")[1] == before[name]
        code, out = _exec(hosts[name], "docker info --format '{{.LiveRestoreEnabled}} {{.Driver}}'")
        assert (code, out.strip()) == (0, "true overlay2"), out
        assert _exec(hosts[name], "test -e /var/lib/berth/runtime-restart-pending")[0] != 0

    again = run_playbook(ROLE_PLAY, inventory=inv, limit="sd,sv")
    assert not again.failed, again.describe()
    assert again.recap["sd"]["changed"] == 0 and again.recap["sv"]["changed"] == 0, again.describe()


def test_bundle_is_reproducible_and_installs_on_a_bare_host(hosts):
    out = hosts["work"] / "bundle"
    build = run_playbook("playbooks/bundle.yml", extra_vars={"berth_bundle_output_dir": str(out)})
    assert not build.failed, build.describe()
    bundles = sorted(p for p in out.glob("docker-*.tgz") if not p.is_symlink())
    assert len(bundles) == 1
    bundle = bundles[0]
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert (out / (bundle.name + ".sha256")).read_text() == f"{digest}  {bundle.name}\n"
    assert (out / "docker-bundle.tgz").resolve() == bundle.resolve()
    with tarfile.open(bundle) as tar:
        members = {m.name: m for m in tar.getmembers()}
        expected = {"dockerd", "docker", "containerd", "containerd-shim-runc-v2", "ctr", "runc"}
        expected |= {"docker-init", "docker-proxy"}
        assert set(members) == {"docker"} | {f"docker/{b}" for b in expected}
        assert all(members[f"docker/{b}"].mode & 0o111 for b in expected)
        member_sha = {b: hashlib.sha256(tar.extractfile(f"docker/{b}").read()).hexdigest() for b in expected}

    rebuild = run_playbook("playbooks/bundle.yml", extra_vars={"berth_bundle_output_dir": str(out)})
    assert not rebuild.failed and rebuild.recap["localhost"]["changed"] == 0, rebuild.describe()
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == digest

    bd = hosts["bd"]
    assert _exec(bd, "command -v dockerd")[0] != 0, "the bare host already has an engine"
    install_vars = {
        "berth_runtime_source": "bundle",
        "berth_bundle_src": str(bundle),
        "berth_bundle_sha256": digest,
        "berth_bundle_packages": ["libdevmapper1.02.1", "libseccomp2"],
    }
    wrong = dict(install_vars, berth_bundle_sha256="0" * 64)
    refused = run_playbook(ROLE_PLAY, inventory=hosts["inventory"], limit="bd", extra_vars=wrong)
    assert refused.failed
    assert "Nothing was installed" in refused.task("Fail on a checksum mismatch")["msg"]
    assert _exec(bd, "ls /usr/bin/dockerd")[0] != 0

    first = run_playbook(ROLE_PLAY, inventory=hosts["inventory"], limit="bd", extra_vars=install_vars)
    assert not first.failed, first.describe()
    for binary, sha in member_sha.items():
        code, text = _exec(bd, f"sha256sum /usr/bin/{binary}")
        assert code == 0 and text.split()[0] == sha, binary
    assert _exec(bd, "systemctl is-active containerd docker docker.socket")[1].split() == ["active"] * 3
    code, text = _exec(bd, "stat -c '%U:%G %a' /run/docker.sock")
    assert text.strip() == "root:docker 660"
    code, text = _exec(bd, "docker version --format '{{.Server.Version}}'")
    assert code == 0 and text.strip().startswith("20.10"), text
    assert Path(bundle).exists()

    second = run_playbook(ROLE_PLAY, inventory=hosts["inventory"], limit="bd", extra_vars=install_vars)
    assert not second.failed and second.recap["bd"]["changed"] == 0, second.describe()


def test_hosts_in_daemon_json_needs_the_drop_in_that_removes_dash_h(hosts):
    inv, sd = hosts["inventory"], hosts["sd"]
    setup = run_playbook(ROLE_PLAY, inventory=inv, limit="sd")
    assert not setup.failed, setup.describe()
    before = _exec(sd, "cat /etc/docker/daemon.json")[1]
    listen = {"berth_daemon_config": {"hosts": ["unix:///var/run/docker.sock"]}}

    refused = run_playbook(ROLE_PLAY, inventory=inv, limit="sd", extra_vars=listen)
    assert refused.failed
    msg = refused.task("Refuse hosts in daemon.json while the service passes -H")["msg"]
    assert "-H fd://" in msg and "berth_daemon_hosts_override" in msg
    assert _exec(sd, "cat /etc/docker/daemon.json")[1] == before

    override = run_playbook(
        ROLE_PLAY, inventory=inv, limit="sd", extra_vars=dict(listen, berth_daemon_hosts_override=True)
    )
    assert not override.failed, override.describe()
    assert json.loads(_exec(sd, "cat /etc/docker/daemon.json")[1])["hosts"] == ["unix:///var/run/docker.sock"]
    cmdline = _exec(sd, "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value docker)/cmdline")[1]
    assert cmdline.startswith("/usr/sbin/dockerd") and "-H" not in cmdline.split(), cmdline
    assert _exec(sd, "docker info --format '{{.Driver}}'")[1].strip() == "overlay2"

    back = run_playbook(ROLE_PLAY, inventory=inv, limit="sd")
    assert not back.failed, back.describe()
    assert _exec(sd, "test -e /etc/systemd/system/docker.service.d/berth-hosts.conf")[0] != 0
    cmdline = _exec(sd, "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value docker)/cmdline")[1]
    assert "-H fd://" in cmdline, cmdline
