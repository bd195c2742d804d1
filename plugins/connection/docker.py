# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Ansible's tasks inside a container through the Engine API, on Berth's own client."""

from __future__ import annotations

DOCUMENTATION = r"""
name: docker
short_description: Run tasks inside a running container through the Docker Engine API
description:
  - Runs Ansible's modules, C(raw) and file transfers inside a running container by speaking the
    Docker Engine API with Berth's own client; the controller needs neither the docker CLI nor the
    Docker SDK for Python.
  - Commands run with exec (stdin, stdout and stderr apart, exit code kept); files go in and out through
    the archive endpoints as tar streams of any size, with their mode kept and owned by the connection user.
  - The container needs C(/bin/sh) (or C(ansible_shell_executable)) for anything; modules need Python in
    it too. C(raw) works without Python.
author:
  - Berth maintainers (!UNKNOWN)
extends_documentation_fragment:
  - connection_pipelining
options:
  remote_addr:
    description:
      - Name or ID of the container.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_docker_container
  remote_user:
    description:
      - User the commands run as in the container (C(user), C(uid) or C(uid:gid)).
      - Empty for the container's own user (its C(Config.User), root when it has none).
    type: str
    vars:
      - name: ansible_user
      - name: ansible_docker_user
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    keyword:
      - name: remote_user
  docker_host:
    description:
      - Where the Docker Engine API listens, as the modules' O(docker_host).
      - Falls back to E(DOCKER_HOST), then C(unix:///var/run/docker.sock).
    type: str
    vars:
      - name: ansible_docker_host
      - name: docker_host
  tls:
    description:
      - Speak HTTPS to a C(tcp://) engine.
      - Falls back to E(DOCKER_TLS), then E(DOCKER_TLS_VERIFY), then C(false).
    type: bool
    vars:
      - name: ansible_docker_tls
      - name: docker_tls
  ca_path:
    description:
      - CA certificate that signed the engine's certificate.
      - Falls back to E(DOCKER_CA_PATH), then C(ca.pem) in E(DOCKER_CERT_PATH).
    type: path
    vars:
      - name: ansible_docker_ca_path
      - name: docker_ca_path
  client_cert:
    description:
      - Client certificate for TLS client authentication.
      - Falls back to E(DOCKER_CLIENT_CERT), then C(cert.pem) in E(DOCKER_CERT_PATH).
    type: path
    vars:
      - name: ansible_docker_client_cert
      - name: docker_client_cert
  client_key:
    description:
      - Key of O(client_cert).
      - Falls back to E(DOCKER_CLIENT_KEY), then C(key.pem) in E(DOCKER_CERT_PATH).
    type: path
    vars:
      - name: ansible_docker_client_key
      - name: docker_client_key
  validate_certs:
    description:
      - Verify the engine's TLS certificate.
    type: bool
    default: true
    vars:
      - name: ansible_docker_validate_certs
      - name: docker_validate_certs
  docker_timeout:
    description:
      - Seconds to wait for one API call (the modules' C(timeout) option). A command itself may run as long as it
        needs; limit it with the task's C(timeout) keyword.
    type: int
    default: 60
    vars:
      - name: ansible_docker_timeout
      - name: docker_timeout
  api_version:
    description:
      - Engine API version to speak, C(auto) or a version such as C(1.43).
    type: str
    default: auto
    vars:
      - name: ansible_docker_api_version
      - name: docker_api_version
notes:
  - The remote temporary directory is the C(sh) shell plugin's C(remote_tmp) (V(ansible_remote_tmp)).
  - C(become) runs inside the container with the become plugin (C(sudo), C(su)); it works where it needs
    no password (the connection user is root, or sudo is set up with C(NOPASSWD)).
  - Settings given as variables come first, then the environment, then the defaults.
"""

EXAMPLES = r"""
# inventory.yml: two containers of the local engine
# all:
#   hosts:
#     web-1:
#     db:
#       ansible_host: 3f2c1b0e9a8d
#   vars:
#     ansible_connection: berth.engine.docker
#     ansible_python_interpreter: /usr/bin/python3

- name: Run tasks inside containers
  hosts: all
  gather_facts: false
  tasks:
    - name: Install a file
      ansible.builtin.copy:
        content: "hello\n"
        dest: /etc/motd
        mode: "0644"

# A container on a remote engine with TLS, as the Docker CLI's variables describe it
- name: Inside a container of a remote engine
  hosts: app
  vars:
    ansible_connection: berth.engine.docker
    ansible_docker_host: tcp://docker.example.com:2376
    ansible_docker_tls: true
    ansible_docker_ca_path: /etc/docker-certs/ca.pem
    ansible_docker_client_cert: /etc/docker-certs/cert.pem
    ansible_docker_client_key: /etc/docker-certs/key.pem
  tasks:
    - name: Who am I in there
      ansible.builtin.command: id
      changed_when: false
"""

import os
import posixpath
import tarfile
import tempfile

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.berth.engine.plugins.module_utils.engine import (
    EngineClient,
    EngineError,
    NotFound,
    endpoint,
    resolve_settings,
    split_stream_bytes,
)

display = Display()

SETTINGS = ("docker_host", "tls", "ca_path", "client_cert", "client_key", "validate_certs", "api_version")
CHUNK = 1 << 20


def client_from_options(get_option):
    """An EngineClient from plugin options: given ones first, then the environment, then defaults."""
    given = {name: get_option(name) for name in SETTINGS}
    # Not "timeout": that name is Ansible's own connection timeout (ansible_timeout, 10 s by default).
    given["timeout"] = get_option("docker_timeout")
    settings = resolve_settings(given)
    return EngineClient(**settings)


class Connection(ConnectionBase):
    """Exec and archive calls of the Engine API, one client per connection."""

    transport = "berth.engine.docker"
    has_pipelining = True

    def __init__(self, play_context, new_stdin, *args, **kwargs):
        super().__init__(play_context, new_stdin, *args, **kwargs)
        self._client = None
        self._container = None
        self._ids = None

    # --- connecting ----------------------------------------------------------------------------

    def _connect(self):
        if self._connected:
            return self
        name = self.get_option("remote_addr")
        try:
            self._client = client_from_options(self.get_option)
            container = self._client.inspect("container", name)
        except EngineError as err:
            raise AnsibleConnectionFailure("berth.engine.docker: %s" % err) from None
        if container is None:
            raise AnsibleConnectionFailure(
                "berth.engine.docker: no container %s on the engine at %s: check ansible_host (the container's "
                "name or ID) and docker_host" % (name, self._client.docker_host))
        state = container.get("State") or {}
        if not state.get("Running") or state.get("Paused"):
            raise AnsibleConnectionFailure(
                "berth.engine.docker: container %s is %s, not running: start it (berth.engine.container "
                "state=started) before running tasks in it" % (name, state.get("Status", "not running")))
        self._container = container
        display.vvv("ESTABLISHED CONTAINER %s (%s) ON %s" % (name, container["Id"][:12], self._client.docker_host),
                    host=name)
        self._connected = True
        return self

    @property
    def _user(self):
        return self.get_option("remote_user") or None

    def _container_id(self):
        self._connect()
        return self._container["Id"]

    # --- commands ------------------------------------------------------------------------------

    def _run(self, argv, stdin=None):
        """(rc, stdout bytes, stderr bytes) of argv run in the container."""
        body = {"Cmd": argv, "AttachStdout": True, "AttachStderr": True, "AttachStdin": stdin is not None,
                "Tty": False}
        if self._user:
            body["User"] = self._user
        name = self.get_option("remote_addr")
        try:
            created = self._client.post(endpoint("containers", self._container_id(), "exec"), body=body)
            data = self._client.exec_attached(created["Id"], stdin=stdin, wait_forever=True)
            rc = (self._client.get(endpoint("exec", created["Id"], "json")) or {}).get("ExitCode")
        except NotFound:
            raise AnsibleConnectionFailure("berth.engine.docker: container %s is gone" % name) from None
        except EngineError as err:
            raise AnsibleConnectionFailure("berth.engine.docker: exec in container %s failed: %s"
                                           % (name, err)) from None
        stdout, stderr = split_stream_bytes(data)
        if rc in (126, 127) and _missing_program(stdout + stderr, argv[0]):
            raise AnsibleConnectionFailure(
                "berth.engine.docker: container %s has no %s: Ansible needs a shell in the container "
                "(set ansible_shell_executable if it is elsewhere); output: %s"
                % (name, argv[0], to_text(stdout + stderr).strip()))
        return rc, stdout, stderr

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if sudoable and self.become and self.become.expect_prompt() and self.become.get_option("become_pass"):
            raise AnsibleConnectionFailure(
                "berth.engine.docker: become with a password is not supported inside containers: connect as "
                "root (ansible_user) or let the become user's sudo run without a password (NOPASSWD)")
        executable = self._play_context.executable or "/bin/sh"
        argv = [executable, "-c", to_text(cmd, errors="surrogate_or_strict")]
        display.vvv("EXEC %s" % argv, host=self.get_option("remote_addr"))
        rc, stdout, stderr = self._run(argv, stdin=in_data if in_data is None else to_bytes(in_data))
        if rc == 127 and b"python" in stderr and b"not found" in stderr:
            stderr += to_bytes("\nberth.engine.docker: container %s has no such Python interpreter: modules need "
                               "Python in the container (raw works without it); set ansible_python_interpreter "
                               "or install python3 in the image\n" % self.get_option("remote_addr"))
        return rc, stdout, stderr

    # --- files ---------------------------------------------------------------------------------

    def _owner(self):
        """(uid, gid) that files put into the container get: the connection user's."""
        if self._ids is None:
            user = self._user or (self._container.get("Config") or {}).get("User") or ""
            if user in ("", "root", "0", "0:0"):
                self._ids = (0, 0)
            else:
                rc, out, err = self._run(["/bin/sh", "-c", "id -u; id -g"])
                if rc != 0:
                    raise AnsibleConnectionFailure("berth.engine.docker: cannot find the ids of user %s in %s: %s"
                                                   % (user, self.get_option("remote_addr"), to_text(err)))
                uid, gid = to_text(out).split()[:2]
                self._ids = (int(uid), int(gid))
        return self._ids

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self.get_option("remote_addr"))
        if not os.path.isfile(to_bytes(in_path, errors="surrogate_or_strict")):
            raise AnsibleFileNotFound("file or module does not exist: %s" % to_native(in_path))
        out_path = self._remote_path(out_path)
        uid, gid = self._owner()
        directory, name = posixpath.split(out_path)
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w", format=tarfile.PAX_FORMAT) as tar:
                info = tar.gettarinfo(in_path, arcname=name)
                info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
                with open(in_path, "rb") as source:
                    tar.addfile(info, source)
            size = archive.tell()
            archive.seek(0)
            try:
                self._client.response("PUT", endpoint("containers", self._container_id(), "archive"),
                                      params={"path": directory or "/"}, body=archive, raw_body=True,
                                      headers={"Content-Type": "application/x-tar", "Content-Length": str(size)},
                                      ).read()
            except EngineError as err:
                raise AnsibleError("berth.engine.docker: cannot put %s to %s in container %s: %s"
                                   % (in_path, out_path, self.get_option("remote_addr"), err)) from None

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self.get_option("remote_addr"))
        in_path = self._remote_path(in_path)
        for _hop in range(32):  # follow symbolic links, as a copy of the file's content must
            target = self._fetch_one(in_path, out_path)
            if target is None:
                return
            in_path = posixpath.normpath(posixpath.join(posixpath.dirname(in_path), target))
        raise AnsibleError("berth.engine.docker: too many symbolic links at %s" % in_path)

    def _fetch_one(self, in_path, out_path):
        """Extract the file at in_path into out_path, streamed; a symlink returns its target instead."""
        try:
            reply = self._client.response("GET", endpoint("containers", self._container_id(), "archive"),
                                          params={"path": in_path})
        except NotFound:
            raise AnsibleFileNotFound("berth.engine.docker: no file %s in container %s"
                                      % (in_path, self.get_option("remote_addr"))) from None
        except EngineError as err:
            raise AnsibleError("berth.engine.docker: cannot fetch %s: %s" % (in_path, err)) from None
        with tarfile.open(fileobj=reply, mode="r|") as tar:
            member = tar.next()
            if member is None:
                raise AnsibleError("berth.engine.docker: the engine sent an empty archive for %s" % in_path)
            if member.issym():
                return member.linkname
            if not member.isfile():
                raise AnsibleError("berth.engine.docker: %s in container %s is not a regular file"
                                   % (in_path, self.get_option("remote_addr")))
            source = tar.extractfile(member)
            with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as target:
                while True:
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    target.write(chunk)
        return None

    def _remote_path(self, path):
        """An absolute path in the container: relative ones are relative to its working directory."""
        path = to_text(path, errors="surrogate_or_strict")
        if posixpath.isabs(path):
            return path
        self._connect()
        workdir = (self._container.get("Config") or {}).get("WorkingDir") or "/"
        return posixpath.join(workdir, path)

    def close(self):
        self._client = None
        self._container = None
        self._ids = None
        self._connected = False

    def reset(self):
        self.close()


def _missing_program(output, program):
    text = to_text(output, errors="surrogate_or_replace")
    # The runtime's words when the program itself cannot be started: exec: "/bin/sh": stat ...: no such file
    return '"%s"' % program in text and ("no such file" in text.lower() or "not found in $path" in text.lower())
