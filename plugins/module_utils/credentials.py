# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials as the docker CLI keeps them: ~/.docker/config.json and credential helpers.

Reading them lets image pulls and pushes use a login made once for the whole play (berth.engine.login)
instead of passing a password to every task.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile

DOCKER_HUB = "https://index.docker.io/v1/"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/",
                "https://index.docker.io/v1", "registry.hub.docker.com")


def default_config_path():
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def registry_key(registry):
    """The key the docker CLI stores a registry under: Docker Hub's URL, or host[:port]."""
    value = (registry or "").strip()
    if not value or value in _HUB_ALIASES:
        return DOCKER_HUB
    for prefix in ("https://", "http://"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    return value.rstrip("/").split("/", 1)[0]


def read_config(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ValueError("cannot read %s: %s" % (path, err.strerror)) from None
    try:
        config = json.loads(text) if text.strip() else {}
    except ValueError as err:
        raise ValueError("%s is not valid JSON (%s): fix or remove it" % (path, err)) from None
    if not isinstance(config, dict):
        raise ValueError("%s must hold a JSON object" % path)
    return config


def write_config(path, config):
    """Atomically, mode 0600: the file holds passwords."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".config.json.", dir=directory)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(config, out, indent="\t", sort_keys=True)
            out.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def helper_for(config, key):
    """The credential helper configured for a registry (credHelpers, then credsStore), or None."""
    return (config.get("credHelpers") or {}).get(key) or config.get("credsStore") or None


def _run_helper(helper, verb, payload):
    program = "docker-credential-" + helper
    try:
        proc = subprocess.run([program, verb], input=payload.encode("utf-8"), capture_output=True, timeout=60,
                              check=False)
    except FileNotFoundError:
        raise ValueError("the credential helper %s is configured but not installed (PATH)" % program) from None
    if proc.returncode != 0:
        message = (proc.stdout or proc.stderr).decode("utf-8", "replace").strip()
        if verb == "get" and "credentials not found" in message.lower():
            return None
        raise ValueError("%s %s failed: %s" % (program, verb, message))
    return proc.stdout.decode("utf-8", "replace")


def stored_credentials(registry, path=None):
    """(username, password) stored for a registry, or (None, None)."""
    path = path or default_config_path()
    config = read_config(path)
    key = registry_key(registry)
    helper = helper_for(config, key)
    if helper:
        reply = _run_helper(helper, "get", key)
        if not reply:
            return None, None
        found = json.loads(reply)
        return found.get("Username"), found.get("Secret")
    entry = (config.get("auths") or {}).get(key) or {}
    if entry.get("auth"):
        username, _unused, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
        return username, password
    return entry.get("username"), entry.get("password")


def store_credentials(path, registry, username, password):
    config = read_config(path)
    key = registry_key(registry)
    helper = helper_for(config, key)
    if helper:
        _run_helper(helper, "store", json.dumps({"ServerURL": key, "Username": username, "Secret": password}))
        config.setdefault("auths", {}).setdefault(key, {})
    else:
        token = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
        config.setdefault("auths", {})[key] = {"auth": token}
    write_config(path, config)


def erase_credentials(path, registry):
    """Remove a registry's login; returns whether there was one."""
    config = read_config(path)
    key = registry_key(registry)
    had = key in (config.get("auths") or {})
    helper = helper_for(config, key)
    if helper and stored_credentials(registry, path)[0] is not None:
        _run_helper(helper, "erase", key)
        had = True
    if key in (config.get("auths") or {}):
        del config["auths"][key]
    if had:
        write_config(path, config)
    return had
