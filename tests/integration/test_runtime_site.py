"""site.yml on this machine: the README's main command.

It provisions localhost (prereqs + runtime) and deploys the sample workload of
inventories/local; a second run changes nothing. Observed with the Docker SDK,
an HTTP request to the published port and files on disk.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
import urllib.request

from tests.support.ansible import run_playbook


def _sha256_in_container(container, path: str) -> str:
    stream, _unused = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.getmembers()[0]
        return hashlib.sha256(tar.extractfile(member).read()).hexdigest()


def _get(url: str, attempts: int = 20) -> str:
    for _unused in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return resp.read().decode()
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer")


def test_site_provisions_localhost_and_deploys_the_sample(docker_client):
    first = run_playbook("site.yml")
    assert not first.failed, first.describe()

    web = docker_client.containers.get("berth-sample-web")
    worker = docker_client.containers.get("berth-sample-worker")
    assert web.status == "running" and worker.status == "running"
    assert web.attrs["State"]["Health"]["Status"] == "healthy"
    assert web.attrs["HostConfig"]["PortBindings"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "8081"}]
    assert "berth-sample: it works" in _get("http://127.0.0.1:8081/")

    network = docker_client.networks.get("berth-sample")
    network.reload()
    assert {c.name for c in network.containers} >= {"berth-sample-web", "berth-sample-worker"}
    mounts = {m["Destination"]: m for m in worker.attrs["Mounts"]}
    assert mounts["/data"]["Name"] == "berth-sample-data"

    # the image is the sample context plus this host's static busybox
    image = docker_client.images.get("berth-sample/app:1")
    assert web.image.id == image.id
    with open("/bin/busybox", "rb") as fh:
        assert _sha256_in_container(web, "/bin/busybox") == hashlib.sha256(fh.read()).hexdigest()

    started = web.attrs["State"]["StartedAt"]
    second = run_playbook("site.yml")
    assert not second.failed, second.describe()
    assert second.recap["localhost"]["changed"] == 0, [t["task"] for t in second.tasks if t["changed"]]
    again = docker_client.containers.get("berth-sample-web")
    assert again.id == web.id and again.attrs["State"]["StartedAt"] == started
