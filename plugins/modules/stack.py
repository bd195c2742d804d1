#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack
short_description: Converge a named set of images, networks, volumes and containers, or a Compose file, in one task
version_added: 0.1.0
description:
  - Declares a whole workload on one host and converges it in a single task, which is much faster than
    looping over M(berth.engine.container) because Ansible starts one module process instead of one per item.
  - Each entry takes the same options as the single-resource module (M(berth.engine.network),
    M(berth.engine.volume), M(berth.engine.container)) and is compared by the same rules, including the
    container module's safe recreate with rollback.
  - Actual state is read with one container list plus one inspect per container; every item is planned,
    then applied by a bounded pool of O(parallel) workers, networks and volumes before containers, and
    containers in the order their C(depends_on) gives.
  - Everything the stack creates is labelled C(io.berth.stack=<name>). With O(prune=true), labelled containers
    and networks that are no longer declared are removed, and volumes too with O(prune_volumes=true).
  - One item's failure is reported by name and does not hide the others' results; containers that depend on a
    failed one are not converged. The task fails if any item failed.
  - A Compose file (O(compose) or O(compose_files)) is translated into the same entries, named and labelled as
    C(docker compose) names and labels them (C(<project>-<service>-<n>), C(<project>_default),
    C(com.docker.compose.*)), so C(docker compose ps) sees the project; no docker CLI is needed on the host. A
    Compose key Berth does not implement fails before anything changes, naming the key and the service.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  name:
    description:
      - Stack name, stored in the C(io.berth.stack) label of everything it owns.
      - With a Compose file it is the Compose project name, and defaults to the file's C(name) or the project
        directory's name, as Compose does. Required without a Compose file.
    type: str
  images:
    description:
      - Images to build, load or pull before the containers; each entry takes the options of
        M(berth.engine.image).
    type: list
    elements: dict
    default: []
  compose:
    description:
      - A parsed Compose document, or a list of them merged in order like C(docker compose -f a -f b), for example
        C("{{ lookup('file', 'compose.yaml') | from_yaml }}").
      - Interpolation (C(${VAR}), C(${VAR:-default}), C(${VAR-default}), C(${VAR:?error}), C($$)) takes its variables
        from O(compose_env) and a C(.env) file in O(project_directory).
    type: raw
  compose_files:
    description:
      - Compose files on the controller, read by the action plugin and merged in order. Their paths are recorded
        in the C(com.docker.compose.project.config_files) label.
    type: list
    elements: path
  project_directory:
    description:
      - Base of the Compose file's relative paths (build contexts, C(env_file), C(.env), bind mounts, secret and
        config files), on the managed host.
      - Defaults to the directory of the first of O(compose_files), or the module's working directory.
    type: path
  profiles:
    description: Compose profiles to enable; services with other profiles are left out.
    type: list
    elements: str
  compose_env:
    description: Variables for the Compose file's interpolation (they take precedence over the C(.env) file).
    type: dict
  networks:
    description: Networks; each entry takes the options of M(berth.engine.network).
    type: list
    elements: dict
    default: []
  volumes:
    description: Volumes; each entry takes the options of M(berth.engine.volume).
    type: list
    elements: dict
    default: []
  containers:
    description:
      - Containers; each entry takes the options of M(berth.engine.container), plus C(depends_on),
        a list of container names of this stack that must converge first.
      - Secrets (C(registry_password)) are masked in the output, the diff and the result, at every level.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Container name.
        type: str
        required: true
      image:
        description: Image reference, for example C(registry.example.com/app:1.4). Without a tag C(:latest) is meant.
        type: str
      state:
        description: C(present) the container exists (created, its running state untouched; a recreate keeps it running
          if it was).
        type: str
        default: started
        choices:
        - present
        - started
        - stopped
        - absent
        - restarted
        - healthy
        - completed
      pull:
        description: C(missing) pulls the image only when the host does not have it.
        type: str
        default: missing
        choices:
        - missing
        - always
        - never
      recreate:
        description: C(auto) recreates when the image or an option that cannot change in place differs.
        type: str
        default: auto
        choices:
        - auto
        - always
        - never
      registry_username:
        description:
          - User name for the registry of O(containers[].image), for pulls.
          - When not given, the login stored for that registry by M(berth.engine.login) is used, if there is one.
        type: str
      registry_password:
        description: Password or token for O(containers[].registry_username).
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
        description: Published ports as C([ip:][host_port:]container_port[/tcp|udp|sctp]). Ranges like C(8000-8001:80-81).
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
            choices:
            - bind
            - volume
            - tmpfs
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
        description: Short form of O(containers[].mounts), C([source:]target[:ro|rw]). A source starting with C(/) is
          a bind mount, anything else a named volume.
        type: list
        elements: str
      tmpfs:
        description: tmpfs mounts as C(/path[:options]), for example C(/run:size=64m).
        type: list
        elements: str
      networks:
        description: Networks to attach, in order. When set, the container is attached to exactly these networks; membership,
          aliases and static addresses are fixed in place without a recreate.
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
        choices:
        - 'no'
        - always
        - on-failure
        - unless-stopped
      restart_retries:
        description: Maximum restarts with O(containers[].restart_policy=on-failure).
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
        description: Seconds to wait for O(containers[].state=healthy), or for a O(containers[].state=completed)
          container to exit.
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
        description: Give the container every capability and device. Fails with a clear message on hosts whose capability
          bounding set is incomplete (hosts that are themselves containers); use O(containers[].cap_add) there.
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
        description: Logging driver options. Only the keys given are compared, against the effective values (the engine
          adds the daemon's C(log-opts) to the container's).
        type: dict
      cgroupns_mode:
        description: Cgroup namespace mode.
        type: str
        choices:
        - host
        - private
      output_logs:
        description: Not used by the stack (the container module returns the output).
        type: bool
        default: false
      env_file:
        description: A file on the managed host with C(KEY=VALUE) lines (blank lines and C(#) comments skipped), merged
          under O(containers[].env) (a variable in both takes the O(containers[].env) value). Compared as part of O(containers[].env).
        type: path
      shm_size:
        description: Size of C(/dev/shm), like C(256m); compared in bytes. Changing it recreates the container.
        type: str
      tty:
        description: Allocate a pseudo-TTY (C(docker run -t)).
        type: bool
      interactive:
        description: Keep stdin open (C(docker run -i)).
        type: bool
      pid_mode:
        description: PID namespace, C(host) or C(container:NAME).
        type: str
      ipc_mode:
        description: IPC namespace, C(none), C(private), C(shareable), C(host) or C(container:NAME).
        type: str
      userns_mode:
        description: User namespace, C(host) to opt out of the daemon's user namespace remapping.
        type: str
      uts:
        description: UTS namespace, C(host).
        type: str
      memory_swap:
        description: Memory plus swap, like C(1g), or C(-1) for unlimited swap; needs O(containers[].memory). Changes in
          place.
        type: str
      memory_swappiness:
        description: Swappiness of the container's memory, 0 to 100 (cgroup v1 hosts; cgroup v2 ignores it).
        type: int
      cpuset_cpus:
        description: CPUs the container may use, like C(0-2,4); changes in place.
        type: str
      cpuset_mems:
        description: Memory nodes the container may use, like C(0,1); changes in place.
        type: str
      cpu_period:
        description: CFS period in microseconds, 1000 to 1000000 (0 for the default); changes in place. Not with O(containers[].cpus).
        type: int
      cpu_quota:
        description: CFS quota in microseconds per O(containers[].cpu_period), at least 1000 (0 or -1 for none); changes
          in place.
        type: int
      blkio_weight:
        description: Relative block IO weight, 10 to 1000 (0 for the default); changes in place.
        type: int
      oom_score_adj:
        description: OOM score adjustment, -1000 to 1000.
        type: int
      oom_killer:
        description: C(false) keeps the kernel's OOM killer away from the container (the engine's C(OomKillDisable)).
        type: bool
      groups:
        description: Additional groups the container's process runs with.
        type: list
        elements: str
      domainname:
        description: Container NIS domain name.
        type: str
      mac_address:
        description: MAC address of the container on its first network, like C(02:42:ac:11:00:02); compared lower-case.
        type: str
      dns_search:
        description: DNS search domains.
        type: list
        elements: str
      dns_options:
        description: DNS resolver options, like C(ndots:2).
        type: list
        elements: str
      publish_all_ports:
        description: Publish every exposed port on a random host port.
        type: bool
      exposed_ports:
        description: Ports to expose without publishing them, as C(port[-port][/tcp|udp|sctp]). The image's exposed ports
          and the published O(containers[].ports) are exposed too and never count as a difference.
        type: list
        elements: str
      volumes_from:
        description: Containers whose volumes to mount, as C(NAME[:ro|rw]).
        type: list
        elements: str
      auto_remove:
        description: The engine removes the container when it stops. Not with O(containers[].restart_policy). Such a container
          cannot be stopped aside for a safe recreate, so a recreate that fails cannot roll back.
        type: bool
      runtime:
        description: OCI runtime, like C(runc) or a runtime configured in the daemon (C(berth_daemon_config.runtimes)).
        type: str
      platform:
        description: Platform of the image to create the container from, like C(linux/amd64) (the create call's C(platform)).
        type: str
      gpus:
        description: GPUs as C(docker run --gpus) takes them, C(all), a count like C(2), or fields like C(device=0,1) or
          C(count=2,capabilities=compute,utility) (C(driver=nvidia) optional).
        type: str
      device_requests:
        description: Device requests to device drivers (GPUs), the long form of O(containers[].gpus); see O(containers[].gpus)
          for what the host needs.
        type: list
        elements: dict
        suboptions:
          driver:
            description: Device driver, like C(nvidia); empty picks the one that offers the capabilities.
            type: str
          count:
            description: Number of devices, -1 for all. Not with O(containers[].device_requests[].device_ids).
            type: int
          device_ids:
            description: IDs (or UUIDs) of the devices.
            type: list
            elements: str
          capabilities:
            description: Capabilities the devices must have, all of them; C([gpu]) when not set.
            type: list
            elements: str
          options:
            description: Driver options.
            type: dict
      device_read_bps:
        description: Read rate limits per block device; the rate is bytes per second like C(10m).
        type: list
        elements: dict
        suboptions:
          path:
            description: Block device on the host, like C(/dev/sda).
            type: str
            required: true
          rate:
            description: The limit.
            type: str
            required: true
      device_write_bps:
        description: Write rate limits per block device; the rate is bytes per second like C(10m).
        type: list
        elements: dict
        suboptions:
          path:
            description: Block device on the host, like C(/dev/sda).
            type: str
            required: true
          rate:
            description: The limit.
            type: str
            required: true
      device_read_iops:
        description: Read limits per block device in IO operations per second (a whole number).
        type: list
        elements: dict
        suboptions:
          path:
            description: Block device on the host, like C(/dev/sda).
            type: str
            required: true
          rate:
            description: The limit.
            type: str
            required: true
      device_write_iops:
        description: Write limits per block device in IO operations per second (a whole number).
        type: list
        elements: dict
        suboptions:
          path:
            description: Block device on the host, like C(/dev/sda).
            type: str
            required: true
          rate:
            description: The limit.
            type: str
            required: true
      cgroup_parent:
        description: Parent cgroup of the container.
        type: str
      storage_opt:
        description: Storage driver options, like C(size=10G) (overlay2 on xfs with pquota only).
        type: dict
      comparisons:
        description: For containers that other tools change too, how each option is compared. Keys are option names (O(containers[].volumes)
          counts as O(containers[].mounts), O(containers[].env_file) as O(containers[].env)), O(containers[].networks),
          or C(*) for all of them.
        type: dict
      depends_on:
        description: Names of containers of this stack that must converge first.
        type: list
        elements: str
        default: []
  lock_timeout:
    description:
      - Two converges of the same stack on one host never overlap; the second waits for the first's lock
        (C(/run/berth/stack-<name>.lock)) up to this many seconds, then fails saying so. Check mode does not wait.
    type: int
    default: 600
  parallel:
    description: How many items are applied at once.
    type: int
    default: 4
  prune:
    description: Remove containers and networks labelled as this stack's that are no longer declared.
    type: bool
    default: false
  prune_volumes:
    description: With O(prune=true), remove undeclared volumes of this stack too (their data goes with them).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Deploy a Compose project as docker compose would, without the docker CLI
  berth.engine.stack:
    compose_files: [files/shop/compose.yaml]
    project_directory: /srv/shop
    compose_env:
      TAG: "2.3"
    prune: true

- name: Deploy the shop
  berth.engine.stack:
    name: shop
    prune: true
    networks:
      - name: shop
        ipam:
          config:
            - subnet: 172.28.0.0/24
    volumes:
      - name: shop-db
    containers:
      - name: shop-db
        image: registry.example.com/postgres:16
        networks: [{name: shop, aliases: [db]}]
        volumes: ["shop-db:/var/lib/postgresql/data"]
      - name: shop-web
        image: registry.example.com/shop:2.3
        depends_on: [shop-db]
        state: healthy
        networks: [{name: shop}]
        ports: ["127.0.0.1:8080:8080"]
"""

RETURN = r"""
images:
  description: Per image, as for RV(containers).
  returned: always
  type: dict
containers:
  description: Per container, C(changed), C(actions) and, when it failed, C(failed) and C(msg).
  returned: always
  type: dict
  sample: {shop-web: {changed: true, actions: [recreate]}}
networks:
  description: Per network, as for RV(containers).
  returned: always
  type: dict
volumes:
  description: Per volume, as for RV(containers).
  returned: always
  type: dict
failures:
  description: One line per failed item, naming it.
  returned: always
  type: list
  elements: str
summary:
  description: Per kind, how many were declared and which changed.
  returned: always
  type: dict
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.stack import (  # noqa: E402
    CONTAINER_ENTRY_SPEC,
    ItemError,
    Stack,
    describe_failures,
)

ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    images=dict(type="list", elements="dict", default=[]),
    compose=dict(type="raw"),
    compose_files=dict(type="list", elements="path"),
    project_directory=dict(type="path"),
    profiles=dict(type="list", elements="str"),
    compose_env=dict(type="dict"),
    networks=dict(type="list", elements="dict", default=[]),
    volumes=dict(type="list", elements="dict", default=[]),
    # Declared with options so that ansible-core validates them and masks their no_log values everywhere.
    containers=dict(type="list", elements="dict", default=[], options=CONTAINER_ENTRY_SPEC),
    lock_timeout=dict(type="int", default=600),
    parallel=dict(type="int", default=4),
    prune=dict(type="bool", default=False),
    prune_volumes=dict(type="bool", default=False),
)


def main():
    module = engine_module(ARGUMENT_SPEC)

    def converge(client):
        try:
            stack = Stack(client, module.params, module.check_mode)
            result = stack.converge()
        except ItemError as err:
            raise ValueError(str(err)) from None
        for warning in stack.warnings:
            module.warn(warning)
        if module._diff:
            result["diff"] = stack.diffs
        if result["failures"]:
            module.fail_json(msg=describe_failures(stack.name, result["failures"]), **result)
        return result

    run(module, converge)


if __name__ == "__main__":
    main()
