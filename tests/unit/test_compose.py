"""The pure Compose translation (plugins/module_utils/compose.py): no daemon, no files."""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils import compose
from ansible_collections.berth.engine.plugins.module_utils.compose import ComposeError, interpolate, load_project


def project(text, **kwargs):
    kwargs.setdefault("directory", "/srv/app")
    return load_project([yaml.safe_load(text)], **kwargs)


def containers(result):
    return {c["name"]: c for c in result["containers"]}


@pytest.mark.parametrize("text, env, expected", [
    ("${A}", {"A": "1"}, "1"),
    ("$A-x", {"A": "1"}, "1-x"),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),
    ("${A-d}", {"A": ""}, ""),
    ("${A-d}", {}, "d"),
    ("${A:+alt}", {"A": "1"}, "alt"),
    ("${A:+alt}", {}, ""),
    ("$$A and $${B}", {"A": "1"}, "$A and ${B}"),
    ("${A:-${B:-deep}}", {}, "deep"),
    ("${MISSING}", {}, ""),
])
def test_interpolation_forms(text, env, expected):
    assert interpolate(text, env) == expected


def test_required_variable_fails_with_its_message():
    with pytest.raises(ComposeError, match="TAG is missing a value: set the tag"):
        project("services: {web: {image: 'web:${TAG:?set the tag}'}}")


def test_dotenv_is_read_and_the_environment_wins():
    files = {"/srv/app/.env": "TAG=from-dotenv\nPORT=81\n# comment\n"}
    result = project("services: {web: {image: 'web:${TAG}', ports: ['${PORT}:80']}}",
                     environ={"TAG": "from-env"}, read_text=files.get)
    web = containers(result)["app-web-1"]
    assert web["image"] == "web:from-env" and web["ports"] == ["81:80"]


def test_names_and_labels_are_the_ones_compose_makes():
    result = project("""
        services:
          web: {image: web, volumes: [data:/data]}
        volumes: {data: {}}
    """, config_files="/srv/app/compose.yaml")
    web = containers(result)["app-web-1"]
    assert web["labels"]["com.docker.compose.project"] == "app"
    assert web["labels"]["com.docker.compose.service"] == "web"
    assert web["labels"]["com.docker.compose.container-number"] == "1"
    assert web["labels"]["com.docker.compose.oneoff"] == "False"
    assert web["labels"]["com.docker.compose.project.config_files"] == "/srv/app/compose.yaml"
    assert web["networks"] == [{"name": "app_default", "aliases": ["web"]}]
    assert result["networks"][0]["name"] == "app_default"
    assert result["networks"][0]["labels"]["com.docker.compose.network"] == "default"
    assert result["volumes"] == [{"name": "app_data", "labels": {"com.docker.compose.project": "app",
                                                                 "com.docker.compose.volume": "data"}}]
    assert web["mounts"] == [{"type": "volume", "source": "app_data", "target": "/data", "read_only": False}]


def test_project_name_from_the_file_then_the_directory():
    assert project("name: Shop\nservices: {web: {image: w}}")["name"] == "shop"
    assert project("services: {web: {image: w}}")["name"] == "app"
    assert project("services: {web: {image: w}}", name="other")["name"] == "other"


def test_external_and_named_networks_and_volumes_are_only_referred_to():
    result = project("""
        services:
          web:
            image: w
            networks: [front, shared]
            volumes: [cache:/cache, old:/old]
        networks:
          front: {name: custom-front}
          shared: {external: true, name: corp-net}
        volumes:
          cache: {external: true}
          old: {name: legacy-data}
    """)
    assert [n["name"] for n in result["networks"]] == ["custom-front"]
    assert [v["name"] for v in result["volumes"]] == ["legacy-data"]
    web = containers(result)["app-web-1"]
    assert [n["name"] for n in web["networks"]] == ["custom-front", "corp-net"]
    assert [m["source"] for m in web["mounts"]] == ["cache", "legacy-data"]


def test_environment_list_map_and_env_file():
    files = {"/srv/app/web.env": "A=from-file\nB='quoted value'\nexport C=3\n"}
    result = project("""
        services:
          web: {image: w, env_file: web.env, environment: [A=override, D]}
          api: {image: w, environment: {X: 1, Y: true, Z: null}}
    """, read_text=files.get)
    assert containers(result)["app-web-1"]["env"] == {"A": "override", "B": "quoted value", "C": "3", "D": ""}
    assert containers(result)["app-api-1"]["env"] == {"X": "1", "Y": "true", "Z": ""}


def test_missing_env_file_fails_unless_optional():
    with pytest.raises(ComposeError, match="env_file /srv/app/nope.env does not exist"):
        project("services: {web: {image: w, env_file: nope.env}}")
    result = project("services: {web: {image: w, env_file: [{path: nope.env, required: false}]}}")
    assert "env" not in containers(result)["app-web-1"]


def test_depends_on_conditions_set_the_dependencies_state():
    result = project("""
        services:
          db: {image: db, healthcheck: {test: [CMD, "true"], interval: 1s}}
          migrate: {image: m, command: migrate --all, depends_on: [db]}
          web:
            image: w
            depends_on:
              db: {condition: service_healthy}
              migrate: {condition: service_completed_successfully}
    """)
    by_name = containers(result)
    assert by_name["app-db-1"]["state"] == "healthy"
    assert by_name["app-migrate-1"]["state"] == "completed"
    assert by_name["app-migrate-1"]["command"] == ["migrate", "--all"]
    assert by_name["app-migrate-1"]["depends_on"] == ["app-db-1"]
    assert sorted(by_name["app-web-1"]["depends_on"]) == ["app-db-1", "app-migrate-1"]
    assert by_name["app-web-1"]["state"] == "started"


def test_bad_condition_and_unknown_dependency_fail():
    with pytest.raises(ComposeError, match="condition 'service_ready'"):
        project("services: {a: {image: a, depends_on: {b: {condition: service_ready}}}, b: {image: b}}")
    with pytest.raises(ComposeError, match="depends_on ghost, which is not defined"):
        project("services: {a: {image: a, depends_on: [ghost]}}")


def test_scale_and_replicas_make_numbered_containers():
    result = project("""
        services:
          worker: {image: w, scale: 3}
          api: {image: a, deploy: {replicas: 2, resources: {limits: {cpus: '0.5', memory: 64m, pids: 50},
                                                            reservations: {memory: 32m}}}}
    """)
    names = sorted(containers(result))
    assert names == ["app-api-1", "app-api-2", "app-worker-1", "app-worker-2", "app-worker-3"]
    api = containers(result)["app-api-2"]
    assert (api["cpus"], api["memory"], api["pids_limit"], api["memory_reservation"]) == (0.5, "64m", 50, "32m")
    assert api["labels"]["com.docker.compose.container-number"] == "2"


def test_container_name_with_replicas_fails():
    with pytest.raises(ComposeError, match="container_name cannot be used with more than one replica"):
        project("services: {a: {image: a, container_name: x, scale: 2}}")


def test_profiles_select_services():
    text = "services: {web: {image: w}, debug: {image: d, profiles: [debug]}}"
    assert sorted(containers(project(text))) == ["app-web-1"]
    assert sorted(containers(project(text, profiles=["debug"]))) == ["app-debug-1", "app-web-1"]


def test_anchors_extension_fields_and_extends():
    result = project("""
        x-base: &base
          image: base
          restart: on-failure:3
          labels: {tier: app}
        services:
          common: {<<: *base, environment: {A: "1"}, x-note: ignored}
          web:
            extends: common
            environment: {B: "2"}
            labels: {role: web}
    """)
    web = containers(result)["app-web-1"]
    assert web["image"] == "base" and web["env"] == {"A": "1", "B": "2"}
    assert web["restart_policy"] == "on-failure" and web["restart_retries"] == 3
    assert web["labels"]["tier"] == "app" and web["labels"]["role"] == "web"


def test_extends_cycle_and_extends_file_fail():
    with pytest.raises(ComposeError, match="cycle"):
        project("services: {a: {extends: b, image: x}, b: {extends: a}}")
    with pytest.raises(ComposeError, match="extends.file is not supported"):
        project("services: {a: {extends: {service: b, file: other.yml}}}")


def test_unsupported_keys_fail_naming_key_and_service():
    with pytest.raises(ComposeError, match="service web: key develop is not supported"):
        project("services: {web: {image: w, develop: {watch: []}}}")
    with pytest.raises(ComposeError, match="deploy.placement only takes effect in a swarm"):
        project("services: {web: {image: w, deploy: {placement: {constraints: [node.role==manager]}}}}")
    with pytest.raises(ComposeError, match="top-level key include is not supported"):
        load_project([{"include": ["a.yml"], "services": {}}])


def test_ports_and_volumes_long_syntax():
    result = project("""
        services:
          web:
            image: w
            ports:
              - "8000-8010:80"
              - {target: 443, published: 8443, host_ip: 127.0.0.1, protocol: tcp}
              - 9000
              - {target: 53, host_ip: 127.0.0.1, protocol: udp}
            volumes:
              - ./html:/usr/share/html:ro
              - /var/log
              - {type: tmpfs, target: /tmp}
              - {type: bind, source: /etc/app, target: /etc/app, read_only: true}
    """)
    web = containers(result)["app-web-1"]
    assert web["ports"] == ["8000-8010:80", "127.0.0.1:8443:443/tcp", "9000", "127.0.0.1::53/udp"]
    assert web["mounts"] == [
        {"type": "bind", "source": "/srv/app/html", "target": "/usr/share/html", "read_only": True,
         "create_host_path": True},  # the short syntax creates a missing source, as Compose v2 does
        {"type": "volume", "source": None, "target": "/var/log", "read_only": False},
        {"type": "tmpfs", "source": None, "target": "/tmp", "read_only": False},
        {"type": "bind", "source": "/etc/app", "target": "/etc/app", "read_only": True, "create_host_path": False},
    ]


def test_bind_sources_home_and_bind_block(monkeypatch):
    monkeypatch.setenv("HOME", "/home/op")
    web = containers(project("""
        services:
          web:
            image: w
            volumes:
              - ~/data:/data
              - {type: bind, source: ~/conf, target: /conf, bind: {create_host_path: true}}
    """))["app-web-1"]
    assert web["mounts"] == [
        {"type": "bind", "source": "/home/op/data", "target": "/data", "read_only": False, "create_host_path": True},
        {"type": "bind", "source": "/home/op/conf", "target": "/conf", "read_only": False, "create_host_path": True},
    ]


@pytest.mark.parametrize("option", ["propagation: rshared", "selinux: z"])
def test_bind_block_options_the_container_module_lacks_are_refused(option):
    with pytest.raises(ComposeError, match=r"service web: .*bind\.(propagation|selinux) is not supported"):
        project("""
            services:
              web:
                image: w
                volumes:
                  - {type: bind, source: /srv, target: /srv, bind: {%s}}
        """ % option)


def test_undeclared_named_volume_fails():
    with pytest.raises(ComposeError, match="volume data is not declared"):
        project("services: {web: {image: w, volumes: ['data:/data']}}")


def test_secrets_and_configs_are_read_only_file_mounts():
    result = project("""
        services:
          web:
            image: w
            secrets: [db_password, {source: api_key, target: key}]
            configs: [{source: nginx, target: /etc/nginx/nginx.conf}]
        secrets:
          db_password: {file: ./secrets/db.txt}
          api_key: {file: /etc/keys/api}
        configs:
          nginx: {file: nginx.conf}
    """)
    assert containers(result)["app-web-1"]["mounts"] == [
        {"type": "bind", "source": "/srv/app/secrets/db.txt", "target": "/run/secrets/db_password", "read_only": True},
        {"type": "bind", "source": "/etc/keys/api", "target": "/run/secrets/key", "read_only": True},
        {"type": "bind", "source": "/srv/app/nginx.conf", "target": "/etc/nginx/nginx.conf", "read_only": True},
    ]
    with pytest.raises(ComposeError, match="only file: is supported on one host"):
        project("services: {w: {image: w, secrets: [s]}}\nsecrets: {s: {environment: PASSWORD}}")


def test_networks_with_aliases_addresses_and_network_mode():
    result = project("""
        services:
          db:
            image: db
            networks:
              back: {aliases: [database], ipv4_address: 172.30.0.10}
          sidecar: {image: s, network_mode: "service:db"}
          tool: {image: t, network_mode: host}
        networks:
          back:
            ipam: {config: [{subnet: 172.30.0.0/24, gateway: 172.30.0.1}]}
            internal: true
    """)
    by_name = containers(result)
    assert by_name["app-db-1"]["networks"] == [
        {"name": "app_back", "aliases": ["db", "database"], "ipv4_address": "172.30.0.10"}]
    assert by_name["app-sidecar-1"]["network_mode"] == "container:app-db-1"
    assert "networks" not in by_name["app-sidecar-1"]
    assert by_name["app-tool-1"]["network_mode"] == "host"
    back = [n for n in result["networks"] if n["name"] == "app_back"][0]
    assert back["ipam"] == {"config": [{"subnet": "172.30.0.0/24", "gateway": "172.30.0.1"}]}
    assert back["internal"] is True
    assert all(n["name"] != "app_default" for n in result["networks"])


def test_build_makes_an_image_entry_and_the_container_never_pulls():
    result = project("""
        services:
          web:
            build: {context: ./web, dockerfile: Containerfile, args: {V: 2}, target: prod}
    """)
    assert result["images"] == [{"name": "app-web", "source": "build", "build": {
        "path": "/srv/app/web", "dockerfile": "Containerfile", "args": {"V": "2"}, "target": "prod"}}]
    web = containers(result)["app-web-1"]
    assert web["image"] == "app-web" and web["pull"] == "never"


def test_runtime_options_map_to_container_options():
    result = project("""
        services:
          web:
            image: w
            command: ["serve", "--port", "80"]
            entrypoint: /bin/sh -c
            user: "1000:1000"
            working_dir: /app
            init: true
            stop_signal: SIGTERM
            stop_grace_period: 1m30s
            cap_add: [NET_ADMIN]
            sysctls: [net.core.somaxconn=1024]
            ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
            tmpfs: /run
            extra_hosts: ["db:10.0.0.5"]
            logging: {driver: json-file, options: {max-size: 10m}}
            healthcheck: {test: curl -f http://localhost, interval: 5s, retries: 3}
            labels: [a=b]
    """)
    web = containers(result)["app-web-1"]
    assert web["command"] == ["serve", "--port", "80"] and web["entrypoint"] == ["/bin/sh", "-c"]
    assert (web["user"], web["working_dir"], web["init"], web["stop_signal"]) == ("1000:1000", "/app", True, "SIGTERM")
    assert web["stop_timeout"] == 90
    assert web["sysctls"] == {"net.core.somaxconn": "1024"}
    assert web["ulimits"] == ["nofile=1024:2048", "nproc=512"]
    assert web["tmpfs"] == ["/run"] and web["extra_hosts"] == ["db:10.0.0.5"]
    assert web["log_driver"] == "json-file" and web["log_options"] == {"max-size": "10m"}
    assert web["healthcheck"] == {"test": "curl -f http://localhost", "interval": "5s", "retries": 3}
    assert web["labels"]["a"] == "b"


def test_merging_files_like_docker_compose_f():
    base = yaml.safe_load("services: {web: {image: w:1, ports: ['80:80'], environment: {A: '1'}}}")
    override = yaml.safe_load("services: {web: {image: w:2, ports: ['443:443'], environment: {B: '2'}}}")
    web = containers(load_project([base, override], directory="/srv/app"))["app-web-1"]
    assert web["image"] == "w:2" and web["ports"] == ["80:80", "443:443"] and web["env"] == {"A": "1", "B": "2"}


def test_env_file_parser_rejects_garbage():
    with pytest.raises(ComposeError, match="line 2 is not KEY=VALUE"):
        compose.parse_env_file("A=1\nnot a pair\n", "x.env")


# --- the same files for a swarm ----------------------------------------------------------------------

def swarm_project(text, **kwargs):
    kwargs.setdefault("directory", "/srv/app")
    return compose.load_swarm_project([yaml.safe_load(text)], **kwargs)


def test_swarm_services_take_deploy_ports_secrets_and_configs():
    files = {"/srv/app/key.txt": "k3y\n"}
    result = swarm_project("""
        services:
          web:
            image: w
            command: serve --port 80
            ports: ["8080:80", {target: 443, published: 8443, mode: host}]
            deploy:
              mode: replicated
              replicas: 3
              endpoint_mode: dnsrr
              placement: {constraints: [node.role==worker], preferences: [{spread: node.labels.zone}]}
              resources: {limits: {cpus: '0.5', memory: 64m}, reservations: {memory: 32m}}
              update_config: {parallelism: 1, failure_action: rollback}
              labels: {team: shop}
            secrets: [{source: key, target: api_key}]
            configs: [conf]
        secrets: {key: {file: key.txt}, token: {environment: TOKEN}}
        configs: {conf: {content: "x=1"}}
    """, read_text=files.get, environ={"TOKEN": "t0k"}, name="shop")
    web = result["services"][0]
    assert web["name"] == "shop_web" and web["args"] == ["serve", "--port", "80"]
    assert (web["replicas"], web["mode"], web["endpoint_mode"]) == (3, "replicated", "dnsrr")
    assert web["ports"] == [{"target": 80, "published": 8080, "protocol": "tcp", "publish_mode": "ingress"},
                            {"target": 443, "published": 8443, "protocol": "tcp", "publish_mode": "host"}]
    assert web["constraints"] == ["node.role==worker"]
    assert web["placement_preferences"] == [{"spread": "node.labels.zone"}]
    assert web["limits"] == {"cpus": 0.5, "memory": "64m"} and web["reservations"] == {"memory": "32m"}
    assert web["labels"] == {"team": "shop"}
    assert web["secrets"] == [{"name": "shop_key", "target": "api_key"}] and web["configs"] == [{"name": "shop_conf"}]
    assert web["networks"] == [{"name": "shop_default", "aliases": ["web"]}]
    assert result["networks"][0]["name"] == "shop_default" and result["networks"][0]["driver"] == "overlay"
    assert {s["name"]: s["content"] for s in result["secrets"]} == {"shop_key": "k3y\n", "shop_token": "t0k"}
    assert result["configs"] == [{"name": "shop_conf", "content": "x=1"}]


def test_swarm_refuses_what_only_works_on_one_host():
    with pytest.raises(ComposeError, match="service web: build only works on one host"):
        swarm_project("services: {web: {build: .}}")
    with pytest.raises(ComposeError, match="container_name only works on one host"):
        swarm_project("services: {web: {image: w, container_name: x}}")
    with pytest.raises(ComposeError, match="condition service_healthy needs one host"):
        swarm_project("services: {a: {image: a, depends_on: {b: {condition: service_healthy}}}, b: {image: b}}")
    with pytest.raises(ComposeError, match="environment variable TOKEN is not set"):
        swarm_project("services: {a: {image: a}}\nsecrets: {t: {environment: TOKEN}}")


def test_swarm_encrypted_overlay_is_passed_on_for_the_kernel_check():
    result = swarm_project("""
        services: {a: {image: a, networks: [secure]}}
        networks: {secure: {driver_opts: {encrypted: ""}}}
    """)
    assert result["networks"][0]["encrypted"] is True


def test_less_common_run_options_translate_to_container_options():
    result = project("""
services:
  app:
    image: app:1
    shm_size: 128m
    tty: true
    stdin_open: true
    pid: host
    mem_swappiness: 10
    cpuset: "0-1"
    oom_kill_disable: true
    group_add: ["20"]
    dns_search: example.test
    dns_opt: ["ndots:2"]
    expose: [9000, "53/udp"]
    blkio_config:
      weight: 300
      device_read_bps: [{path: /dev/vda, rate: 1m}]
    gpus: [{driver: nvidia, count: all, capabilities: [gpu]}]
""")
    app = containers(result)["app-app-1"]
    assert (app["shm_size"], app["tty"], app["interactive"], app["pid_mode"]) == ("128m", True, True, "host")
    assert (app["memory_swappiness"], app["cpuset_cpus"]) == (10, "0-1")
    assert (app["oom_killer"], app["groups"]) == (False, ["20"])
    assert (app["dns_search"], app["dns_options"], app["exposed_ports"]) == (["example.test"], ["ndots:2"],
                                                                             ["9000", "53/udp"])
    assert app["blkio_weight"] == 300 and app["device_read_bps"] == [{"path": "/dev/vda", "rate": "1m"}]
    assert app["device_requests"] == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
    with pytest.raises(ComposeError, match="blkio_config.nope"):
        project("services: {app: {image: 'app:1', blkio_config: {nope: 1}}}")
