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
      - The plugin speaks it (C(auto) is API 1.41, whose exec and archive endpoints every newer engine serves
        alike) without asking the engine first; only an engine that refuses it is asked for its versions.
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

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.berth.engine.plugins.module_utils.engine_client import (
    Conflict,
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
BLOCK = tarfile.BLOCKSIZE


def client_from_options(get_option):
    """An EngineClient from plugin options: given ones first, then the environment, then defaults.

    It keeps one HTTP connection and assumes the API version (exec and archive read the same in every
    version Berth speaks), so a task costs the engine no GET /version.
    """
    given = {name: get_option(name) for name in SETTINGS}
    # Not "timeout": that name is Ansible's own connection timeout (ansible_timeout, 10 s by default).
    given["timeout"] = get_option("docker_timeout")
    client = EngineClient(keep_alive=True, **resolve_settings(given))
    client.assume_api_version()
    return client


class Connection(ConnectionBase):
    """Exec and archive calls of the Engine API, one client per connection.

    Ansible makes a connection per task, so nothing is asked up front: commands go straight to the
    container by name (exec create, start, inspect: three calls), and the container is inspected only
    when a call fails (to say why) or a file transfer needs its user or working directory.
    """

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
        try:
            self._client = client_from_options(self.get_option)
        except EngineError as err:
            raise AnsibleConnectionFailure("berth.engine.docker: %s" % err) from None
        display.vvv("ESTABLISH berth.engine.docker TO CONTAINER %s ON %s" % (self._name, self._client.docker_host),
                    host=self._name)
        self._connected = True
        return self

    @property
    def _name(self):
        return self.get_option("remote_addr")

    @property
    def _user(self):
        return self.get_option("remote_user") or None

    def _container_info(self):
        """The container's inspect document, asked once per connection; a missing one fails."""
        if self._container is None:
            self._connect()
            try:
                container = self._client.inspect("container", self._name)
            except EngineError as err:
                raise self._failure(err, "inspect") from None
            if container is None:
                raise self._missing()
            self._container = container
        return self._container

    def _missing(self):
        return AnsibleConnectionFailure(
            "berth.engine.docker: no container %s on the engine at %s: check ansible_host (the container's "
            "name or ID) and docker_host" % (self._name, self._client.docker_host))

    def _failure(self, err, doing):
        """The Ansible error for an engine error while `doing` something in the container."""
        if _container_gone(err):
            return self._missing()
        if isinstance(err, Conflict):
            # Stopped or paused (the engine's 409 to an exec): its state says which, for the message.
            self._container = None
            state = (self._container_info().get("State") or {})
            if not state.get("Running") or state.get("Paused"):
                return AnsibleConnectionFailure(
                    "berth.engine.docker: container %s is %s, not running: start it (berth.engine.container "
                    "state=started) before running tasks in it" % (self._name, state.get("Status", "not running")))
        if err.status is None:  # the engine itself cannot be reached
            return AnsibleConnectionFailure("berth.engine.docker: %s" % err)
        return AnsibleConnectionFailure("berth.engine.docker: %s in container %s failed: %s"
                                        % (doing, self._name, err))

    # --- commands ------------------------------------------------------------------------------

    def _run(self, argv, stdin=None):
        """(rc, stdout bytes, stderr bytes) of argv run in the container."""
        self._connect()
        body = {"Cmd": argv, "AttachStdout": True, "AttachStderr": True, "AttachStdin": stdin is not None,
                "Tty": False}
        if self._user:
            body["User"] = self._user
        try:
            created = self._client.post(endpoint("containers", self._name, "exec"), body=body)
            data = self._client.exec_attached(created["Id"], stdin=stdin, wait_forever=True)
            rc = (self._client.get(endpoint("exec", created["Id"], "json")) or {}).get("ExitCode")
        except EngineError as err:
            raise self._failure(err, "exec") from None
        stdout, stderr = split_stream_bytes(data)
        if rc in (126, 127) and _missing_program(stdout + stderr, argv[0]):
            raise AnsibleConnectionFailure(
                "berth.engine.docker: container %s has no %s: Ansible needs a shell in the container "
                "(set ansible_shell_executable if it is elsewhere); output: %s"
                % (self._name, argv[0], to_text(stdout + stderr).strip()))
        return rc, stdout, stderr

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if sudoable and self.become and self.become.expect_prompt() and self.become.get_option("become_pass"):
            raise AnsibleConnectionFailure(
                "berth.engine.docker: become with a password is not supported inside containers: connect as "
                "root (ansible_user) or let the become user's sudo run without a password (NOPASSWD)")
        executable = self._play_context.executable or "/bin/sh"
        argv = [executable, "-c", to_text(cmd, errors="surrogate_or_strict")]
        display.vvv("EXEC %s" % argv, host=self._name)
        rc, stdout, stderr = self._run(argv, stdin=in_data if in_data is None else to_bytes(in_data))
        if rc == 127 and b"python" in stderr and b"not found" in stderr:
            stderr += to_bytes("\nberth.engine.docker: container %s has no such Python interpreter: modules need "
                               "Python in the container (raw works without it); set ansible_python_interpreter "
                               "or install python3 in the image\n" % self._name)
        return rc, stdout, stderr

    # --- files ---------------------------------------------------------------------------------

    def _owner(self):
        """(uid, gid) that files put into the container get: the connection user's."""
        if self._ids is None:
            user = self._user or (self._container_info().get("Config") or {}).get("User") or ""
            if user in ("", "root", "0", "0:0"):
                self._ids = (0, 0)
            else:
                rc, out, err = self._run(["/bin/sh", "-c", "id -u; id -g"])
                if rc != 0:
                    raise AnsibleConnectionFailure("berth.engine.docker: cannot find the ids of user %s in %s: %s"
                                                   % (user, self._name, to_text(err)))
                uid, gid = to_text(out).split()[:2]
                self._ids = (int(uid), int(gid))
        return self._ids

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._name)
        if not os.path.isfile(to_bytes(in_path, errors="surrogate_or_strict")):
            raise AnsibleFileNotFound("file or module does not exist: %s" % to_native(in_path))
        out_path = self._remote_path(out_path)
        directory, name = posixpath.split(out_path)
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as source:
            archive = _OneFileTar(source, _tar_header(source, name, self._owner()))
            try:
                self._client.response("PUT", endpoint("containers", self._name, "archive"),
                                      params={"path": directory or "/"}, body=archive, raw_body=True,
                                      headers={"Content-Type": "application/x-tar",
                                               "Content-Length": str(archive.size)}).read()
            except EngineError as err:
                if _container_gone(err) or err.status is None:
                    raise self._failure(err, "put") from None
                raise AnsibleError("berth.engine.docker: cannot put %s to %s in container %s: %s"
                                   % (in_path, out_path, self._name, err)) from None

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._name)
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
            reply = self._client.response("GET", endpoint("containers", self._name, "archive"),
                                          params={"path": in_path})
        except NotFound as err:
            if _container_gone(err):
                raise self._missing() from None
            raise AnsibleFileNotFound("berth.engine.docker: no file %s in container %s"
                                      % (in_path, self._name)) from None
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
                                   % (in_path, self._name))
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
        workdir = (self._container_info().get("Config") or {}).get("WorkingDir") or "/"
        return posixpath.join(workdir, path)

    def close(self):
        if self._client is not None:
            self._client.close()
        self._client = None
        self._container = None
        self._ids = None
        self._connected = False

    def reset(self):
        self.close()


def _tar_header(source, name, owner):
    """The PAX header block(s) of the open regular file `source` as `name`, owned by (uid, gid)."""
    status = os.fstat(source.fileno())
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = status.st_size, status.st_mode & 0o7777, int(status.st_mtime)
    info.uid, info.gid = owner
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


class _OneFileTar:
    """A tar archive of one file, read straight from it: header, content, padding, end-of-archive.

    No copy of the file is made (a temporary archive would write every put twice); the size is known up
    front for the Content-Length. A file that changes size while it is sent fails the put.
    """

    def __init__(self, source, header):
        content = os.fstat(source.fileno()).st_size
        self._source, self._remaining = source, content
        self._head = header
        self._tail = b"\0" * (-content % BLOCK + 2 * BLOCK)
        self.size = len(header) + content + len(self._tail)

    def read(self, size=-1):
        size = CHUNK if size is None or size < 0 else size
        if self._head:
            out, self._head = self._head[:size], self._head[size:]
            return out
        if self._remaining:
            out = self._source.read(min(size, self._remaining))
            if not out:
                raise AnsibleError("berth.engine.docker: %s shrank while it was sent" % self._source.name)
            self._remaining -= len(out)
            return out
        out, self._tail = self._tail[:size], self._tail[size:]
        return out


def _container_gone(err):
    """Whether an engine error is its 404 for the container itself (not for a file or an exec in it)."""
    return isinstance(err, NotFound) and "no such container" in (err.daemon_message or "").lower()


def _missing_program(output, program):
    text = to_text(output, errors="surrogate_or_replace")
    # The runtime's words when the program itself cannot be started: exec: "/bin/sh": stat ...: no such file
    return '"%s"' % program in text and ("no such file" in text.lower() or "not found in $path" in text.lower())
