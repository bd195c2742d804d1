#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container
short_description: Manage a Docker container idempotently through the Engine API
version_added: 0.1.0
description:
  - Creates, updates, recreates, starts, stops and removes one container so that it matches what the task declares.
  - Only the options you set are compared. Values the image provides (environment, labels, command, entrypoint,
    exposed ports, volumes) never count as a difference.
  - Resource limits and the restart policy change in place (the container keeps its ID); any other difference
    recreates the container.
  - A recreate never leaves the host without the service. The new image is obtained first; the old container is
    stopped and renamed aside, the new one is created and started. If that fails (or O(state=healthy) times out),
    the new container is removed, the old one gets its name back and is started again, and the task fails
    saying so. The old container is removed only after success; its anonymous volumes are kept.
  - Check mode reports exactly the actions a real run would take; diff mode shows what differs.
extends_documentation_fragment:
  - berth.engine.engine
options:
  name:
    description: Container name.
    type: str
    required: true
  image:
    description:
      - Image reference, for example C(registry.example.com/app:1.4). Without a tag C(:latest) is meant.
      - Required unless O(state=absent).
    type: str
  state:
    description:
      - C(present) the container exists (created, its running state untouched; a recreate keeps it running if it was).
      - C(started) it exists and runs. C(stopped) it exists and does not run. C(absent) it does not exist.
      - C(restarted) like C(started), and restarted if this run did not already (re)start it.
      - C(healthy) like C(started), then wait until its health check passes (O(healthy_timeout)).
    type: str
    default: started
    choices: [present, started, stopped, absent, restarted, healthy]
  pull:
    description:
      - C(missing) pulls the image only when the host does not have it.
      - C(always) pulls every run; the container is recreated only if that brought a different image.
        In check mode the registry's digest is compared without pulling.
      - C(never) fails when the image is not on the host.
    type: str
    default: missing
    choices: [missing, always, never]
  recreate:
    description:
      - C(auto) recreates when the image or an option that cannot change in place differs.
      - C(always) recreates every run. C(never) keeps the container and warns about the differences.
    type: str
    default: auto
    choices: [auto, always, never]
  registry_username:
    description: User name for the registry of O(image), for pulls.
    type: str
  registry_password:
    description: Password or token for O(registry_username).
    type: str
  command:
    description: Command (arguments to the entrypoint), as a list or a string split like a shell would.
    type: raw
  entrypoint:
    description: Entrypoint, as a list or a string split like a shell would.
    type: raw
  env:
    description: Environment variables. Values are turned into strings (booleans as C(true)/C(false)).
    type: dict
  labels:
    description: Labels. Labels from the image are kept and never count as a difference.
    type: dict
  ports:
    description:
      - Published ports as C([ip:][host_port:]container_port[/tcp|udp|sctp]). Ranges like C(8000-8001:80-81).
      - Without a host port the engine picks one. IPv6 addresses go in brackets, C([::1]:8080:80).
    type: list
    elements: str
  mounts:
    description: Mounts, each a bind mount, a named or anonymous volume, or a tmpfs.
    type: list
    elements: dict
    suboptions:
      type:
        description: Mount type.
        type: str
        default: volume
        choices: [bind, volume, tmpfs]
      source:
        description: Host path (bind) or volume name (volume; empty for an anonymous volume).
        type: str
      target:
        description: Path in the container.
        type: str
        required: true
      read_only:
        description: Mount read-only.
        type: bool
        default: false
  volumes:
    description:
      - Short form of O(mounts), C([source:]target[:ro|rw]). A source starting with C(/) is a bind mount,
        anything else a named volume.
    type: list
    elements: str
  tmpfs:
    description: tmpfs mounts as C(/path[:options]), for example C(/run:size=64m).
    type: list
    elements: str
  networks:
    description:
      - Networks to attach, in order. When set, the container is attached to exactly these networks;
        membership, aliases and static addresses are fixed in place without a recreate.
      - Static addresses and aliases are kept when the container is recreated.
    type: list
    elements: dict
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      aliases:
        description: DNS aliases on this network.
        type: list
        elements: str
      ipv4_address:
        description: Static IPv4 address (the network needs a configured subnet).
        type: str
      ipv6_address:
        description: Static IPv6 address.
        type: str
  network_mode:
    description: C(bridge), C(host), C(none), C(container:NAME) or a network name.
    type: str
  restart_policy:
    description: Restart policy; changes in place.
    type: str
    choices: ['no', always, on-failure, unless-stopped]
  restart_retries:
    description: Maximum restarts with O(restart_policy=on-failure).
    type: int
  healthcheck:
    description: Health check; keys you leave out keep the image's values.
    type: dict
    suboptions:
      test:
        description: A string (run by a shell) or a list (C(CMD) form).
        type: raw
      interval:
        description: Time between checks, like C(30s).
        type: str
      timeout:
        description: Time one check may take.
        type: str
      retries:
        description: Consecutive failures before the container is unhealthy.
        type: int
      start_period:
        description: Grace period after start.
        type: str
      disable:
        description: Disable the image's health check.
        type: bool
        default: false
  healthy_timeout:
    description: Seconds to wait for O(state=healthy).
    type: int
    default: 60
  user:
    description: User (and group) the process runs as.
    type: str
  working_dir:
    description: Working directory.
    type: str
  hostname:
    description: Container host name.
    type: str
  init:
    description: Run an init process (docker-init) as PID 1.
    type: bool
  stop_signal:
    description: Signal that stops the container.
    type: str
  stop_timeout:
    description: Seconds to wait after the stop signal before killing; also used when this module stops it.
    type: int
  memory:
    description: Memory limit like C(512m) or C(1g); changes in place.
    type: str
  memory_reservation:
    description: Soft memory limit; changes in place.
    type: str
  cpus:
    description: Number of CPUs, like C(1.5); changes in place.
    type: float
  cpu_shares:
    description: Relative CPU weight; changes in place.
    type: int
  pids_limit:
    description: Maximum number of processes; changes in place.
    type: int
  ulimits:
    description: Limits as C(name=soft[:hard]), for example C(nofile=1024:2048).
    type: list
    elements: str
  cap_add:
    description: Capabilities to add, with or without the C(CAP_) prefix.
    type: list
    elements: str
  cap_drop:
    description: Capabilities to drop.
    type: list
    elements: str
  privileged:
    description:
      - Give the container every capability and device. Fails with a clear message on hosts whose capability
        bounding set is incomplete (hosts that are themselves containers); use O(cap_add) there.
    type: bool
  read_only:
    description: Mount the root filesystem read-only.
    type: bool
  security_opt:
    description: Security options, like C(no-new-privileges) or C(seccomp=unconfined).
    type: list
    elements: str
  devices:
    description: Host devices as C(/dev/host[:/dev/container[:rwm]]).
    type: list
    elements: str
  sysctls:
    description: Namespaced kernel parameters.
    type: dict
  dns:
    description: DNS servers.
    type: list
    elements: str
  extra_hosts:
    description: Extra C(/etc/hosts) entries, as a mapping of host to IP or a list of C(host:ip).
    type: raw
  log_driver:
    description: Logging driver.
    type: str
  log_options:
    description: Logging driver options.
    type: dict
  cgroupns_mode:
    description: Cgroup namespace mode.
    type: str
    choices: [host, private]
  output_logs:
    description: Return the container's recent output in RV(logs).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers
"""

EXAMPLES = r"""
- name: Run a web server, reachable on the host's loopback only
  berth.engine.container:
    name: web
    image: registry.example.com/web:1.4
    ports:
      - 127.0.0.1:8080:80
    env:
      LOG_LEVEL: info
    restart_policy: unless-stopped
    memory: 256m

- name: Deploy a new version and wait until it is healthy (rolls back if not)
  berth.engine.container:
    name: web
    image: registry.example.com/web:1.5
    state: healthy
    healthy_timeout: 90

- name: Attach to a user network with a fixed address and an alias
  berth.engine.container:
    name: db
    image: registry.example.com/postgres:16
    networks:
      - name: backend
        ipv4_address: 172.30.0.10
        aliases: [database]
    volumes:
      - pgdata:/var/lib/postgresql/data

- name: Remove it
  berth.engine.container:
    name: web
    state: absent
"""

RETURN = r"""
container:
  description: The container's inspect document after the task (before it, in check mode); absent when removed.
  returned: success
  type: dict
actions:
  description: What was done (or, in check mode, would be done), in order, like C(create), C(start), C(update), C(recreate).
  returned: always
  type: list
  elements: str
  sample: [pull, recreate]
logs:
  description: The container's recent output, with O(output_logs=true) or when a start failed.
  returned: when requested or on failure
  type: list
  elements: str
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_engine import converge_container  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.container_plan import ARGUMENT_SPEC  # noqa: E402


def main():
    module = engine_module(ARGUMENT_SPEC)

    def converge(client):
        plan, container, converger = converge_container(client, module.params, module.check_mode)
        result = plan_result(module, plan, "container", container)
        if module.params["output_logs"] and container and not module.check_mode:
            result["logs"] = client.logs(container["Id"]).splitlines()
        return result

    run(module, converge)


if __name__ == "__main__":
    main()
