"""The default scenario: Debian 12/13/sid provisioned by site.yml from docker.io."""

import ipaddress
import json
import re

import berth_checks as checks


def test_engine_active_under_systemd(host):
    checks.check_engine_under_systemd(host)


def test_engine_from_distro_packages(host, host_vars):
    assert checks.setting(host_vars, "berth_runtime_source", "runtime") == "distro"
    assert host.package("docker.io").is_installed
    dockerd = host.check_output("command -v dockerd")
    assert host.check_output("dpkg -S %s", dockerd).startswith("docker.io:")


def test_docker_cli_works(host):
    # Debian 13 and sid split the CLI into docker-cli, which docker.io only recommends.
    assert host.exists("docker"), "no docker CLI on the host"
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_engine_version_the_host_proves(host, host_vars):
    # The daemon's own answer (docker CLI and docker info) and the package, each against the inventory.
    want = host_vars["berth_mol_expected_engine"]
    server = host.check_output("docker version --format '{{.Server.Version}}'")
    assert server.startswith(want), f"dockerd {server}, expected {want}x"
    assert host.check_output("docker info --format '{{.ServerVersion}}'") == server
    package = host.check_output("dpkg-query -W -f '${Version}' docker.io")
    same_version = r"([0-9]+:)?" + re.escape(server) + r"($|[^0-9])"
    assert re.match(same_version, package), f"docker.io {package}, dockerd {server}"


def test_compose_plugin_only_when_asked(host, host_vars):
    compose = host.run("docker compose version --short")
    if not checks.setting(host_vars, "berth_install_compose", "runtime"):
        assert compose.rc != 0, f"docker compose answers without berth_install_compose: {compose.stdout}"
        return
    assert compose.rc == 0, compose.stderr
    assert re.match(r"v?2\.[0-9]+\.", compose.stdout.strip()), compose.stdout
    plugin = host.check_output("readlink -f /usr/libexec/docker/cli-plugins/docker-compose")
    assert host.check_output("dpkg -S %s", plugin).startswith("docker-compose:")


def test_daemon_json_is_defaults_plus_scenario_config(host, host_vars, expected_daemon_json):
    checks.check_daemon_json(host, host_vars, expected_daemon_json)


def test_storage_driver_overlay2(host, host_vars):
    checks.check_storage_driver(host, host_vars)


def test_module_and_sysctl_files(host, host_vars):
    checks.check_prereq_files(host, host_vars)


def test_loaded_image_runs_and_answers(host, host_vars):
    checks.check_workload(host, host_vars)


def test_network_from_the_configured_pool_and_volume(host, host_vars, expected_daemon_json):
    pools = [ipaddress.ip_network(p["base"]) for p in expected_daemon_json.get("default-address-pools", [])]
    assert pools, "the scenario sets default-address-pools"
    for net in host_vars["berth_networks"]:
        ipam = json.loads(host.check_output("docker network inspect -f '{{json .IPAM.Config}}' %s", net["name"]))
        subnet = ipaddress.ip_network(ipam[0]["Subnet"])
        assert any(subnet.subnet_of(pool) for pool in pools), f"{net['name']}: {subnet} is outside {pools}"
    for vol in host_vars["berth_volumes"]:
        assert host.run("docker volume inspect %s", vol["name"]).rc == 0
    for c in host_vars["berth_containers"]:
        attached = json.loads(host.check_output("docker inspect -f '{{json .NetworkSettings.Networks}}' %s", c["name"]))
        assert sorted(attached) == sorted(n["name"] for n in c.get("networks", [{"name": "bridge"}]))


# --- berth_hardening (README "Security") ---------------------------------------------------------

# Container types where the kernel's audit subsystem belongs to another host (the role's rule).
CONTAINER_TYPES = ("docker", "container", "containerd", "podman", "lxc", "lxc-libvirt", "openvz", "systemd-nspawn")


def docker_json(host, fmt, *args):
    return json.loads(host.check_output("docker " + fmt, *args))


def test_daemon_runs_with_the_hardening_settings(host, expected_daemon_json):
    info = docker_json(host, "info --format '{{json .}}'")
    assert info["LiveRestoreEnabled"] is expected_daemon_json.get("live-restore", False)
    assert info["LoggingDriver"] == expected_daemon_json["log-driver"]
    bridge = docker_json(host, "network inspect -f '{{json .Options}}' bridge")
    want_icc = "false" if expected_daemon_json.get("icc") is False else "true"
    assert bridge.get("com.docker.network.bridge.enable_icc") == want_icc
    userns = any("name=userns" in opt for opt in info["SecurityOptions"])
    assert userns is (expected_daemon_json.get("userns-remap") == "default"), info["SecurityOptions"]


def test_published_port_without_docker_proxy(host, host_vars, expected_daemon_json):
    # check_workload (above) reached the port on 127.0.0.1; no docker-proxy process served it.
    proxies = host.run("cat /proc/[0-9]*/comm 2>/dev/null | grep -x docker-proxy")
    if expected_daemon_json.get("userland-proxy") is False:
        assert proxies.rc == 1, f"docker-proxy runs: {proxies.stdout}"
    else:
        assert proxies.rc == 0


def test_containers_cannot_gain_privileges(host, host_vars, expected_daemon_json):
    for c in host_vars["berth_containers"]:
        status = host.check_output("docker exec %s grep NoNewPrivs /proc/1/status", c["name"])
        want = "1" if expected_daemon_json.get("no-new-privileges") else "0"
        assert status.split() == ["NoNewPrivs:", want]


def test_userns_remap_runs_container_root_as_dockremap(host, expected_daemon_json):
    if expected_daemon_json.get("userns-remap") != "default":
        assert host.run("grep -q '^dockremap:' /etc/subuid").rc != 0
        return
    ranges = {}
    for path in ("/etc/subuid", "/etc/subgid"):
        lines = [ln.split(":") for ln in host.file(path).content_string.splitlines() if ln.startswith("dockremap:")]
        assert len(lines) == 1, f"{path}: {lines}"
        ranges[path] = (int(lines[0][1]), int(lines[0][2]))
    start, count = ranges["/etc/subuid"]
    assert count == 65536
    root_dir = host.check_output("docker info --format '{{.DockerRootDir}}'")
    assert root_dir == f"/var/lib/docker/{start}.{ranges['/etc/subgid'][0]}"
    pid = host.check_output("docker inspect -f '{{.State.Pid}}' web")
    uid = int(host.check_output("stat -c %%u /proc/%s", pid))
    assert uid == start, f"the container's root is uid {uid} on the host, expected {start}"


def test_cis_container_defaults(host, host_vars):
    cis = host_vars.get("berth_workloads_cis", False)
    for c in host_vars["berth_containers"]:
        hc = docker_json(host, "inspect -f '{{json .HostConfig}}' %s", c["name"])
        assert hc["ReadonlyRootfs"] is c.get("read_only", cis)
        assert hc["PidsLimit"] in ((c.get("pids_limit", 512),) if cis else (None, 0, -1))
        assert hc["CapDrop"] == (c.get("cap_drop", ["ALL"]) if cis else None)
        if cis:
            assert hc["Memory"] > 0
            health = host.check_output("docker inspect -f '{{.State.Health.Status}}' %s", c["name"])
            assert health == "healthy"


def audit_rules(host, host_vars):
    path = checks.setting(host_vars, "berth_audit_rules_file", "runtime")
    f = host.file(path)
    assert f.is_file and f.user == "root" and f.mode == 0o640, path
    rules = {}
    for line in f.content_string.splitlines():
        if line.startswith("-w "):
            words = line.split()
            assert words[-2:] == ["-k", "docker"], line
            rules[words[1]] = words[2:-2]
    return rules


def test_audit_rules_cover_the_benchmark_paths(host, host_vars, expected_daemon_json):
    if checks.setting(host_vars, "berth_hardening", "runtime") == "none":
        return
    rules = audit_rules(host, host_vars)
    real = {host.check_output("readlink -f %s", p): p for p in rules if host.file(p).exists}
    # One rule per file, and only for files that exist (the /run ones exist once containerd runs).
    assert len(real) == len(rules), f"duplicate or missing paths in {sorted(rules)}"
    data_root = expected_daemon_json.get("data-root", "/var/lib/docker")
    assert rules.pop(data_root) == ["-p", "wa"]
    assert rules.pop("/run/containerd") == ["-p", "wa"]
    assert rules.pop("/run/containerd/containerd.sock") == ["-p", "wa"]
    wanted = ["/etc/docker", "/etc/docker/daemon.json"]
    binaries = ("dockerd", "containerd", "runc", "containerd-shim-runc-v2")
    wanted += [host.check_output("command -v %s", b) for b in binaries]
    for unit in ("docker.service", "docker.socket"):
        wanted.append(host.check_output("systemctl show -p FragmentPath --value %s", unit))
    if host.file("/etc/default/docker").exists:
        wanted.append("/etc/default/docker")
    for path in wanted:
        assert host.check_output("readlink -f %s", path) in real, f"no audit rule for {path}"
    assert all(opts == [] for opts in rules.values()), rules


def test_audit_rules_loaded_where_auditd_can_run(host, host_vars):
    if checks.setting(host_vars, "berth_hardening", "runtime") == "none":
        return
    virt = host.ansible("setup", "gather_subset=virtual")["ansible_facts"]
    in_container = virt.get("ansible_virtualization_role") == "guest" and \
        virt.get("ansible_virtualization_type") in CONTAINER_TYPES
    if in_container:
        # The kernel's audit subsystem belongs to the host: no auditd here, the rules are only written.
        assert not host.package("auditd").is_installed
        return
    assert host.service("auditd").is_running
    loaded = host.check_output("auditctl -l")
    for path in audit_rules(host, host_vars):
        assert f"-w {path} " in loaded, f"{path} is not in auditctl -l"
