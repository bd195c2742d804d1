"""The connection plugin berth.engine.docker against the real engine.

One Debian container (tests/images/debian/build.sh: bookworm minbase with python3 and sudo) takes one
playbook covering what ansible-core's generic connection test covers (raw and commands with quotes,
special and non-ASCII characters; copy and fetch of files with spaces and non-ASCII names, empty files)
plus setup, copy, template, apt (a local .deb: the container has no network), become, the connection
user, a custom remote tmp, pipelining and a 20 MiB file both ways. What landed in the container is
checked through the docker SDK, not through the plugin.
"""
from __future__ import annotations

import hashlib
import json
import os
import textwrap

import pytest

from tests.support.ansible import run_playbook
from tests.support.debian import DEBIAN_IMAGE

BIG = 20 * 1024 * 1024
ODD_DIR = "/srv/dir with spaces-汉语"
DEB = "/srv/berth-hello_1.0_all.deb"


def sh(container, command, user="root"):
    """Run a shell command in the container through the docker SDK: (rc, output text)."""
    rc, out = container.exec_run(["sh", "-c", command], user=user)
    return rc, out.decode("utf-8", "replace")


def start_debian(docker_client, cleanup, name):
    # No network: what the modules need (python3-apt for apt) is in the image, the rest comes through the plugin.
    container = docker_client.containers.run(DEBIAN_IMAGE, ["sleep", "infinity"], name=name, detach=True,
                                             stop_signal="SIGKILL", network_mode="none")
    cleanup.containers.append(name)
    rc, out = sh(container, "useradd -m -u 1234 -s /bin/sh app && "
                            "echo 'app ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/app")
    assert rc == 0, out
    return container


def build_deb(container):
    """A tiny package (no dependencies) built in the container with dpkg-deb, for the apt module to install."""
    rc, out = sh(container, "set -e; root=/tmp/berth-hello; mkdir -p $root/DEBIAN $root/usr/share/berth-hello; "
                            "printf 'Package: berth-hello\\nVersion: 1.0\\nArchitecture: all\\n"
                            "Maintainer: Berth tests <tests@berth.invalid>\\nDescription: apt test package\\n' "
                            "> $root/DEBIAN/control; echo hello > $root/usr/share/berth-hello/hello; "
                            f"dpkg-deb --build $root {DEB} >/dev/null; dpkg -s berth-hello 2>&1 | head -1")
    assert rc == 0 and "is not installed" in out, out


def inventory_for(tmp_path, hosts):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "vars": {
        "ansible_connection": "berth.engine.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}))
    return str(inventory)


PLAYBOOK = textwrap.dedent("""\
    - hosts: all
      gather_facts: true
      vars:
        odd_dir: "{{ '%(odd)s' }}"
      tasks:
        - name: raw with non-ASCII argument and output
          ansible.builtin.raw: echo 汉语
          register: raw_out
        - name: command with quotes and special characters
          ansible.builtin.command:
            argv: [printf, '%%s|', 'a b', "c'd", 'e"f', '$HOME', '`x`', '\\\\n', '*', '汉语']
          register: special
          changed_when: false
        - name: shell with a pipe, stderr and an exit code
          ansible.builtin.shell: echo out; echo err >&2; echo "a'b\\"c" | tr a z; exit 3
          register: shell_out
          failed_when: shell_out.rc != 3
          changed_when: false
        - name: facts came through setup
          ansible.builtin.assert:
            that:
              - ansible_facts.distribution == 'Debian'
              - ansible_facts.distribution_major_version == '12'
              - "'汉语' in raw_out.stdout"
              - raw_out is changed
              - shell_out.stdout_lines == ['out', "z'b\\"c"]
              - shell_out.stderr == 'err'
        - name: directory with spaces and non-ASCII characters
          ansible.builtin.file:
            path: "{{ odd_dir }}"
            state: directory
            mode: "0755"
        - name: copy a file with spaces and non-ASCII characters in its name
          ansible.builtin.copy:
            src: "{{ local_dir }}/file 汉语.txt"
            dest: "{{ odd_dir }}/file 汉语.txt"
            mode: "0640"
        - name: copy an empty file
          ansible.builtin.copy:
            src: "{{ local_dir }}/empty"
            dest: "{{ odd_dir }}/empty"
            mode: "0644"
        - name: copy the big file
          ansible.builtin.copy:
            src: "{{ local_dir }}/big.bin"
            dest: /srv/big.bin
            mode: "0600"
        - name: fetch the files back
          ansible.builtin.fetch:
            src: "{{ item.src }}"
            dest: "{{ local_dir }}/back/{{ item.dest }}"
            flat: true
          loop:
            - {src: "{{ odd_dir }}/file 汉语.txt", dest: "odd.txt"}
            - {src: "{{ odd_dir }}/empty", dest: "empty"}
            - {src: /srv/big.bin, dest: big.bin}
          loop_control:
            label: "{{ item.dest }}"
        - name: template
          ansible.builtin.template:
            src: "{{ local_dir }}/motd.j2"
            dest: /etc/motd
            mode: "0644"
        - name: as the connection user, with a remote tmp of its own
          ansible.builtin.copy:
            content: "mine\\n"
            dest: /home/app/mine.txt
            mode: "0600"
          vars:
            ansible_user: app
            ansible_remote_tmp: /home/app/.custom-tmp
        - name: become root from the connection user
          ansible.builtin.command: id -u
          register: become_root
          changed_when: false
          become: true
          vars:
            ansible_user: app
        - name: become another user from root
          ansible.builtin.command: id -un
          register: become_app
          changed_when: false
          become: true
          become_user: app
        - name: pipelined, so nothing is put into the remote tmp
          ansible.builtin.command: id -un
          register: pipelined
          changed_when: false
          vars:
            ansible_pipelining: true
            ansible_remote_tmp: /var/tmp/pipelined-tmp
        - name: apt installs a local package
          ansible.builtin.apt:
            deb: "%(deb)s"
          register: apt_first
        - name: apt again, with nothing left to do
          ansible.builtin.apt:
            deb: "%(deb)s"
          register: apt_again
        - name: check become, the pipelined run and apt
          ansible.builtin.assert:
            that:
              - become_root.stdout == '0'
              - become_app.stdout == 'app'
              - pipelined.stdout == 'root'
              - apt_first is changed
              - apt_again is not changed
    """) % {"odd": ODD_DIR, "deb": DEB}


@pytest.mark.usefixtures("debian_image")
def test_connection_plugin_runs_modules_and_moves_files(docker_client, cleanup, unique_name, tmp_path):
    container = start_debian(docker_client, cleanup, unique_name)
    build_deb(container)
    local = tmp_path / "local"
    local.mkdir()
    (local / "file 汉语.txt").write_text("汉语 and 'quotes' \"too\"\n", encoding="utf-8")
    (local / "empty").write_bytes(b"")
    big = os.urandom(BIG)
    (local / "big.bin").write_bytes(big)
    (local / "motd.j2").write_text("welcome to {{ ansible_facts.hostname }} ({{ inventory_hostname }})\n")

    run = run_playbook(PLAYBOOK, extra_vars={"local_dir": str(local)},
                       inventory=inventory_for(tmp_path, {unique_name: {}}))
    assert not run.failed, run.describe()[-3000:]
    special = run.task("command with quotes and special characters")["result"]["stdout"]
    assert special == "a b|c'd|e\"f|/root|`x`|\\\\n|*|汉语|"

    # What is in the container, seen through the docker SDK.
    rc, out = sh(container, f"cat '{ODD_DIR}/file 汉语.txt'; stat -c '%a %U' '{ODD_DIR}/file 汉语.txt'")
    assert out == "汉语 and 'quotes' \"too\"\n640 root\n", out
    assert sh(container, f"stat -c '%s' '{ODD_DIR}/empty'")[1].strip() == "0"
    assert sh(container, "sha256sum /srv/big.bin; stat -c '%a %U' /srv/big.bin")[1].split()[::2] == [
        hashlib.sha256(big).hexdigest(), "600"]
    assert sh(container, "cat /etc/motd")[1] == f"welcome to {container.id[:12]} ({unique_name})\n"
    assert sh(container, "stat -c '%U %a' /home/app/mine.txt; cat /home/app/mine.txt")[1] == "app 600\nmine\n"
    assert sh(container, "test -d /home/app/.custom-tmp && stat -c %U /home/app/.custom-tmp")[1] == "app\n"
    assert sh(container, "test -e /var/tmp/pipelined-tmp")[0] == 1  # pipelining put nothing there
    assert sh(container, "dpkg-query -W -f '${Status} ${Version}' berth-hello")[1] == "install ok installed 1.0"
    assert sh(container, "cat /usr/share/berth-hello/hello")[1] == "hello\n"
    assert run.task("apt installs a local package")["result"]["changed"] is True
    assert run.task("apt again, with nothing left to do")["result"]["changed"] is False

    back = local / "back"
    assert (back / "odd.txt").read_text(encoding="utf-8") == "汉语 and 'quotes' \"too\"\n"
    assert (back / "empty").read_bytes() == b""
    assert hashlib.sha256((back / "big.bin").read_bytes()).digest() == hashlib.sha256(big).digest()


def test_connection_plugin_errors(docker_client, test_images, cleanup, make_name, tmp_path):
    """No python: raw works and a module fails clearly; stopped, missing container and engine down: unreachable."""
    bare = make_name("bare")
    docker_client.containers.run(test_images.busybox, ["sleep", "600"], name=bare, detach=True,
                                 stop_signal="SIGKILL")
    stopped = make_name("stopped")
    docker_client.containers.create(test_images.busybox, ["true"], name=stopped)
    cleanup.containers += [bare, stopped]
    hosts = {bare: {}, stopped: {}, make_name("missing"): {},
             "down": {"ansible_host": bare, "ansible_docker_host": f"unix://{tmp_path}/no.sock"}}
    playbook = textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - name: raw
              ansible.builtin.raw: echo raw-ok
              register: raw_out
            - name: module
              ansible.builtin.command: echo module
        """)
    run = run_playbook(playbook, inventory=inventory_for(tmp_path, hosts))
    assert run.task("raw", bare)["result"]["stdout"].strip() == "raw-ok"
    module = run.task("module", bare)
    assert module["status"] == "failed"
    assert "has no such Python interpreter" in json.dumps(module["result"]), module
    messages = {host: run.task("raw", host)["result"]["msg"] for host in (stopped, make_name("missing"), "down")}
    assert "is created, not running" in messages[stopped], messages
    assert "no container %s" % make_name("missing") in messages[make_name("missing")], messages
    assert "socket %s/no.sock does not exist" % tmp_path in messages["down"], messages
    for host in messages:
        assert run.task("raw", host)["status"] == "unreachable"
