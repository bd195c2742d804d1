# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Day-2 work inside a container: run a command (exec), read its logs, stat and copy files.

These are operations, not resources: they have no desired state to plan against, so they stop at
"what would run" in check mode. The engine calls go through engine_client.py like everything else.
"""

from __future__ import annotations

import base64
import json
import posixpath
import shlex

from ansible_collections.berth.engine.plugins.module_utils.engine_client import EngineError, endpoint, split_streams


def find_container(client, name):
    """The inspect document of `name`, or an error that says what to do."""
    container = client.inspect("container", name)
    if container is None:
        raise EngineError("container %s does not exist: create it first (berth.engine.container) or fix the name"
                          % name)
    return container


def command_words(command, option="command"):
    """A command given as a list or as a string (split like a shell, no shell run)."""
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError as err:
            raise ValueError("%s could not be split into words: %s" % (option, err)) from None
    elif isinstance(command, list):
        words = [str(word) for word in command]
    else:
        raise ValueError("%s must be a list of words or a string, got %r" % (option, command))
    if not words:
        raise ValueError("%s must not be empty" % option)
    return words


def exec_body(words, env=None, user=None, working_dir=None, tty=False, privileged=False):
    body = {"Cmd": words, "AttachStdout": True, "AttachStderr": True, "Tty": tty, "Privileged": privileged}
    if env:
        body["Env"] = ["%s=%s" % (key, value) for key, value in sorted(env.items())]
    if user:
        body["User"] = user
    if working_dir:
        body["WorkingDir"] = working_dir
    return body


def run_exec(client, container, body, detach=False, timeout=None):
    """Create and start an exec; returns {exec_id, rc, stdout, stderr} (rc None when detached)."""
    name = container["Name"].lstrip("/")
    if not (container.get("State") or {}).get("Running"):
        raise EngineError("container %s is not running (%s): start it first, exec needs a running container"
                          % (name, (container.get("State") or {}).get("Status")))
    created = client.post(endpoint("containers", container["Id"], "exec"), body=body)
    exec_id = created["Id"]
    start = {"Detach": detach, "Tty": body.get("Tty", False)}
    if detach:
        client.post(endpoint("exec", exec_id, "start"), body=start)
        return {"exec_id": exec_id, "rc": None, "stdout": "", "stderr": ""}
    data = client.raw("POST", endpoint("exec", exec_id, "start"), body=start, timeout=timeout)
    if body.get("Tty"):
        stdout, stderr = data.decode("utf-8", "replace"), ""
    else:
        stdout, stderr = split_streams(data)
    info = client.get(endpoint("exec", exec_id, "json"))
    return {"exec_id": exec_id, "rc": info.get("ExitCode"), "stdout": stdout, "stderr": stderr}


def path_exists(client, container_id, path):
    """Whether `path` exists in the container (HEAD of the archive endpoint: no shell needed)."""
    return path_stat(client, container_id, path) is not None


def path_stat(client, container_id, path):
    """The engine's stat of a path in the container ({name, size, mode, mtime, linkTarget}) or None."""
    headers = client.head(endpoint("containers", container_id, "archive"), {"path": path})
    if headers is None:
        return None
    encoded = headers.get("X-Docker-Container-Path-Stat")
    if not encoded:
        return {}
    return json.loads(base64.b64decode(encoded).decode("utf-8"))


def read_logs(client, container, tail=None, since=None, timestamps=False):
    """(stdout, stderr) of a container; a TTY container has everything on stdout."""
    params = {"stdout": True, "stderr": True, "timestamps": timestamps}
    if tail is not None:
        params["tail"] = tail
    if since is not None:
        params["since"] = since
    data = client.raw("GET", endpoint("containers", container["Id"], "logs"), params=params)
    if (container.get("Config") or {}).get("Tty"):
        return data.decode("utf-8", "replace"), ""
    return split_streams(data)


# --- copying files in --------------------------------------------------------------------------------

def read_file(client, container_id, path, limit=64 * 1024 * 1024):
    """(bytes, stat) of a regular file in the container, or (None, None) when it does not exist."""
    import io
    import tarfile

    stat = path_stat(client, container_id, path)
    if stat is None:
        return None, None
    mode = stat.get("mode", 0)
    if mode & (1 << 31):  # Go's os.ModeDir
        raise ValueError("%s is a directory in the container; give the file's path as dest" % path)
    if stat.get("size", 0) > limit:
        return b"", stat  # too large to compare: treated as different
    data = client.raw("GET", endpoint("containers", container_id, "archive"), {"path": path})
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if member.isfile():
                return archive.extractfile(member).read(), dict(stat, uid=member.uid, gid=member.gid,
                                                                mode=member.mode & 0o7777)
    return b"", stat


def file_archive(name, content, mode, uid, gid, directories=()):
    """A tar archive holding one file (and first the `directories` it lies in), as PUT /containers/{id}/archive
    takes it."""
    import io
    import tarfile
    import time

    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, 0o755, uid, gid, now
            archive.addfile(info)
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid, info.mtime = len(content), mode, uid, gid, now
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def existing_ancestor(client, container_id, directory):
    """(the deepest existing directory of `directory` in the container, [the missing ones below it, relative])."""
    missing = []
    while True:
        stat = path_stat(client, container_id, directory)
        if stat is not None:
            if stat and not stat.get("mode", 0) & (1 << 31):  # Go's os.ModeDir
                raise ValueError("%s is not a directory in the container, so nothing can be copied under it"
                                 % directory)
            break
        if directory == "/":
            break
        directory, last = posixpath.split(directory)
        missing.insert(0, last)
    return directory, [posixpath.join(*missing[:depth]) for depth in range(1, len(missing) + 1)]


def put_file(client, container_id, directory, name, content, mode, uid, gid):
    """Write one file, creating the directories it lies in that are missing: the engine needs the path it
    extracts into to exist."""
    base, missing = existing_ancestor(client, container_id, directory)
    relative = posixpath.join(missing[-1], name) if missing else name
    archive = file_archive(relative, content, mode, uid, gid, missing)
    client.raw("PUT", endpoint("containers", container_id, "archive"), {"path": base}, body=archive,
               headers={"Content-Type": "application/x-tar", "Content-Length": str(len(archive))}, raw_body=True)
