"""Names and clean-up for Docker objects that tests create on the shared daemon."""
from __future__ import annotations

import re
import secrets
import shutil
import time
import warnings
from pathlib import Path

import docker
from docker.errors import APIError, NotFound


def make_unique_name(test_name: str) -> str:
    """berth-t-<short test name>-<6 hex>: valid for containers, networks, volumes and image repos."""
    slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"^test_?", "", test_name.lower())).strip("-")
    return f"berth-t-{slug[:24].strip('-') or 'x'}-{secrets.token_hex(3)}"


class Cleanup:
    """Registry of things to remove at teardown (containers first, then networks, volumes, images, paths).

    Anything whose name starts with `prefix` (the test's unique_name) is swept too,
    so objects a module created under that name are removed even if never registered.
    """

    def __init__(self, client: docker.DockerClient, prefix: str | None = None):
        self.client = client
        self.prefix = prefix
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []
        self.images: list[str] = []
        self.paths: list[Path] = []
        self.callbacks: list = []

    def container(self, name: str) -> str:
        self.containers.append(name)
        return name

    def network(self, name: str) -> str:
        self.networks.append(name)
        return name

    def volume(self, name: str) -> str:
        self.volumes.append(name)
        return name

    def image(self, ref: str) -> str:
        self.images.append(ref)
        return ref

    def path(self, path) -> Path:
        self.paths.append(Path(path))
        return Path(path)

    def callback(self, fn, *args, **kwargs) -> None:
        """Run fn(*args, **kwargs) first at teardown (e.g. stop a helper process)."""
        self.callbacks.append((fn, args, kwargs))

    def _swept(self) -> tuple[set, set, set, set]:
        if not self.prefix:
            return set(), set(), set(), set()
        p = self.prefix
        found = self.client.containers.list(all=True, filters={"name": p})
        containers = {c.name for c in found if c.name.startswith(p)}
        networks = {n.name for n in self.client.networks.list(names=[p]) if n.name.startswith(p)}
        volumes = {v.name for v in self.client.volumes.list(filters={"name": p}) if v.name.startswith(p)}
        images = {t for i in self.client.images.list() for t in i.tags if p in t}
        return containers, networks, volumes, images

    def run(self) -> None:
        errors = []

        def attempt(what, fn, *args, retries=1, **kwargs):
            for i in range(retries):
                try:
                    fn(*args, **kwargs)
                    return
                except NotFound:
                    return
                except APIError as exc:
                    if i == retries - 1:
                        errors.append(f"{what}: {exc}")
                    time.sleep(0.5)
                except Exception as exc:  # noqa: BLE001 - teardown must go on
                    errors.append(f"{what}: {exc}")
                    return

        for fn, args, kwargs in reversed(self.callbacks):
            attempt(f"callback {fn!r}", fn, *args, **kwargs)
        try:
            s_containers, s_networks, s_volumes, s_images = self._swept()
        except APIError as exc:
            errors.append(f"sweep: {exc}")
            s_containers = s_networks = s_volumes = s_images = set()
        c = self.client
        # v=True: the test images declare VOLUME /data, whose anonymous volumes must go too.
        for name in dict.fromkeys([*self.containers, *sorted(s_containers)]):
            attempt(f"container {name}", lambda n: c.api.remove_container(n, force=True, v=True), name, retries=3)
        for name in dict.fromkeys([*self.networks, *sorted(s_networks)]):
            attempt(f"network {name}", c.api.remove_network, name, retries=5)
        for name in dict.fromkeys([*self.volumes, *sorted(s_volumes)]):
            attempt(f"volume {name}", lambda n: c.api.remove_volume(n, force=True), name, retries=3)
        for ref in dict.fromkeys([*self.images, *sorted(s_images)]):
            attempt(f"image {ref}", lambda r: c.api.remove_image(r, force=True), ref)
        for path in self.paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if errors:
            warnings.warn("cleanup left things behind:\n  " + "\n  ".join(errors), stacklevel=1)
