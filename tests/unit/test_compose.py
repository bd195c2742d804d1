"""The pure Compose translation (plugins/module_utils/compose.py): no daemon, no files."""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.berth.engine.plugins.module_utils import compose_hash, compose_swarm
from ansible_collections.berth.engine.plugins.module_utils.compose import ComposeError, load_project
from ansible_collections.berth.engine.plugins.module_utils.compose_hash import size_in_bytes
from ansible_collections.berth.engine.plugins.module_utils.container_options import COMPOSE_KEYS
from ansible_collections.berth.engine.plugins.module_utils.container_plan import desired_container
from ansible_collections.berth.engine.plugins.module_utils.value_parsers import interpolate, parse_env_file


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
          api: {image: w, environment: {X: 1, Y: true, Z: null, D: null}}
    """, read_text=files.get, environ={"Z": "from-env"})
    # a variable without a value takes the project's one; with none it is left out (Compose 2.40)
    assert containers(result)["app-web-1"]["env"] == {"A": "override", "B": "quoted value", "C": "3"}
    assert containers(result)["app-api-1"]["env"] == {"X": "1", "Y": "true", "Z": "from-env"}


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
    assert web["stop_grace_period"] == "1m30s"
    assert desired_container(dict(web, name="web"))["values"]["stop_grace_period"] == 90
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
    with pytest.raises(ValueError, match="line 2 is not KEY=VALUE"):
        parse_env_file("A=1\nnot a pair\n", "x.env")
    with pytest.raises(ComposeError, match="service web env_file /srv/app/web.env line 2 is not KEY=VALUE"):
        project("services: {web: {image: w, env_file: web.env}}", read_text={"/srv/app/web.env": "A=1\nB C=2"}.get)


# --- the same files for a swarm ----------------------------------------------------------------------

def swarm_project(text, **kwargs):
    kwargs.setdefault("directory", "/srv/app")
    return compose_swarm.load_swarm_project([yaml.safe_load(text)], **kwargs)


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
        configs: {conf: {content: "x=1"}, tpl: {content: "{{ .Service.Name }}", template_driver: golang}}
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
    assert result["configs"] == [{"name": "shop_conf", "content": "x=1"},
                                 {"name": "shop_tpl", "content": "{{ .Service.Name }}", "template_driver": "golang"}]


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


# --- differences Compose 2.40 showed (issue 20): each as Compose 2.40 does it ------------------------

def test_env_file_values_are_interpolated_as_compose_does():
    files = {"/srv/app/.env": "BASE=/srv\nLOCAL=from-dotenv\n",
             "/srv/app/web.env": "PATHX=${BASE}/bin\nLOCAL=x\nUSE=${LOCAL}-y\nOWN=${MINE:-d}\nMINE=m\nAGAIN=$MINE\n"
                                 "SQ='${BASE}'\nDQ=\"${BASE}q\"\nDOL=$$a\n"}
    web = containers(project("services: {web: {image: w, env_file: web.env}}", read_text=files.get))["app-web-1"]
    # the project's variables win over the keys defined earlier in the same file (Compose 2.40's order)
    assert web["env"] == {"PATHX": "/srv/bin", "LOCAL": "x", "USE": "from-dotenv-y", "OWN": "d", "MINE": "m",
                          "AGAIN": "m", "SQ": "${BASE}", "DQ": "/srvq", "DOL": "$a"}


def test_gpu_reservations_become_device_requests():
    web = containers(project("""
        services:
          web:
            image: w
            deploy:
              resources:
                reservations:
                  devices:
                    - {driver: nvidia, count: all, capabilities: [gpu, utility], options: {a: b}}
                    - {device_ids: ["0", "1"], capabilities: [gpu]}
    """))["app-web-1"]
    assert web["device_requests"] == [
        {"driver": "nvidia", "count": -1, "capabilities": ["gpu", "utility"], "options": {"a": "b"}},
        {"device_ids": ["0", "1"], "capabilities": ["gpu"]}]
    with pytest.raises(ComposeError, match="needs capabilities"):
        project("services: {web: {image: w, deploy: {resources: {reservations: {devices: [{count: 1}]}}}}}")


def test_network_mode_service_and_volumes_from_start_the_other_service_first():
    result = containers(project("""
        services:
          app: {image: a, network_mode: "service:vpn", volumes_from: ["data:ro", "container:outside"]}
          vpn: {image: v}
          data: {image: d, scale: 2}
    """))
    app = result["app-app-1"]
    assert app["network_mode"] == "container:app-vpn-1"
    assert app["volumes_from"] == ["app-data-1:ro", "outside"]
    assert app["depends_on"] == ["app-vpn-1", "app-data-1", "app-data-2"]
    with pytest.raises(ComposeError, match="volumes_from nope names no service"):
        project("services: {app: {image: a, volumes_from: [nope]}}")


def test_compose_specification_resource_keys_are_translated():
    web = containers(project("""
        services:
          web: {image: w, mem_limit: 64m, mem_reservation: 32m, memswap_limit: 128m, cpus: 0.5, cpu_shares: 512}
    """))["app-web-1"]
    assert (web["memory"], web["memory_reservation"], web["memory_swap"]) == ("64m", "32m", "128m")
    assert (web["cpus"], web["cpu_shares"]) == (0.5, 512)
    with pytest.raises(ComposeError, match="mem_limit .64m. and deploy.resources set different values"):
        project("services: {web: {image: w, mem_limit: 64m, deploy: {resources: {limits: {memory: 32m}}}}}")
    same = containers(project("services: {web: {image: w, mem_limit: 64m, "
                              "deploy: {resources: {limits: {memory: 64M}}}}}"))
    assert size_in_bytes(same["app-web-1"]["memory"]) == str(64 << 20)  # one size written two ways is no conflict
    with pytest.raises(ComposeError, match="cpu_count only limits Windows containers"):
        project("services: {web: {image: w, cpu_count: 1}}")


@pytest.mark.parametrize("policy, expected", [
    ("{condition: on-failure, max_attempts: 3, delay: 5s, window: 10s}",
     {"restart_policy": "on-failure", "restart_retries": 3}),
    ("{condition: any}", {"restart_policy": "always"}),
    ("{condition: none}", {"restart_policy": "no"}),
    ("{}", {"restart_policy": "no"}),  # Compose 2.40 leaves the engine's default: no restart
])
def test_deploy_restart_policy_applies_on_one_host(policy, expected):
    web = containers(project("services: {web: {image: w, restart: 'on-failure:9', deploy: {restart_policy: %s}}}"
                             % policy))["app-web-1"]
    assert {k: web.get(k) for k in expected} == expected
    assert ("restart_retries" in web) == ("restart_retries" in expected)
    with pytest.raises(ComposeError, match="condition must be none, on-failure or any"):
        project("services: {web: {image: w, deploy: {restart_policy: {condition: sometimes}}}}")


# --- com.docker.compose.config-hash: the labels Compose 2.40.3 wrote on containers it created ---------

def test_config_hash_is_the_one_compose_writes():
    web = containers(project("""
        services:
          a:
            image: berth-test/busybox:latest
            command: sleep 1000
            environment: {X: "1"}
            stop_grace_period: 1s
            ports: ["127.0.0.1::8080"]
            volumes: ["dv:/d"]
        volumes: {dv: {}}
    """, directory="/tmp/cc1"))["cc1-a-1"]
    assert web["labels"]["com.docker.compose.config-hash"] == \
        "65e44d72d2a08c502b0b12fc214ce30014fa0d23c0f8c64eefd0ada0344c67a8"


def test_config_hash_covers_env_file_binds_and_resources():
    directory = "/work/wt/compose/tests/compose/conformance/webapp"  # the bind source is in the hash
    files = {directory + "/.env": "BASE=/srv/api\nDB_NAME=shopdb\n",
             directory + "/api.env": "DATA_DIR=${BASE}/data\nLOG_LEVEL=info\nLOG_TARGET=${LOG_LEVEL}-file\n"
                                     "LITERAL='${BASE}'\n"}
    api = containers(project("""
        services:
          api:
            image: berth-test/http:v2
            env_file: [api.env]
            environment: {DB_HOST: db, CACHE_HOST: cache, RELEASE: "${RELEASE:-dev}"}
            depends_on: {cache: {condition: service_started}}
            mem_limit: 64m
            mem_reservation: 32m
            cpus: 0.5
            cpu_shares: 512
            stop_grace_period: 1s
            volumes: ["uploads:/srv/uploads", "./api.env:/etc/api.env:ro"]
          cache: {image: c}
        volumes: {uploads: {}}
    """, name="hashprobe", directory=directory, read_text=files.get))["hashprobe-api-1"]
    assert api["labels"]["com.docker.compose.config-hash"] == \
        "4b7adcf33e16135b4e34bb8c7428744f99358b5945bae13d82e7272d5b138b55"


@pytest.mark.parametrize("value, expected", [
    ("1s", "1s"), ("90s", "1m30s"), ("1m", "1m0s"), (3600, "1h0m0s"), ("500ms", "500ms"), ("1.5s", "1.5s"),
    ("0s", "0s"),
])
def test_durations_are_written_as_go_writes_them(value, expected):
    assert compose_hash.go_duration(value) == expected


def test_a_compose_container_carries_its_image_id_as_compose_does():
    from ansible_collections.berth.engine.plugins.module_utils.container_options import compose_image_label

    labels = {"com.docker.compose.project": "p"}
    assert compose_image_label(labels, {"Id": "sha256:abc"}) == dict(labels,
                                                                     **{"com.docker.compose.image": "sha256:abc"})
    assert compose_image_label({"a": "b"}, {"Id": "sha256:abc"}) == {"a": "b"}  # not a Compose container
    assert compose_image_label(labels, None) == labels  # image still to be pulled (check mode)


def test_an_unset_variable_without_default_warns_naming_it_and_the_service():
    text = """
        services:
          web: {image: 'web:${TAG}', environment: {MODE: '$MODE', KEEP: '${KEEP:-x}', SET: '${SET}'}}
          db: {image: 'db:${TAG}'}
    """
    result = project(text, environ={"SET": "1"})
    assert sorted(result["warnings"]) == sorted([
        'compose: service db: The "TAG" variable is not set. Defaulting to a blank string.',
        'compose: service web: The "TAG" variable is not set. Defaulting to a blank string.',
        'compose: service web: The "MODE" variable is not set. Defaulting to a blank string.',
    ])
    assert containers(result)["app-web-1"]["image"] == "web:"
    assert project(text, environ={"SET": "1", "TAG": "1", "MODE": ""})["warnings"] == [], "set, even empty"
    swarm = swarm_project("services: {a: {image: 'a:${TAG}'}}\nnetworks: {default: {name: '${NET}'}}")
    assert sorted(swarm["warnings"]) == [
        'compose: compose.networks.default.name: The "NET" variable is not set. Defaulting to a blank string.',
        'compose: service a: The "TAG" variable is not set. Defaulting to a blank string.']


@pytest.mark.parametrize("text, message", [
    ("services: {web: {image: w, enviroment: {A: 1}}}", r"key enviroment is not supported by Berth \(did you mean "
                                                        r"environment\?\)"),
    ("services: {web: {imgae: w}}", r"key imgae is not supported by Berth \(did you mean image\?\)"),
    ("services: {web: {image: w, develop: {}}}", r"key develop is not supported by Berth\. Supported"),
    ("servics: {web: {image: w}}", r"top-level key servics is not supported \(did you mean services\?\)"),
])
def test_a_misspelt_key_is_refused_with_the_closest_supported_one(text, message):
    with pytest.raises(ComposeError, match=message):
        project(text)


def test_a_misspelt_swarm_key_is_refused_with_the_closest_supported_one():
    with pytest.raises(ComposeError, match=r"key comand is not supported for a swarm \(did you mean command\?\)"):
        swarm_project("services: {a: {image: a, comand: [x]}}")
    with pytest.raises(ComposeError, match=r"deploy.replica is not supported \(did you mean replicas\?\)"):
        swarm_project("services: {a: {image: a, deploy: {replica: 2}}}")


def test_healthcheck_start_interval_and_stop_grace_period_reach_the_container_options():
    result = load_project([yaml.safe_load("""
        services:
          web:
            image: busybox
            stop_grace_period: 500ms
            healthcheck: {test: "true", start_period: 30s, start_interval: 2s}
            blkio_config: {weight: 300}
    """)], name="app")
    web = result["containers"][0]
    assert web["healthcheck"] == {"test": "true", "start_period": "30s", "start_interval": "2s"}
    assert (web["stop_grace_period"], web["blkio_weight"]) == ("500ms", 300)
    assert desired_container(dict(web, name="web"))["values"]["stop_grace_period"] == 0  # truncated, as Compose


SAMPLE_BY_TYPE = {"bool": True, "int": 1, "str": "1", "list": ["1"], "dict": {"a": "1"}}


@pytest.mark.parametrize("key", sorted(COMPOSE_KEYS))
def test_every_compose_key_of_the_option_table_sets_its_option(key):
    option = COMPOSE_KEYS[key]
    value = SAMPLE_BY_TYPE[option.type]
    section, _dot, field = key.rpartition(".")
    service = {"image": "busybox", **({section: {field: value}} if section else {field: value})}
    container = load_project([{"services": {"web": service}}], name="app")["containers"][0]
    assert container[option.name] == option.from_compose(value)
