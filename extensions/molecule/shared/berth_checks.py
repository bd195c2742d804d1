"""Checks of a container host provisioned by site.yml, shared by the scenarios.

Each function takes a testinfra `host` (and what it needs) and asserts; the
scenarios' test files call them. Expected values are computed from the role
defaults in this checkout and the scenario's inventory variables, the same
way the runtime role documents it (berth_daemon_config merged recursively
over berth_daemon_defaults; a top-level null removes a default).
"""

import json
import os
import time

import yaml

REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "..")
)

# The binaries a bundle in Docker's static layout carries (roles/runtime/vars/main.yml).
BUNDLE_BINARIES = [
    "dockerd",
    "docker",
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "runc",
    "docker-init",
    "docker-proxy",
]


def role_defaults(role):
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml")) as f:
        return yaml.safe_load(f) or {}


def setting(host_vars, name, role):
    """A role variable as the play sees it: inventory value, else the role default."""
    if name in host_vars:
        return host_vars[name]
    return role_defaults(role)[name]


def _merge(base, over):
    """Ansible's combine(recursive=true): dicts merge, everything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# The daemon.json keys of each berth_hardening profile (README "Security"), written out here
# rather than read from the role, so that a change to the role's profile shows up as a failure.
HARDENING_KEYS = {
    "none": {},
    "baseline": {"no-new-privileges": True, "userland-proxy": False, "icc": False, "live-restore": True},
    "cis": {"no-new-privileges": True, "userland-proxy": False, "icc": False, "live-restore": True,
            "userns-remap": "default"},
}


def hardening_keys(host_vars):
    """The profile's keys: they replace a default's whole value; berth_daemon_config merges over them."""
    profile = setting(host_vars, "berth_hardening", "runtime")
    keys = dict(HARDENING_KEYS[profile])
    if profile == "cis":
        driver = setting(host_vars, "berth_hardening_log_driver", "runtime")
        address = setting(host_vars, "berth_hardening_log_address", "runtime")
        if driver:
            keys["log-driver"] = driver
            keys["log-opts"] = {"syslog-address": address} if driver == "syslog" and address else {}
        plugins = setting(host_vars, "berth_authorization_plugins", "runtime")
        if plugins:
            keys["authorization-plugins"] = plugins
    return keys


def expected_daemon_config(host_vars):
    defaults = setting(host_vars, "berth_daemon_defaults", "runtime")
    config = setting(host_vars, "berth_daemon_config", "runtime") or {}
    merged = _merge(dict(defaults, **hardening_keys(host_vars)), config)
    return {k: v for k, v in merged.items() if v is not None}


def daemon_json(host, host_vars):
    path = setting(host_vars, "berth_daemon_config_file", "runtime")
    f = host.file(path)
    assert f.exists, f"{path} is missing"
    assert f.user == "root" and f.mode == 0o644, f"{path}: owner {f.user}, mode {oct(f.mode)}"
    return json.loads(f.content_string)


def check_systemd_pid1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def check_engine_under_systemd(host):
    """docker.service (and containerd) enabled and active under systemd; /_ping answers."""
    check_systemd_pid1(host)
    for unit in ("docker.service", "containerd.service"):
        svc = host.service(unit)
        assert svc.is_running, f"{unit} is not active"
        assert svc.is_enabled, f"{unit} is not enabled"
    main_pid = host.check_output("systemctl show -p MainPID --value docker.service")
    assert main_pid != "0"
    assert host.file(f"/proc/{main_pid}/comm").content_string.strip() == "dockerd"
    ping = host.run("python3 -c %s", _PING)
    assert ping.rc == 0 and ping.stdout.strip() == "OK", ping.stdout + ping.stderr


_PING = """
import socket
s = socket.socket(socket.AF_UNIX)
s.connect('/var/run/docker.sock')
s.sendall(b'GET /_ping HTTP/1.0\\r\\nHost: docker\\r\\n\\r\\n')
data = b''
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b'\\r\\n\\r\\n', 1)[1].decode())
"""


def check_daemon_json(host, host_vars, expected):
    actual = daemon_json(host, host_vars)
    assert actual == expected


def check_storage_driver(host, host_vars):
    want = setting(host_vars, "berth_expected_storage_driver", "runtime")
    assert want == "overlay2"
    assert host.check_output("docker info --format '{{.Driver}}'") == want


def check_prereq_files(host, host_vars):
    """The modules-load.d and sysctl.d files the prereqs role persists."""
    modules = setting(host_vars, "berth_kernel_modules", "prereqs")
    path = setting(host_vars, "berth_modules_load_file", "prereqs")
    assert path.startswith("/etc/modules-load.d/")
    f = host.file(path)
    assert f.is_file, f"{path} is missing"
    listed = [ln.strip() for ln in f.content_string.splitlines() if ln.strip() and not ln.startswith("#")]
    assert sorted(listed) == sorted(modules)

    sysctls = setting(host_vars, "berth_sysctls", "prereqs")
    path = setting(host_vars, "berth_sysctl_file", "prereqs")
    assert path.startswith("/etc/sysctl.d/")
    f = host.file(path)
    assert f.is_file, f"{path} is missing"
    found = {}
    for ln in f.content_string.splitlines():
        if "=" in ln and not ln.lstrip().startswith(("#", ";")):
            k, v = ln.split("=", 1)
            found[k.strip()] = v.strip()
    assert found == {k: str(v) for k, v in sysctls.items()}


def published_port(host, container):
    """Host port of the first published port of a container on the host's engine."""
    out = host.check_output("docker inspect -f '{{json .NetworkSettings.Ports}}' %s", container)
    for bindings in json.loads(out).values():
        for b in bindings or []:
            return int(b["HostPort"])
    raise AssertionError(f"{container} publishes no port")


def check_workload(host, host_vars):
    """Every berth_containers entry with ports runs and answers HTTP on its published port."""
    containers = [c for c in setting(host_vars, "berth_containers", "workloads") if c.get("ports")]
    assert containers, "the scenario deploys no container with a published port"
    for c in containers:
        state = host.check_output("docker inspect -f '{{.State.Status}} {{.Config.Image}}' %s", c["name"])
        assert state == f"running {c['image']}"
        port = published_port(host, c["name"])
        url = f"http://127.0.0.1:{port}/"
        body = None
        for _unused in range(10):  # the engine may still be wiring the port after a restart
            r = host.run(
                "python3 -c %s %s",
                "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
                url,
            )
            if r.rc == 0:
                body = r.stdout
                break
            time.sleep(1)
        assert body is not None, f"{c['name']} does not answer on {url}: {r.stderr}"
        assert "berth-test http" in body


def sha256s(host, paths):
    """sha256 of files on the host, by path."""
    out = host.check_output("sha256sum " + " ".join(paths))
    return {line.split()[1]: line.split()[0] for line in out.splitlines()}
