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
    failed one are not converged. The task fails if any item failed, and by default (O(rollback=stack)) the
    host is then put back as it was before the run.
  - A Compose file (O(compose) or O(compose_files)) is translated into the same entries, named and labelled as
    C(docker compose) names and labels them (C(<project>-<service>-<n>), C(<project>_default),
    C(com.docker.compose.*)), so C(docker compose ps) sees the project; no docker CLI is needed on the host. A
    Compose key Berth does not implement fails before anything changes, naming the key and the service (and the
    supported key closest to a misspelt one). A variable used without a default and set nowhere is a blank string,
    with a warning naming it and the service, as Compose does.
  - With O(state=absent), the stack is taken down as C(docker compose down) does (C(docker compose down -v) with
    O(prune_volumes=true)); see O(state).
  - A pre-flight runs before the first change. After the O(images) entries, every container image is resolved
    (pulled when missing, or with C(pull=always), in parallel), and every image reference, bind source, published
    host port and new network subnet is checked; what cannot work fails the task with one message per item, and
    no network, volume or container has been created, removed or recreated. A host port must be free or
    published already by the container of the same name. A missing short-syntax bind source (O(containers[].volumes),
    Compose C(./data:/data)) is created as a directory (action C(create_bind_source)); a missing long-syntax one
    fails unless O(containers[].mounts[].create_host_path=true) (Compose C(bind.create_host_path)). A Compose
    source starting with C(~) is under the home of the user the module runs as; C(bind.propagation) and
    C(bind.selinux) are refused. Bind sources and the check that no host process listens on a port are made only
    when the engine is on the managed host (a C(unix://) socket), not for a C(tcp://) engine.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
  - berth.engine.container_options.stack_entry
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
        the C(file) lookup of C(compose.yaml) passed through the C(from_yaml) filter (see the EXAMPLES).
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
      - Containers; each entry takes the options of M(berth.engine.container) (the same text, below), plus
        O(containers[].depends_on), a list of container names of this stack that must converge first.
      - Secrets (O(containers[].registry_password)) are masked in the output, the diff and the result, at every
        level.
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(present) converges the declared items (and prunes with O(prune=true)).
      - V(absent) removes every container labelled as this stack's (including those an interrupted recreate left
        renamed aside), then its networks, like C(docker compose down); its volumes only with
        O(prune_volumes=true), like C(docker compose down -v). The declared entries are not needed; with a Compose
        file the stack name is the project name, taken as for V(present). Objects of the stack that the current
        entries no longer declare are removed too, since they are selected by the C(io.berth.stack) label.
    type: str
    choices: [present, absent]
    default: present
  lock_timeout:
    description:
      - Two converges of the same stack on one host never overlap; the second waits for the first's lock up to this
        many seconds, then fails saying which process and user hold it since when. Check mode does not wait.
      - The lock file is in C(/run/berth) when the user can write there, else in C($XDG_RUNTIME_DIR/berth), else
        in C(berth-<uid>) (mode 0700) under the temporary directory; its name is C(stack-<prefix>-<hash>.lock)
        from the stack name. Runs of the same stack by two users whose lock directories differ do not wait for
        each other.
    type: int
    default: 600
  parallel:
    description: How many items are applied at once.
    type: int
    default: 4
  rollback:
    description:
      - What a run does when an item fails (an image, network or volume that cannot be made; a container that fails
        to be created or started, exits within its first quarter second, or does not become healthy with
        O(containers[].state=healthy)).
      - V(stack) (all or nothing) stops converging further C(depends_on) waves, lets the items under way finish, and
        undoes everything the run changed, newest first. A recreated container's previous one, kept stopped under
        C(<name>_berth_old_<id12>) until the whole stack is confirmed, gets its name and ID back and is started if it
        was running; containers the run created are removed; limits updated in place are put back; containers it
        only started or stopped are stopped or started again; networks it created are removed, then volumes it
        created if they are still empty (checked through the volume's mountpoint, so only when the engine is local;
        otherwise the volume is kept and the result says so). Nothing is pruned. On success the kept old containers
        are removed (their anonymous volumes are kept). A crash in the middle is finished by the next run, which
        keeps the old containers it finds aside until its own confirmation, so it can still restore them.
      - What cannot be undone stays - data a container wrote into a volume that existed before, side effects of a
        container that ran, images pulled or built, a network or container removed or recreated in place by the
        run's declared O(containers[].state=absent) or a network change. A volume that existed before the run, or
        an external one, is never removed. A limit the engine does not unset in place (it reads 0 as "unchanged")
        is reported as not undone.
      - V(container) is the behaviour of earlier releases - each container's own recreate rolls back, and everything
        else keeps what it reached; containers that depend on a failed one are not converged.
      - V(none) leaves what was reached, like V(container) (a recreate still puts the previous container back when
        its replacement fails, as the container module does).
      - With V(container) and V(none), as with the container module, a container the run created whose first
        start fails is removed, so no C(Created) leftover remains; a container that started and then exited is
        left as it is, for its logs.
    type: str
    choices: [stack, container, none]
    default: stack
  prune:
    description: Remove containers and networks labelled as this stack's that are no longer declared.
    type: bool
    default: false
  prune_volumes:
    description:
      - With O(prune=true), remove undeclared volumes of this stack too (their data goes with them).
      - With O(state=absent), remove all volumes of this stack, and the anonymous volumes of its containers.
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
- name: Deploy a Compose document read on the controller
  berth.engine.stack:
    compose: "{{ lookup('file', 'compose.yaml') | from_yaml }}"
    project_directory: /srv/shop

- name: Deploy a Compose project as docker compose would, without the docker CLI
  berth.engine.stack:
    compose_files: [files/shop/compose.yaml]
    project_directory: /srv/shop
    compose_env:
      TAG: "2.3"
    prune: true

- name: Take the Compose project down, volumes included (docker compose down -v)
  berth.engine.stack:
    compose_files: [files/shop/compose.yaml]
    project_directory: /srv/shop
    state: absent
    prune_volumes: true

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
  description:
    - Per container, C(changed), C(actions) and, when it failed, C(failed) and C(msg).
    - When the container is (or in check mode would be) recreated, C(reasons) lists what made the plan recreate
      it (the options that differ, C(image), or C(recreate=always)), without needing C(--diff).
  returned: always
  type: dict
  sample: {shop-web: {changed: true, actions: [recreate], reasons: [image, env]}}
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
rolled_back:
  description:
    - What the rollback of a failed run did (O(rollback=stack)), per kind (C(containers), C(networks),
      C(volumes)), each with C(restored) (previous containers back under their name, with their short ID),
      C(removed), C(reverted) (limits or run state put back) and C(kept) (what stays, with why); C(failed) lists
      the undo steps that failed and what is left where; C(summary) is the one line the failure message ends with.
  returned: when a run with O(rollback=stack) failed
  type: dict
  sample:
    containers: {restored: [web (3f2a1b2c3d4e)], removed: [db], reverted: [], kept: []}
    networks: {restored: [], removed: [shop], reverted: [], kept: []}
    volumes: {restored: [], removed: [], reverted: [], kept: [shop-db (not empty)]}
    failed: []
    summary: "rolled back: restored web (3f2a1b2c3d4e); removed db, network shop; kept volume shop-db (not empty)"
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.stack import CONTAINER_ENTRY_SPEC, Stack  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.stack_base import run_stack  # noqa: E402

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
    state=dict(type="str", default="present", choices=["present", "absent"]),
    rollback=dict(type="str", choices=["stack", "container", "none"], default="stack"),
    prune=dict(type="bool", default=False),
    prune_volumes=dict(type="bool", default=False),
)


def main():
    run_stack(engine_module(ARGUMENT_SPEC), Stack)


if __name__ == "__main__":
    main()
