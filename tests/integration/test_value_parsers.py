"""One parser per format, against the real engine (observed with the Docker SDK): the same env file gives the
same environment through the container module and a Compose file on the stack, read as Compose reads it
(export, quotes, escapes, comments, interpolation); a duration or size Compose takes (1h, 1500ms, 1.5GiB) is
taken everywhere."""
from __future__ import annotations

from tests.support.ansible import module_helpers

container_ok = module_helpers("berth.engine.container")[1]
stack_ok, stack_fails = module_helpers("berth.engine.stack")[1:]

ENV_FILE = """# read as Compose reads it
export GREETING="hello world"
QUOTED='kept $as is'
ESCAPED="a\\tb"
TRAILING=value # a comment
YAML_STYLE: yes
DERIVED=${GREETING}!
"""
EXPECTED = {"GREETING": "hello world", "QUOTED": "kept $as is", "ESCAPED": "a\tb", "TRAILING": "value",
            "YAML_STYLE": "yes", "DERIVED": "hello world!"}


def env_of(container):
    return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])


def test_one_env_file_one_environment_for_the_container_module_and_compose(docker_client, unique_name, cleanup,
                                                                           project, test_images, tmp_path):
    (tmp_path / "app.env").write_text(ENV_FILE)
    cleanup.container(unique_name)
    container_ok({"name": unique_name, "image": test_images.busybox, "env_file": str(tmp_path / "app.env"),
                  "memory": "1.5GiB", "stop_timeout": 1})
    single = docker_client.containers.get(unique_name)
    assert EXPECTED.items() <= env_of(single).items()
    assert single.attrs["HostConfig"]["Memory"] == 1536 * 1024 ** 2

    service = {"image": test_images.busybox, "env_file": ["app.env"], "mem_limit": "1.5GiB",
               "stop_grace_period": "1h"}
    task = {"name": project, "project_directory": str(tmp_path), "compose": {"services": {"app": service}}}
    assert stack_ok(task)["changed"]
    composed = docker_client.containers.get(f"{project}-app-1")
    assert EXPECTED.items() <= env_of(composed).items()
    assert composed.attrs["HostConfig"]["Memory"] == 1536 * 1024 ** 2
    assert composed.attrs["Config"]["StopTimeout"] == 3600  # 1h: refused before, as every duration Compose takes
    assert not stack_ok(task)["changed"]
    service["stop_grace_period"] = "1500ms"
    assert stack_ok(task)["changed"]
    assert docker_client.containers.get(f"{project}-app-1").attrs["Config"]["StopTimeout"] == 1
    msg = stack_fails(dict(task, compose={"services": {"app": dict(service, stop_grace_period="soon")}}))
    # The container option table's stop_grace_period row judges it, naming the service's container.
    assert "-app-1: stop_grace_period must be a duration such as 30s" in msg
