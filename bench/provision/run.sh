#!/usr/bin/env bash
# No-change provisioning benchmark (issue 13): localhost and a fleet of
# systemd test hosts over SSH, for site.yml, the prereqs+runtime roles,
# geerlingguy.docker and one ping task. Results go to bench/out/provision/.
#
#   bench/provision/run.sh all          up + provision + measure + report + down
#   bench/provision/run.sh up           start the test hosts (containers with systemd, sshd)
#   bench/provision/run.sh provision    converge every host once (site.yml, then geerlingguy.docker)
#   bench/provision/run.sh measure      alternating no-change runs, appended to runs.jsonl
#   bench/provision/run.sh report       the markdown tables of bench/RESULTS.md
#   bench/provision/run.sh down         remove the hosts, their volumes and network
#
# geerlingguy.docker is not part of Berth. Get it outside the repository, e.g.
#   git clone https://github.com/geerlingguy/ansible-role-docker /tmp/bench-roles/geerlingguy.docker
# and pass its parent with BENCH_ROLES=/tmp/bench-roles (default). Environment:
#   BENCH_HOSTS=10    test hosts      BENCH_ROUNDS=5   alternating rounds
#   BENCH_IMAGE=berth-molecule/debian:12 (tests/hosts/build-image.sh 12)
#   BENCH_STATE=/tmp/berth-bench-provision  SSH key and inventory of the run
#   BENCH_BASELINE=<checkout>  also run site.yml and prereqs+runtime from that tree
#                   (e.g. `git archive main | tar -x -C DIR`), variants site-base
#                   and prereqs-runtime-base, in the same rounds
#   BENCH_TARGETS="local fleet"  where to run
# Where the controller's time goes per task and function: bench/provision/profile_play.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/provision"
hosts="${BENCH_HOSTS:-10}"
rounds="${BENCH_ROUNDS:-5}"
image="${BENCH_IMAGE:-berth-molecule/debian:12}"
roles="${BENCH_ROLES:-/tmp/bench-roles}"
state="${BENCH_STATE:-/tmp/berth-bench-provision}"
out="$root/bench/out/provision"
prefix=berth-bench-prov
label=io.berth.bench=provision
# Only an extra var outranks the role's vars/Debian.yml, which would remove docker.io.
geerlingguy_vars=(-e "@$here/geerlingguy-vars.json")
cd "$root"
# shellcheck disable=SC1091
. .venv/bin/activate

host_names() { for i in $(seq -w 1 "$hosts"); do echo "$prefix-$i"; done; }

up() {
  mkdir -p "$state" && chmod 700 "$state"
  [ -f "$state/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C berth-bench -f "$state/id_ed25519"
  install -m 0600 "$state/id_ed25519.pub" "$state/authorized_keys"
  docker network inspect "$prefix" >/dev/null 2>&1 || docker network create --label "$label" "$prefix" >/dev/null
  # The options of extensions/molecule/shared/create.yml: systemd as PID 1
  # without --privileged, its own volume at /var/lib/docker.
  for name in $(host_names); do
    docker container inspect "$name" >/dev/null 2>&1 && continue
    docker run -d --name "$name" --hostname "${name#"$prefix"-}" --label "$label" \
      --network "$prefix" --cap-add ALL --cap-drop SYS_RESOURCE \
      --security-opt seccomp=unconfined --cgroupns host \
      --tmpfs /run --tmpfs /run/lock --stop-signal SIGRTMIN+3 --stop-timeout 10 \
      -v /sys/fs/cgroup:/sys/fs/cgroup -v "$state/authorized_keys:/root/.ssh/authorized_keys:ro" \
      --mount "type=volume,source=$name-docker,target=/var/lib/docker,volume-label=$label" \
      "$image" >/dev/null
  done
  {
    echo "# Written by bench/provision/run.sh up"
    echo "all:"
    echo "  children:"
    echo "    container_hosts:"
    echo "      vars:"
    echo "        ansible_user: root"
    echo "        ansible_ssh_private_key_file: $state/id_ed25519"
    echo "        ansible_ssh_common_args: -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"
    echo "        ansible_python_interpreter: /usr/bin/python3"
    echo "      hosts:"
    for name in $(host_names); do
      echo "        $name: {ansible_host: $(docker container inspect -f "{{ (index .NetworkSettings.Networks \"$prefix\").IPAddress }}" "$name")}"
    done
  } >"$state/fleet.yml"
  # The sample workload and settings of the default inventory, for both.
  ln -sfn "$root/inventories/local/group_vars" "$state/group_vars"
  ansible container_hosts -i "$state/fleet.yml" -m ansible.builtin.wait_for_connection -a timeout=120 >/dev/null
  ansible container_hosts -i "$state/fleet.yml" -m ansible.builtin.command \
    -a "systemctl is-system-running --wait" >/dev/null || true  # degraded is good enough
  echo "bench: $hosts hosts up, inventory $state/fleet.yml"
}

provision() {
  [ -d "$roles/geerlingguy.docker" ] || { echo "bench: no $roles/geerlingguy.docker (see the top of $0)" >&2; exit 2; }
  ansible-playbook -i "$state/fleet.yml" site.yml
  ANSIBLE_ROLES_PATH="$roles" ansible-playbook -i "$state/fleet.yml" "$here/geerlingguy.yml" "${geerlingguy_vars[@]}"
}

# localhost's dockerd may have been started outside its init script (scripts/ensure-dockerd.sh): give
# the script its pid file, or geerlingguy.docker's `service` task starts a second daemon and fails.
record_local_pid() {
  [ -d /run/systemd/system ] && return 0
  if [ -s /var/run/docker.pid ] && ! [ -s /var/run/docker-ssd.pid ]; then
    cp /var/run/docker.pid /var/run/docker-ssd.pid
  fi
}

measure() {
  mkdir -p "$out"
  record_local_pid
  local -A inventory=([local]=inventories/local [fleet]="$state/fleet.yml")
  local variants=(site prereqs-runtime geerlingguy ping)
  [ -n "${BENCH_BASELINE:-}" ] && variants+=(site-base prereqs-runtime-base)
  for round in $(seq 1 "$rounds"); do
    for variant in "${variants[@]}"; do
      local tree="$root" playbook="$here/${variant%-base}.yml" extra=()
      [ "${variant%-base}" = site ] && playbook=site.yml
      [ "$variant" = geerlingguy ] && extra=("${geerlingguy_vars[@]}")
      # The baseline's own playbooks and roles, the same inventories.
      [ "$variant" != "${variant%-base}" ] && tree="$BENCH_BASELINE" && playbook="${playbook/#$root/$tree}"
      for target in ${BENCH_TARGETS:-local fleet}; do
        (cd "$tree" && ANSIBLE_ROLES_PATH="$roles" python "$here/summarise.py" time --out "$out/runs.jsonl" \
          --variant "$variant" --target "$target" --round "$round" \
          -- ansible-playbook -i "${inventory[$target]/#inventories/$root/inventories}" "$playbook" "${extra[@]}") ||
          echo "bench: $variant on $target failed or changed something: not counted" >&2
      done
    done
  done
}

report() { python "$here/summarise.py" report "$out/runs.jsonl" --hosts "$hosts"; }

down() {
  for name in $(host_names); do
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker volume rm "$name-docker" >/dev/null 2>&1 || true
  done
  docker network rm "$prefix" >/dev/null 2>&1 || true
  echo "bench: hosts removed"
}

case "${1:-all}" in
  up | provision | measure | report | down) "$1" ;;
  all) up && provision && measure && report && down ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
