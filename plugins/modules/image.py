#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: image
short_description: Pull, build, load, export, tag, push and remove Docker images idempotently
version_added: 0.1.0
description:
  - Makes sure the image O(name) is on the host (pulled, built from a context directory, loaded from a
    C(docker save) tarball, or already there), optionally tags it under more names and pushes it; or removes it.
  - Idempotent by image ID and digest. A run reports a change only when O(name) (or a O(tag)) ends up on a
    different image ID, or a push sent an image the registry did not hold.
  - A build uses the engine's classic builder, whose cache gives the same image ID for the same context,
    Dockerfile and options; so a forced rebuild of an unchanged context reports no change.
  - >-
    The task is planned once, from what is on the host and in the registry before it runs. A pull, build or load
    only reveals the resulting image ID once it ran, so the plan then lists every step that may be needed (for example
    C(build) followed by C(tag) for each O(tag)), and a step that turns out to change nothing is skipped and left
    out of RV(actions) - a rebuild or pull that gives the image ID O(name) already had, a tag that already names the
    result, a push of a digest the registry already holds. So RV(actions) and the diff say what was really done.
  - An image ID (C(sha256:...) or 64 hex digits) names an image already on the host, so it is accepted as O(name)
    only with O(source=local) or O(state=absent), and never as a O(tag).
  - Check mode changes nothing and predicts the change. Loads are predicted exactly (the tarball's image ID is
    read from its C(manifest.json)); forced pulls compare the registry's digest without pulling; pushes compare
    the registry's digest with the image's. A build that would run (image missing, or O(force=true)) is always
    reported as a change, because its result cannot be known without building.
extends_documentation_fragment:
  - berth.engine.engine
  - berth.engine.attributes
options:
  name:
    description:
      - Image reference, for example C(registry.example.com/app:1.4). Without a tag C(:latest) is meant.
      - For O(source=build) the built image is tagged with it; for O(source=load) it names the image of the tarball.
    type: str
    required: true
  state:
    description:
      - C(present) the image is on the host under O(name) (and the O(tag) names), pushed when O(push=true).
      - C(absent) the name O(name) is removed (the image itself goes when no other name refers to it).
        O(source), O(tag) and O(push) are ignored.
    type: str
    default: present
    choices: [present, absent]
  source:
    description:
      - Where the image comes from when it is missing (or when O(force=true)).
      - C(pull) from its registry. C(build) from O(build). C(load) from O(load_path).
        C(local) the image must already be on the host (useful to tag or push it); the task fails otherwise.
      - C(export) the image must already be on the host, like C(local), and is saved to O(archive_path).
      - Default C(build) when O(build) is set, C(load) when O(load_path) is set, C(export) when O(archive_path) is set,
        otherwise C(pull).
    type: str
    choices: [pull, build, load, local, export]
  force:
    description:
      - Pull or build even though the image is on the host; the task still reports a change only if that gave a
        different image ID. With O(source=load) the tarball is loaded even when its image is already there.
      - With O(state=absent), remove the name even when containers use the image (like C(docker rmi --force));
        the containers are left alone.
    type: bool
    default: false
  build:
    description: How to build the image (O(source=build)). Without O(force) the build only runs when O(name) is missing.
    type: dict
    suboptions:
      path:
        description:
          - Build context directory on the managed node. It is sent as a tar archive; a C(.dockerignore) file in it
            is honoured (patterns with C(*), C(?), C(**), C([...]) and C(!) exceptions).
        type: path
        required: true
      dockerfile:
        description: Dockerfile, relative to O(build.path) or absolute (it may lie outside the context).
        type: str
        default: Dockerfile
      args:
        description: Build arguments (C(ARG) values).
        type: dict
      target:
        description: Build stage to stop at, in a multi-stage Dockerfile.
        type: str
      labels:
        description: Labels to set on the built image.
        type: dict
      nocache:
        description: Do not use the build cache. Every build then gives a new image ID, so it always reports a change.
        type: bool
        default: false
  load_path:
    description:
      - A tarball made by C(docker save) (optionally gzip, bzip2 or xz compressed) on the managed node, for
        O(source=load). It is loaded when O(name) is missing or names another image ID than the tarball's.
      - If the tarball holds one image not tagged O(name), that image is tagged O(name) after loading.
    type: path
  archive_path:
    description:
      - For O(source=export), the file on the managed node to save O(name) to, as an uncompressed C(docker save)
        tarball (the counterpart of O(load_path)). Its directory must exist.
      - Nothing is written when the file already holds the image O(name) points at (its image ID is read from
        the archive's C(manifest.json)). Otherwise the image is saved to a temporary file beside it, checked, and
        renamed over it, so the file is never left half written. A file there that is not an image tarball
        fails the task and is left alone.
    type: path
  platform:
    description:
      - The platform to pull or build for, C(os/arch[/variant]), for example C(linux/amd64) or C(linux/arm64/v8).
        Only with O(source=pull) and O(source=build).
      - An image O(name) already on the host whose OS or architecture (or variant, when the image records one)
        differs from it counts as different, so it is pulled or built again.
    type: str
  tag:
    description:
      - More names for the image, for example C(registry.example.com/app:latest). Each is set to the image O(name)
        points at.
    type: list
    elements: str
    default: []
  push:
    description:
      - Push O(name) and every O(tag) to their registries, unless the registry already holds this image under
        that name (its digest is compared first). Push errors, such as refused credentials, fail the task.
    type: bool
    default: false
  registry_username:
    description:
      - User name for the registry, used to pull, push and (for the registry of O(name)) build.
      - When not given, the login stored for that registry by M(berth.engine.login) (C(~/.docker/config.json) of
        the user the task runs as, or E(DOCKER_CONFIG)) is used, if there is one.
    type: str
  registry_password:
    description: Password or token for O(registry_username).
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Paths (O(build.path), O(load_path), O(archive_path)) are on the managed node, where the module runs.
  - O(timeout) also bounds how long a pull, push, build or load may stay silent; raise it for builds with long
    steps that print nothing.
author:
  - Berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Pull an image when it is missing
  berth.engine.image:
    name: registry.example.com/web:1.4
    registry_username: deploy
    registry_password: "{{ vault_registry_password }}"

- name: Build an image from a context directory (rebuilt when the context changed, no change otherwise)
  berth.engine.image:
    name: app:{{ app_version }}
    build:
      path: /srv/app
      args:
        VERSION: "{{ app_version }}"
      labels:
        org.example.team: web
    force: true

- name: Load an image shipped as a tarball
  berth.engine.image:
    name: app:1.4
    load_path: /var/tmp/app-1.4.tar

- name: Tag it for the registry and push it
  berth.engine.image:
    name: app:1.4
    source: local
    tag:
      - registry.example.com/app:1.4
- name: Push the registry name
  berth.engine.image:
    name: registry.example.com/app:1.4
    source: local
    push: true
    registry_username: deploy
    registry_password: "{{ vault_registry_password }}"

- name: Pull the arm64 variant of an image
  berth.engine.image:
    name: registry.example.com/web:1.4
    platform: linux/arm64

- name: Save an image to a tarball (written only when it holds another image)
  berth.engine.image:
    name: app:1.4
    source: export
    archive_path: /var/tmp/app-1.4.tar

- name: Remove it
  berth.engine.image:
    name: app:1.4
    state: absent
"""

RETURN = r"""
image:
  description: The inspect document of O(name) after the task (before it, in check mode); empty when absent.
  returned: success
  type: dict
actions:
  description: >-
    What was done (in check mode, would be done), in order, like C(pull), C(build), C(load), C(tag), C(push),
    C(export), C(remove).
  returned: always
  type: list
  elements: str
  sample: [build, tag]
build_output:
  description: The last lines the build printed, when a build ran.
  returned: when a build ran
  type: list
  elements: str
"""

from ansible_collections.berth.engine.plugins.module_utils.common import engine_module, plan_result, run  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.image_plan import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.image_resource import ImageResource  # noqa: E402
from ansible_collections.berth.engine.plugins.module_utils.resource import converge  # noqa: E402


def main():
    module = engine_module(ARGUMENT_SPEC)

    def body(client):
        image = ImageResource(client, module.params, module.check_mode)
        plan, _unused, document = converge(image)
        result = plan_result(module, plan, "image", document)
        if image.output:
            result["build_output"] = image.output
        return result

    run(module, body)


if __name__ == "__main__":
    main()
