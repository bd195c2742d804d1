# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of one container: the container module's, and those of the stack module's containers entries.

One text for both (a stack entry takes the container module's options plus depends_on, the same
argument spec: plugins/module_utils/stack.py CONTAINER_ENTRY_SPEC). STACK_ENTRY is generated from
DOCUMENTATION by tests/support/doc_fragments_gen.py: the options move under containers.suboptions,
every O(option) reference becomes O(containers[].option) (the path validate-modules and ansible-doc
resolve in the stack module), RV(...) references point at the container module, and long lines are
wrapped. ansible-test reads a fragment only as a plain string, so the generated text is written out
here: `python -m tests.support.doc_fragments_gen --write` rewrites it, and tests/unit/test_doc_sources.py
fails when it drifts.
"""

from __future__ import annotations


class ModuleDocFragment:
    """DOCUMENTATION: the container module's options. STACK_ENTRY: the same as the stack's containers entries."""

    DOCUMENTATION = r"""
options:
  name:
    description: Container name.
    type: str
    required: true
  image:
    description:
      - Image reference, for example C(registry.example.com/app:1.4). Without a tag C(:latest) is meant.
      - Needed only when the container may have to be created; without it an existing container keeps
        the image it runs (also across a recreate), and a missing one fails saying the image is needed.
    type: str
  state:
    description:
      - C(present) the container exists (created, its running state untouched; a recreate keeps it running if it was).
      - C(started) it exists and runs. C(stopped) it exists and does not run. C(absent) it does not exist.
      - C(restarted) like C(started), and restarted if this run did not already (re)start it.
      - C(healthy) like C(started), then wait until its health check passes (O(healthy_timeout)).
      - C(completed) a one-shot job (a migration, an init step) run to its exit; the task fails with the output when
        it exits non-zero. One that already exited 0 with the same settings is not run again.
    type: str
    default: started
    choices: [present, started, stopped, absent, restarted, healthy, completed]
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
    description:
      - User name for the registry of O(image), for pulls.
      - When not given, the login stored for that registry by M(berth.engine.login) is used, if there is one.
    type: str
  registry_password:
    description: Password or token for O(registry_username).
    type: str
  command:
    description:
      - Command (arguments to the entrypoint), as a list or a string split like a shell would.
      - An empty list means the image's own command, as the engine fills it in.
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
      - A host range to one container port, like C(127.0.0.1:8000-8010:80), lets the engine bind one free port
        of the range; any port bound inside the range counts as matching.
      - Without a host port the engine picks one. IPv6 addresses go in brackets, C([::1]:8080:80).
    type: list
    elements: str
  mounts:
    description:
      - Mounts, each a bind mount, a named or anonymous volume, or a tmpfs.
      - With O(mounts) or O(volumes) set, the container mounts exactly these (plus the image's own VOLUME paths).
        An anonymous volume removed from the task is unmounted by a recreate; the volume itself is kept.
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
      create_host_path:
        description:
          - For a bind mount, create a missing source directory on the host instead of failing (like the short
            syntax of O(volumes) and C(docker run -v); C(docker --mount) refuses a missing source).
          - The berth.engine.stack module checks and creates bind sources before it changes anything, and only
            when the engine runs on the managed host (a unix socket).
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
      - An empty list means no user networks; the container stays on the network it was created on
        (the default bridge).
    type: list
    elements: dict
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      aliases:
        description: DNS aliases on this network (strings; a YAML boolean or decimal number is refused).
        type: list
        elements: raw
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
    description: Seconds to wait for O(state=healthy), or for a O(state=completed) container to exit.
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
    description:
      - Logging driver options. Only the keys given are compared, against the effective values (the engine
        adds the daemon's C(log-opts) to the container's).
    type: dict
  cgroupns_mode:
    description: Cgroup namespace mode.
    type: str
    choices: [host, private]
  output_logs:
    description:
      - Return the container's recent output in RV(logs).
      - M(berth.engine.stack) returns no output; there it has no effect.
    type: bool
    default: false
  env_file:
    description:
      - A file on the managed host with C(KEY=VALUE) lines (blank lines and C(#) comments skipped), merged under
        O(env) (a variable in both takes the O(env) value). Compared as part of O(env).
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
    description:
      - Memory plus swap, like C(1g), or C(-1) for unlimited swap; needs O(memory). Changes in place.
      - Without it a change of O(memory) sets it to twice the memory, as the engine does at create.
    type: str
  memory_swappiness:
    description:
      - Swappiness of the container's memory, 0 to 100.
      - cgroup v1 hosts only; on cgroup v2 the engine discards it, so there it is not compared (with a warning).
    type: int
  cpuset_cpus:
    description: CPUs the container may use, like C(0-2,4); changes in place.
    type: str
  cpuset_mems:
    description: Memory nodes the container may use, like C(0,1); changes in place.
    type: str
  cpu_period:
    description: CFS period in microseconds, 1000 to 1000000 (0 for the default); changes in place. Not with O(cpus).
    type: int
  cpu_quota:
    description: CFS quota in microseconds per O(cpu_period), at least 1000 (0 or -1 for none); changes in place.
    type: int
  blkio_weight:
    description:
      - Relative block IO weight, 10 to 1000 (0 for the default); changes in place.
      - Needs an engine that can apply it, on cgroup v2 with C(io.weight) or on cgroup v1 with a Linux older than
        5.0 (C(blkio.weight)). Elsewhere the engine discards it, so there it is not compared (with a warning).
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
    description:
      - Ports to expose without publishing them, as C(port[-port][/tcp|udp|sctp]). The image's exposed ports and
        the published O(ports) are exposed too and never count as a difference.
    type: list
    elements: str
  volumes_from:
    description: Containers whose volumes to mount, as C(NAME[:ro|rw]).
    type: list
    elements: str
  auto_remove:
    description:
      - The engine removes the container when it stops. Not with O(restart_policy). Such a container cannot be
        stopped aside for a safe recreate, so a recreate that fails cannot roll back.
    type: bool
  runtime:
    description: OCI runtime, like C(runc) or a runtime configured in the daemon (C(berth_daemon_config.runtimes)).
    type: str
  platform:
    description:
      - Platform of the image to create the container from, like C(linux/amd64) (the create call's C(platform)).
      - The engine keeps only the OS; the architecture is the image's, so a different image is a recreate anyway.
    type: str
  gpus:
    description:
      - GPUs as C(docker run --gpus) takes them, C(all), a count like C(2), or fields like C(device=0,1) or
        C(count=2,capabilities=compute,utility) (C(driver=nvidia) optional).
      - Needs the NVIDIA container runtime on the host, configured through the runtime role's
        C(berth_daemon_config.runtimes); without it the container is created, but fails to start.
      - The long form is O(device_requests); only one of the two may be set.
    type: str
  device_requests:
    description:
      - Device requests to device drivers (GPUs), the long form of O(gpus); see O(gpus) for what the host needs.
    type: list
    elements: dict
    suboptions:
      driver:
        description: Device driver, like C(nvidia); empty picks the one that offers the capabilities.
        type: str
      count:
        description: Number of devices, -1 for all. Not with O(device_requests[].device_ids).
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
    suboptions: &throttle
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
    suboptions: *throttle
  device_read_iops:
    description: Read limits per block device in IO operations per second (a whole number).
    type: list
    elements: dict
    suboptions: *throttle
  device_write_iops:
    description: Write limits per block device in IO operations per second (a whole number).
    type: list
    elements: dict
    suboptions: *throttle
  cgroup_parent:
    description: Parent cgroup of the container.
    type: str
  storage_opt:
    description: Storage driver options, like C(size=10G) (overlay2 on xfs with pquota only).
    type: dict
  comparisons:
    description:
      - For containers that other tools change too, how each option is compared. Keys are option names
        (O(volumes) counts as O(mounts), O(env_file) as O(env)), O(networks), or C(*) for all of them.
      - C(strict) (the default) the container must match what the task sets. C(ignore) the option is never
        compared (it is still used when the container is created).
      - C(allow_more_present), for lists and mappings (O(env), O(labels), O(ports), O(mounts), O(networks),
        O(cap_add), O(dns), O(extra_hosts) ...), entries in the container that the task does not list are not
        a difference; with C(*) the other options stay C(strict).
      - Options that are not set are never compared, whatever this says.
    type: dict
"""

    STACK_ENTRY = r"""
options:
  containers:
    suboptions:
      name:
        description: Container name.
        type: str
        required: true
      image:
        description:
          - Image reference, for example C(registry.example.com/app:1.4). Without a tag C(:latest) is meant.
          - Needed only when the container may have to be created; without it an existing container keeps
            the image it runs (also across a recreate), and a missing one fails saying the image is needed.
        type: str
      state:
        description:
          - C(present) the container exists (created, its running state untouched; a recreate keeps it running if it
            was).
          - C(started) it exists and runs. C(stopped) it exists and does not run. C(absent) it does not exist.
          - C(restarted) like C(started), and restarted if this run did not already (re)start it.
          - C(healthy) like C(started), then wait until its health check passes (O(containers[].healthy_timeout)).
          - C(completed) a one-shot job (a migration, an init step) run to its exit; the task fails with the output
            when
            it exits non-zero. One that already exited 0 with the same settings is not run again.
        type: str
        default: started
        choices: [present, started, stopped, absent, restarted, healthy, completed]
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
        description:
          - User name for the registry of O(containers[].image), for pulls.
          - When not given, the login stored for that registry by M(berth.engine.login) is used, if there is one.
        type: str
      registry_password:
        description: Password or token for O(containers[].registry_username).
        type: str
      command:
        description:
          - Command (arguments to the entrypoint), as a list or a string split like a shell would.
          - An empty list means the image's own command, as the engine fills it in.
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
          - A host range to one container port, like C(127.0.0.1:8000-8010:80), lets the engine bind one free port
            of the range; any port bound inside the range counts as matching.
          - Without a host port the engine picks one. IPv6 addresses go in brackets, C([::1]:8080:80).
        type: list
        elements: str
      mounts:
        description:
          - Mounts, each a bind mount, a named or anonymous volume, or a tmpfs.
          - With O(containers[].mounts) or O(containers[].volumes) set, the container mounts exactly these (plus the
            image's own VOLUME paths).
            An anonymous volume removed from the task is unmounted by a recreate; the volume itself is kept.
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
          create_host_path:
            description:
              - For a bind mount, create a missing source directory on the host instead of failing (like the short
                syntax of O(containers[].volumes) and C(docker run -v); C(docker --mount) refuses a missing source).
              - The berth.engine.stack module checks and creates bind sources before it changes anything, and only
                when the engine runs on the managed host (a unix socket).
            type: bool
            default: false
      volumes:
        description:
          - Short form of O(containers[].mounts), C([source:]target[:ro|rw]). A source starting with C(/) is a bind
            mount,
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
          - An empty list means no user networks; the container stays on the network it was created on
            (the default bridge).
        type: list
        elements: dict
        suboptions:
          name:
            description: Network name.
            type: str
            required: true
          aliases:
            description: DNS aliases on this network (strings; a YAML boolean or decimal number is refused).
            type: list
            elements: raw
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
        description:
          - Give the container every capability and device. Fails with a clear message on hosts whose capability
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
        description:
          - Logging driver options. Only the keys given are compared, against the effective values (the engine
            adds the daemon's C(log-opts) to the container's).
        type: dict
      cgroupns_mode:
        description: Cgroup namespace mode.
        type: str
        choices: [host, private]
      output_logs:
        description:
          - Return the container's recent output in RV(berth.engine.container#module:logs).
          - M(berth.engine.stack) returns no output; there it has no effect.
        type: bool
        default: false
      env_file:
        description:
          - A file on the managed host with C(KEY=VALUE) lines (blank lines and C(#) comments skipped), merged under
            O(containers[].env) (a variable in both takes the O(containers[].env) value). Compared as part of
            O(containers[].env).
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
        description:
          - Memory plus swap, like C(1g), or C(-1) for unlimited swap; needs O(containers[].memory). Changes in place.
          - Without it a change of O(containers[].memory) sets it to twice the memory, as the engine does at create.
        type: str
      memory_swappiness:
        description:
          - Swappiness of the container's memory, 0 to 100.
          - cgroup v1 hosts only; on cgroup v2 the engine discards it, so there it is not compared (with a warning).
        type: int
      cpuset_cpus:
        description: CPUs the container may use, like C(0-2,4); changes in place.
        type: str
      cpuset_mems:
        description: Memory nodes the container may use, like C(0,1); changes in place.
        type: str
      cpu_period:
        description: CFS period in microseconds, 1000 to 1000000 (0 for the default); changes in place. Not with
          O(containers[].cpus).
        type: int
      cpu_quota:
        description: CFS quota in microseconds per O(containers[].cpu_period), at least 1000 (0 or -1 for none);
          changes in place.
        type: int
      blkio_weight:
        description:
          - Relative block IO weight, 10 to 1000 (0 for the default); changes in place.
          - Needs an engine that can apply it, on cgroup v2 with C(io.weight) or on cgroup v1 with a Linux older than
            5.0 (C(blkio.weight)). Elsewhere the engine discards it, so there it is not compared (with a warning).
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
        description: MAC address of the container on its first network, like C(02:42:ac:11:00:02); compared
          lower-case.
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
        description:
          - Ports to expose without publishing them, as C(port[-port][/tcp|udp|sctp]). The image's exposed ports and
            the published O(containers[].ports) are exposed too and never count as a difference.
        type: list
        elements: str
      volumes_from:
        description: Containers whose volumes to mount, as C(NAME[:ro|rw]).
        type: list
        elements: str
      auto_remove:
        description:
          - The engine removes the container when it stops. Not with O(containers[].restart_policy). Such a container
            cannot be
            stopped aside for a safe recreate, so a recreate that fails cannot roll back.
        type: bool
      runtime:
        description: OCI runtime, like C(runc) or a runtime configured in the daemon
          (C(berth_daemon_config.runtimes)).
        type: str
      platform:
        description:
          - Platform of the image to create the container from, like C(linux/amd64) (the create call's C(platform)).
          - The engine keeps only the OS; the architecture is the image's, so a different image is a recreate anyway.
        type: str
      gpus:
        description:
          - GPUs as C(docker run --gpus) takes them, C(all), a count like C(2), or fields like C(device=0,1) or
            C(count=2,capabilities=compute,utility) (C(driver=nvidia) optional).
          - Needs the NVIDIA container runtime on the host, configured through the runtime role's
            C(berth_daemon_config.runtimes); without it the container is created, but fails to start.
          - The long form is O(containers[].device_requests); only one of the two may be set.
        type: str
      device_requests:
        description:
          - Device requests to device drivers (GPUs), the long form of O(containers[].gpus); see O(containers[].gpus)
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
        suboptions: &throttle
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
        suboptions: *throttle
      device_read_iops:
        description: Read limits per block device in IO operations per second (a whole number).
        type: list
        elements: dict
        suboptions: *throttle
      device_write_iops:
        description: Write limits per block device in IO operations per second (a whole number).
        type: list
        elements: dict
        suboptions: *throttle
      cgroup_parent:
        description: Parent cgroup of the container.
        type: str
      storage_opt:
        description: Storage driver options, like C(size=10G) (overlay2 on xfs with pquota only).
        type: dict
      comparisons:
        description:
          - For containers that other tools change too, how each option is compared. Keys are option names
            (O(containers[].volumes) counts as O(containers[].mounts), O(containers[].env_file) as
            O(containers[].env)), O(containers[].networks), or C(*) for all of them.
          - C(strict) (the default) the container must match what the task sets. C(ignore) the option is never
            compared (it is still used when the container is created).
          - C(allow_more_present), for lists and mappings (O(containers[].env), O(containers[].labels),
            O(containers[].ports), O(containers[].mounts), O(containers[].networks),
            O(containers[].cap_add), O(containers[].dns), O(containers[].extra_hosts) ...), entries in the container
            that the task does not list are not
            a difference; with C(*) the other options stay C(strict).
          - Options that are not set are never compared, whatever this says.
        type: dict
      depends_on:
        description: Names of containers of this stack that must converge first.
        type: list
        elements: str
        default: []
"""
