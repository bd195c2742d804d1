"""Fixtures the Compose tests share (test_compose.py, test_value_parsers.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def project(unique_name, docker_client, cleanup):
    """A unique Compose project name; everything it made is removed at teardown."""
    name = unique_name.replace("berth-t-", "bt").replace("_", "-")[:40].rstrip("-")

    def sweep():
        owned = {"label": f"com.docker.compose.project={name}"}
        for container in docker_client.containers.list(all=True, filters=owned):
            container.remove(force=True)
        for network in docker_client.networks.list(filters={"label": f"com.docker.compose.project={name}"}):
            network.remove()
        for volume in docker_client.volumes.list(filters={"label": f"com.docker.compose.project={name}"}):
            volume.remove(force=True)
        # By tag, never by ID: parallel tests build the same context into the same image ID, and removing
        # the ID with force would untag their images too.
        for image in docker_client.images.list(name=f"{name}-web"):
            for tag in image.tags:
                if tag.startswith(f"{name}-web:"):
                    docker_client.images.remove(tag)

    cleanup.callback(sweep)
    return name
