#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service
short_description: Manage a Docker swarm service and wait until it has converged
version_added: 0.2.0
description:
  - Creates, updates and removes one swarm service, through a manager's Engine API.
  - Only the options you give are compared and written. An update starts from the service's current spec, so
    settings you leave out (or that someone set with C(docker service update)) stay as they are. Maps
    (O(labels), O(container_labels), O(limits), O(reservations), O(restart_policy), O(update_config),
    O(rollback_config)) are compared by the keys you give; lists (O(env), O(mounts), O(ports), O(networks),
    O(secrets), O(configs), O(constraints)) as a whole.
  - Waits until every desired task of the new spec runs (and is healthy, when the image or O(healthcheck) has a
    health check). An update the engine pauses, or rolls back (O(update_config.failure_action=rollback)), fails
    the task with the tasks' errors; after a rollback the previous spec is running.
  - Before changing anything, checks that the nodes' kernels have what the spec needs (O(kernel_check)). Ports in
    C(ingress) publish mode (the routing mesh) and O(endpoint_mode=vip) need IP_VS; encrypted overlay networks need
    ESP. Without them the engine accepts the spec, reports the tasks running and serves nothing.
  - Check mode reports exactly the actions a real run would take; diff mode shows the settings that differ.
extends_documentation_fragment:
  - berth.engine.engine
  # user, hosts, cap_add, oom_score_adj ...: written once, in the container option table
  - berth.engine.container_options.service
options:
  name:
    description: Service name.
    type: str
    required: true
  state:
    description: C(present) the service exists as declared. C(absent) it does not exist.
    type: str
    default: present
    choices: [present, absent]
  image:
    description:
      - Image reference. Required to create the service.
      - Pinned to its registry digest when O(resolve_image=true) and the image comes from a registry, so a moved tag
        updates the service. An image built or loaded locally (no registry digest; under the containerd image store, one
        the registry does not hold by its digest) keeps its tag; every node needs it.
    type: str
  resolve_image:
    description: Ask the registry for the digest of O(image) (see there).
    type: bool
    default: true
  with_registry_auth:
    description:
      - Send the registry login that M(berth.engine.login) stored on this host for the registry of O(image) with the
        create or update (C(X-Registry-Auth), as C(docker service create --with-registry-auth) does), so every node
        can pull a private image without a login of its own. The digest of O(resolve_image) is read with it too.
      - The credentials never appear in the result, the diff or the logs. An update without them keeps the ones
        the service was given before. No stored login for that registry is a warning, not a failure.
    type: bool
    default: false
  mode:
    description:
      - C(replicated) runs O(replicas) tasks; C(global) one task on every eligible node. A new service is replicated.
      - C(replicated-job) runs O(replicas) tasks to completion (O(max_concurrent) at a time); C(global-job) one task to
        completion on every eligible node. With O(wait), the task ends when the job's tasks have completed, and fails
        naming the failed task and its node once a task failed more often than O(restart_policy.max_attempts) allows
        (the engine would start it again and again). Any update of a job runs it again.
      - A change of mode is a recreate (the engine refuses it in place), which check mode and diff report as such. The
        new service is created from the old one's spec, so published ports, secrets, configs, networks and every
        setting you leave out are kept. Should the create fail, the previous service is created again.
    type: str
    choices: [replicated, global, replicated-job, global-job]
  replicas:
    description: Number of tasks of a replicated service, or of completions of a replicated job. A new service gets 1.
    type: int
  max_concurrent:
    description: Tasks of a C(replicated-job) that run at once. Default O(replicas), as C(docker service create).
    type: int
  command:
    description:
      - Overrides the image's entrypoint (C(ContainerSpec.Command)), as a list of words or a string split as a shell would.
      - A YAML boolean or a decimal number (C(true), C(1.10)) is refused; quote it.
    type: raw
  args:
    description: Arguments to the command, overriding the image's CMD; like O(command).
    type: raw
  env:
    description:
      - Environment variables; compared as a whole (a variable you remove is a difference).
      - A YAML boolean or a decimal number as a value (C(A=true), C(V=1.10)) is refused; quote it. Integers are kept.
    type: dict
  env_files:
    description:
      - Files of C(KEY=VALUE) lines on the managed host, read in order; O(env) wins over them.
      - Their variables are written into the service (as C(docker service create --env-file) does).
    type: list
    elements: path
  labels:
    description: Labels of the service; only the keys given are compared.
    type: dict
  container_labels:
    description: Labels of the task containers; only the keys given are compared.
    type: dict
  mounts:
    description: Volumes, bind mounts and tmpfs mounts of the tasks, compared as a whole.
    type: list
    elements: dict
    suboptions:
      type:
        description: Mount type.
        type: str
        default: volume
        choices: [volume, bind, tmpfs]
      source:
        description: Volume name or host path (required for C(bind)).
        type: str
      target:
        description: Path in the container.
        type: str
        required: true
      read_only:
        description: Mount read-only.
        type: bool
        default: false
      propagation:
        description: Bind propagation of a C(bind) mount.
        type: str
        choices: [private, rprivate, shared, rshared, slave, rslave]
      no_copy:
        description: Do not copy the image's content at the target into a new C(volume).
        type: bool
        default: false
      labels:
        description: Labels of a C(volume) the engine creates for the task.
        type: dict
      driver_config:
        description: Volume driver (and its options) of a C(volume) the engine creates for the task.
        type: dict
        suboptions:
          name:
            description: Driver name, e.g. C(local).
            type: str
            required: true
          options:
            description: Driver options, such as C(type), C(o) and C(device) of the C(local) driver.
            type: dict
      tmpfs_size:
        description: Size of a C(tmpfs) mount, e.g. C(64m).
        type: raw
      tmpfs_mode:
        description: File mode of a C(tmpfs) mount, an octal string such as C('1777') or a number.
        type: raw
  networks:
    description: Swarm-scoped (overlay) networks to attach, by name, with aliases. Compared as a whole.
    type: list
    elements: dict
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      aliases:
        description: DNS aliases of the service on this network (strings; a YAML boolean or decimal number is refused).
        type: list
        elements: raw
      options:
        description: Driver options of the task's attachment to this network.
        type: dict
  secrets:
    description:
      - Secrets by logical name (as managed by M(berth.engine.secret)); the newest version is used, so rotating the
        secret's content updates this reference. A secret of exactly that name, not managed by Berth, works too.
    type: list
    elements: dict
    suboptions: &reference
      name:
        description: Logical name.
        type: str
        required: true
      target:
        description: File name under C(/run/secrets/) for secrets (default the logical name); an absolute path for configs (default C(/<name>)).
        type: str
      uid:
        description: Owner of the file in the container.
        type: str
      gid:
        description: Group of the file in the container.
        type: str
      mode:
        description: File mode, an octal string such as C('0440') or a number. Default C(0444).
        type: raw
  configs:
    description: Configs by logical name (as managed by M(berth.engine.config)); the newest version is used.
    type: list
    elements: dict
    suboptions: *reference
  limits:
    description: Resource limits of each task; only the keys given are compared.
    type: dict
    suboptions:
      cpus:
        description: CPUs, e.g. C(0.5).
        type: float
      memory:
        description: Memory, e.g. C(256m).
        type: str
  reservations:
    description: Resource reservations of each task (for scheduling); only the keys given are compared.
    type: dict
    suboptions:
      cpus:
        description: CPUs, e.g. C(0.25).
        type: float
      memory:
        description: Memory, e.g. C(128m).
        type: str
  constraints:
    description: Placement constraints such as C(node.role==worker) or C(node.labels.zone==a).
    type: list
    elements: str
  placement_preferences:
    description: Placement preferences, spread over a node label.
    type: list
    elements: dict
    suboptions:
      spread:
        description: Node attribute to spread over, e.g. C(node.labels.zone).
        type: str
        required: true
  healthcheck:
    description:
      - Health check of the tasks, overriding the image's; parsed as M(berth.engine.container) parses its own.
      - A O(healthcheck.test) of C([NONE]), or O(healthcheck.disable=true), removes the image's health check.
    type: dict
    suboptions:
      test:
        description: Command as a list (C([CMD, wget, -q, ...])), a shell string, or C([NONE]).
        type: raw
      interval:
        description: Time between checks, e.g. C(5s).
        type: raw
      timeout:
        description: Time one check may take.
        type: raw
      retries:
        description: Failures in a row that make the task unhealthy.
        type: int
      start_period:
        description: Grace period after start.
        type: raw
      disable:
        description: Disable the image's health check.
        type: bool
        default: false
  restart_policy:
    description: When swarm restarts a task; only the keys given are compared.
    type: dict
    suboptions:
      condition:
        description: Restart condition.
        type: str
        choices: [none, on-failure, any]
      delay:
        description: Delay between restarts, e.g. C(5s).
        type: raw
      max_attempts:
        description: Attempts before giving up (0 is unlimited).
        type: int
      window:
        description: Window used to evaluate the restart policy.
        type: raw
  endpoint_mode:
    description:
      - C(vip) gives the service a virtual IP (IPVS load balancing; the engine's default). C(dnsrr) resolves the
        service name to the tasks' addresses and needs no IPVS.
    type: str
    choices: [vip, dnsrr]
  ports:
    description: Published ports, compared as a whole.
    type: list
    elements: dict
    suboptions:
      target:
        description: Port in the container.
        type: int
        required: true
      published:
        description: Port on the nodes. With C(ingress) the engine picks one when not given.
        type: int
      protocol:
        description: Protocol.
        type: str
        default: tcp
        choices: [tcp, udp, sctp]
      publish_mode:
        description: C(ingress) publishes on every node through the routing mesh (needs IP_VS); C(host) only on the nodes running a task.
        type: str
        default: ingress
        choices: [ingress, host]
  logging:
    description: Log driver of the tasks; compared as a whole.
    type: dict
    suboptions:
      driver:
        description: Driver name, e.g. C(json-file), C(local) or C(none).
        type: str
        required: true
      options:
        description: Driver options, such as C(max-size) of C(json-file).
        type: dict
  max_replicas_per_node:
    description: At most this many tasks of the service on one node (0 is no limit).
    type: int
  force_update:
    description:
      - Replace the tasks even when nothing else changed (the engine's C(ForceUpdate) counter goes up), so the task
        always reports a change. For a job, runs it again.
    type: bool
    default: false
  update_config:
    description: How updates roll out; only the keys given are compared.
    type: dict
    suboptions: &update
      parallelism:
        description: Tasks updated at once (0 is all).
        type: int
      delay:
        description: Delay between batches, e.g. C(10s).
        type: raw
      failure_action:
        description: What the engine does when an updated task fails. C(rollback) goes back to the previous spec (and this task fails saying so).
        type: str
        choices: [continue, pause, rollback]
      monitor:
        description: How long a new task is watched for failure, e.g. C(5s).
        type: raw
      max_failure_ratio:
        description: Failure ratio tolerated during the update.
        type: float
      order:
        description: Stop the old task first, or start the new one first.
        type: str
        choices: [stop-first, start-first]
  rollback_config:
    description: How a rollback rolls out; like O(update_config), with failure_action C(continue) or C(pause).
    type: dict
    suboptions:
      parallelism:
        description: Tasks rolled back at once (0 is all).
        type: int
      delay:
        description: Delay between batches.
        type: raw
      failure_action:
        description: What the engine does when a rolled-back task fails.
        type: str
        choices: [continue, pause]
      monitor:
        description: How long a task is watched for failure.
        type: raw
      max_failure_ratio:
        description: Failure ratio tolerated during the rollback.
        type: float
      order:
        description: Stop the old task first, or start the new one first.
        type: str
        choices: [stop-first, start-first]
  wait:
    description: Wait until the service has converged (see the description). Without it the task returns once the engine accepted the spec.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for convergence before failing.
    type: int
    default: 300
  kernel_check:
    description:
      - C(auto) refuses, before any change, a spec that needs IP_VS (an C(ingress) port, O(endpoint_mode=vip) with
        ports or networks) or ESP (an encrypted overlay network) when the nodes lack it. The nodes' labels
        C(io.berth.kernel.ip_vs) and C(io.berth.kernel.esp) (set by the C(berth.engine.swarm) role) decide when every
        node has them; otherwise the kernel of the host the module runs on (C(/proc/net/ip_vs), C(/proc/modules),
        C(modules.builtin), the module tree and the kernel config).
      - C(skip) does not check, for when you know better.
    type: str
    default: auto
    choices: [auto, skip]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - On a kernel without IP_VS (no routing mesh, no VIPs) use O(endpoint_mode=dnsrr) with ports in O(ports[].publish_mode=host).
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A web service on kernels without IPVS (DNS round robin, ports on the task's node)
  berth.engine.service:
    name: web
    image: registry.example.com/web:1.5
    replicas: 3
    endpoint_mode: dnsrr
    ports:
      - {target: 8080, published: 8080, publish_mode: host}
    networks:
      - {name: shop, aliases: [www]}
    secrets:
      - {name: db_password, mode: "0400"}
    update_config:
      parallelism: 1
      failure_action: rollback
      monitor: 10s

- name: A database migration as a job; the task ends when it completed, or fails naming the task and node
  berth.engine.service:
    name: migrate
    image: registry.example.com/web:1.5
    mode: replicated-job
    replicas: 1
    args: [manage, migrate]
    env_files: [/etc/web/app.env]
    restart_policy: {condition: on-failure, max_attempts: 2}

- name: Container options, as the container module takes them
  berth.engine.service:
    name: worker
    image: registry.example.com/worker:2
    user: "1000:1000"
    read_only: true
    init: true
    cap_drop: [ALL]
    hosts: {db.internal: 10.0.0.5}
    stop_grace_period: 30s
    logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
    mounts:
      - {type: tmpfs, target: /tmp, tmpfs_size: 64m}

- name: Scale it; nothing else about the service changes
  berth.engine.service:
    name: web
    replicas: 5

- name: Remove it
  berth.engine.service:
    name: web
    state: absent
"""

RETURN = r"""
service:
  description: The service's inspect document after the task (before it, in check mode), with its C(Tasks); empty when removed.
  returned: success
  type: dict
tasks:
  description: The tasks the engine wants running (for a job, the tasks of its last run), with their state and error.
  returned: success
  type: list
  elements: dict
actions:
  description: What was done (in check mode, would be done), like C(create), C(update), C(remove).
  returned: always
  type: list
  elements: str
  sample: [update]
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import converge  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.service_plan import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.service_resource import (  # noqa: E402
    ServiceResource,
    task_summary,
)


def main():
    module = engine_module(ARGUMENT_SPEC)

    def run_service(client):
        resource = ServiceResource(client, module.params, module.check_mode)
        plan, _state, service = converge(resource)
        result = plan_result(module, plan, "service", service)
        result["tasks"] = task_summary((service or {}).get("Tasks") or [])
        return result

    run(module, run_service)


if __name__ == "__main__":
    main()
