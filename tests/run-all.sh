#!/usr/bin/env bash
# The single test command (`make test`, CI's .ci/run). Sets up what it needs (venv,
# dockerd, test images), then runs the stages in order, stops at the first failing
# one and always prints a summary.
#
#   BERTH_TEST_STAGES=lint,unit tests/run-all.sh   # pick stages or groups
# stages: ruff yamllint ansible-lint ansible-doc sanity unit site integration molecule
# groups: lint = ruff,yamllint,ansible-lint,ansible-doc,sanity; all (default)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 2

ALL=(ruff yamllint ansible-lint ansible-doc sanity unit site integration molecule)
declare -A want status took
for s in $(echo "${BERTH_TEST_STAGES:-all}" | tr ',' ' '); do
  case "$s" in
    all) for x in "${ALL[@]}"; do want[$x]=1; done ;;
    lint) for x in ruff yamllint ansible-lint ansible-doc sanity; do want[$x]=1; done ;;
    ruff|yamllint|ansible-lint|ansible-doc|sanity|unit|site|integration|molecule) want[$s]=1 ;;
    *) echo "run-all: unknown stage '$s' (stages: ${ALL[*]}; groups: lint, all)" >&2; exit 2 ;;
  esac
done

order=(setup "${ALL[@]}")
failed=""
summary() {
  echo
  echo "==================== berth test summary ===================="
  for s in "${order[@]}"; do
    printf '  %-13s %-8s %s\n' "$s" "${status[$s]:-not run}" "${took[$s]:+${took[$s]}s}"
  done
  if [ -n "$failed" ]; then echo "RESULT: FAILED at stage '$failed'"; else echo "RESULT: all selected stages passed"; fi
}
trap 'stop_vm_scenario; summary' EXIT

# stage NAME COMMAND...: run one stage unless a previous one failed or it was not selected.
stage() {
  local name=$1; shift
  if [ "$name" != setup ] && [ -z "${want[$name]:-}" ]; then status[$name]="skipped"; return 0; fi
  if [ -n "$failed" ]; then return 0; fi
  echo
  echo "==> $name"
  local start=$SECONDS rc=0
  "$@" || rc=$?
  took[$name]=$((SECONDS - start))
  if [ $rc -eq 0 ]; then status[$name]=PASS; else status[$name]="FAIL($rc)"; failed=$name; fi
}

# The Molecule scenarios `make test` runs, longest first (run.sh starts them in this order, two at a
# time): cluster (3 swarm hosts) beside default, then bundle and bad_config. vm (one qemu VM under
# TCG, about 30 min, mostly one core busy) starts in the background with the integration stage
# (start_vm_scenario) and the molecule stage waits for it: in series it would add its whole length.
MOLECULE_SCENARIOS="${BERTH_MOLECULE_SCENARIOS:-cluster default bundle bad_config vm}"

needs_docker() { [ -n "${want[site]:-}${want[integration]:-}${want[molecule]:-}" ]; }

do_setup() {
  bash scripts/ensure-venv.sh || return
  if needs_docker; then
    bash scripts/ensure-dockerd.sh || return
    bash tests/images/build.sh || return
    setup_engine28 || return
  fi
  if [ -n "${want[molecule]:-}" ] && [ -x tests/hosts/build-image.sh ]; then
    # Debootstrapping the Molecule host images takes minutes: overlap it with lint and tests.
    mkdir -p tests/output
    bash tests/hosts/build-image.sh all >tests/output/host-images.log 2>&1 &
    host_images_pid=$!
  fi
  if [ -n "${want[molecule]:-}" ] && [ -x tests/vm/build-image.sh ] && [[ " $MOLECULE_SCENARIOS " == *" vm "* ]]; then
    # The vm scenario's qemu, debootstrap, sfdisk and xfsprogs, then its disk image, in the
    # background too (cached by the script's hash; create.yml waits on the build's lock).
    bash tests/vm/install-deps.sh || return
    bash tests/vm/build-image.sh >tests/output/vm-image.log 2>&1 &
    vm_image_pid=$!
  fi
}

do_ruff() {
  local dirs=() d
  for d in plugins tests bench; do [ -d "$d" ] && dirs+=("$d"); done
  ruff check "${dirs[@]}"
}

# Every module must render with ansible-doc and be listed for the collection.
do_ansible_doc() {
  local listing f name bad=0 n=0
  listing="$(ansible-doc -l berth.engine)" || return
  for f in plugins/modules/*.py; do
    name="$(basename "$f" .py)"
    [ "$name" = __init__ ] && continue
    n=$((n + 1))
    if ! ansible-doc "berth.engine.$name" >/dev/null; then echo "ansible-doc berth.engine.$name failed"; bad=1; fi
    if ! grep -q "^berth\.engine\.$name " <<<"$listing"; then echo "berth.engine.$name missing from ansible-doc -l"; bad=1; fi
  done
  echo "ansible-doc: checked $n module(s)"
  [ "$n" -gt 0 ] && [ $bad -eq 0 ]
}

# ansible-test sanity on a copy laid out as ansible_collections/berth/engine, offline (scripts/sanity.sh).
do_sanity() { timeout -k 30 "${BERTH_TIMEOUT_SANITY:-1200}" bash scripts/sanity.sh; }

# pytest exits 5 when it collected nothing: that is a failure here, like any non-zero code.
do_unit() { timeout -k 30 "${BERTH_TIMEOUT_UNIT:-900}" python -m pytest tests/unit; }

# The integration suite runs against two engines at once: the whole suite against this machine's
# Docker (Debian 12's 20.10, API 1.41, classic image store) and, side by side in a second pytest,
# the engine-sensitive files against Debian sid's Docker 28.5 (API 1.51, which Berth speaks) with the
# containerd image store (scripts/engine28.sh: its own socket, bridge and data root). Why a subset side
# by side: the whole suite a second time would double the stage (~25 min, over the 60-min budget),
# while these files are where API versions and image stores differ (image IDs and digests, inspect
# documents, plans that must stay exact); mostly waiting on containers, they fit beside the main run on
# 2 cores. The crash-recovery, rollback and swarm files start private daemons: there
# BERTH_PRIVATE_ENGINE=28 makes them sid's dockerd 28.5 (containerd store) too, through engine28.sh enter.
# BERTH_ENGINE28=0 turns the 28 run off if the budget breaks; BERTH_ENGINE28_WORKERS=2 runs it on two
# xdist workers (default 0: one process, so it takes as little of the 2 cores from the 20.10 run as it can). Not on 28: tests that provision this
# machine's own engine (runtime, prereqs, infra, site).
# The swarm files' core on 28 (swarm init/join, a service's create/rerun/change, a rolling update and its
# rollback, a swarm stack): the rest (bad input, node roles, kernel checks) reads the same on both engines.
ENGINE28_SWARM_CORE="test_swarm.py::test_init_check_diff_idempotence_spec_update_and_leave \
test_service.py::test_create_rerun_check_diff_and_one_option_change \
test_service.py::test_rolling_update_then_failed_update_rolls_back \
test_swarm_stack.py::test_three_services_network_secret_config_rerun_and_prune"
ENGINE28_TESTS="${BERTH_ENGINE28_TESTS:-test_image.py test_container.py test_container_options.py test_stack.py \
test_compose.py test_network.py test_volume.py test_engine_info.py test_stored_login.py \
test_crash_recovery.py test_stack_rollback.py test_peer_cases.py $ENGINE28_SWARM_CORE}"
# community.docker's swarm cases (test_peer_cases.py: one ansible-playbook, ~5 min) run on 28.5 only: one
# process there, where the 20.10 run's two xdist workers would each run the whole playbook; both runs end
# at about the same time that way.
ENGINE20_SKIP="${BERTH_ENGINE20_SKIP:-test_peer_cases.py}"
engine28_out=tests/output/integration-engine28.out

engine28_wanted() { [ -n "${want[integration]:-}" ] && [ "${BERTH_ENGINE28:-1}" != 0 ]; }

# Start the 28 engine (building the sid root on first use) and build the test images into it.
setup_engine28() {
  engine28_wanted || return 0
  bash scripts/engine28.sh start || return
  DOCKER_HOST="$(bash scripts/engine28.sh host)" bash tests/images/build.sh
}

do_integration() {
  local rc=0 rc28=0 pid28="" files=() f start=$SECONDS took20
  if engine28_wanted; then
    for f in $ENGINE28_TESTS; do files+=("tests/integration/$f"); done
    mkdir -p tests/output
    echo "integration on Docker 28.5 (containerd store, private daemons too): ${#files[@]} test files or tests in the background, output in $engine28_out"
    # Its own basetemp under /tmp (the 28 engine sees the host's /tmp, so bind mounts from there work).
    DOCKER_HOST="$(bash scripts/engine28.sh host)" BERTH_PRIVATE_ENGINE=28 timeout -k 60 "${BERTH_TIMEOUT_INTEGRATION:-3000}" \
      python -m pytest "${files[@]}" -n "${BERTH_ENGINE28_WORKERS:-0}" -p no:cacheprovider \
      --basetemp=/tmp/berth-pytest-engine28 --durations=5 \
      >"$engine28_out" 2>&1 &
    pid28=$!
  fi
  local skip=()
  if engine28_wanted; then for f in $ENGINE20_SKIP; do skip+=("--ignore=tests/integration/$f"); done; fi
  echo "integration on $(docker version -f '{{.Server.Version}}' 2>/dev/null || echo "the host's Docker"): the whole suite${skip[*]:+ but ${ENGINE20_SKIP} (run on 28.5)}"
  timeout -k 60 "${BERTH_TIMEOUT_INTEGRATION:-3000}" python -m pytest tests/integration -n 2 "${skip[@]}" || rc=$?
  took20=$((SECONDS - start))
  if [ -n "$pid28" ]; then
    wait "$pid28" || rc28=$?
    # The 28 run must end before the 20.10 run (the budget counts the longer of the two).
    echo "==> integration on Docker 28.5 (containerd store): rc $rc28; the stage took $((SECONDS - start)) s, the 20.10 run $took20 s"
    tail -n 60 "$engine28_out"
  fi
  [ $rc -eq 0 ] && [ $rc28 -eq 0 ]
}

# The main job, as README gives it: provision localhost and deploy the sample workload. The
# integration tests then find a provisioned host (the runtime role restarts dockerd only here).
do_site() {
  ansible-playbook site.yml || return
  echo "--- site.yml again: must change nothing"
  local out
  out=$(ansible-playbook site.yml) || { echo "$out"; return 1; }
  echo "$out" | tail -4
  echo "$out" | grep -Eq 'changed=0 +unreachable=0 +failed=0' || { echo "second site.yml run changed something"; echo "$out" | grep -B3 -A12 'changed:'; return 1; }
}

vm_scenario_pid=""
vm_scenario_out=tests/output/molecule-vm.out

# Start the vm scenario beside the integration stage (its VM needs nothing of this machine's
# dockerd but the test image, built at set-up; create.yml waits for the VM image's build).
start_vm_scenario() {
  [ -n "${want[molecule]:-}" ] && [ -z "$failed" ] && [[ " $MOLECULE_SCENARIOS " == *" vm "* ]] || return 0
  mkdir -p tests/output
  echo "==> molecule vm: started in the background (output in $vm_scenario_out)"
  # Its own process group, so that stop_vm_scenario can stop all of it.
  BERTH_TIMEOUT_MOLECULE="${BERTH_TIMEOUT_VM:-3600}" setsid -w bash extensions/molecule/run.sh vm >"$vm_scenario_out" 2>&1 &
  vm_scenario_pid=$!
}

# A run that stops before the molecule stage does not leave the VM behind.
stop_vm_scenario() {
  [ -n "$vm_scenario_pid" ] && kill -0 "$vm_scenario_pid" 2>/dev/null || return 0
  echo "molecule vm: stopping the background scenario (an earlier stage failed)"
  kill -- -"$vm_scenario_pid" 2>/dev/null
  local d
  for d in "$HOME"/.ansible/tmp/molecule.*.vm/vm; do [ -d "$d" ] && bash tests/vm/stop.sh "$d"; done
}

do_molecule() {
  local scenarios=(extensions/molecule/*/molecule.yml) rest=() s rc=0
  if [ ! -f "${scenarios[0]}" ]; then
    echo "molecule: no scenarios (extensions/molecule/*/molecule.yml) yet, nothing to run"
    return 0
  fi
  # The host images were started building in the background at set-up; run.sh waits for a
  # current image (the build is cached by tag), then runs the scenarios two at a time.
  if [ -n "${host_images_pid:-}" ]; then wait "$host_images_pid" || echo "molecule: background image build failed; run.sh retries it"; fi
  if [ -n "${vm_image_pid:-}" ]; then wait "$vm_image_pid" || echo "molecule: background VM image build failed; the vm scenario retries it"; fi
  for s in $MOLECULE_SCENARIOS; do [ "$s" = vm ] && [ -n "$vm_scenario_pid" ] || rest+=("$s"); done
  if [ ${#rest[@]} -gt 0 ]; then bash extensions/molecule/run.sh "${rest[@]}" || rc=$?; fi
  if [ -n "$vm_scenario_pid" ]; then
    echo "==> molecule vm (started with the integration stage): waiting for it"
    local vm_rc=0
    wait "$vm_scenario_pid" || vm_rc=$?
    vm_scenario_pid=""
    cat "$vm_scenario_out"
    [ $vm_rc -eq 0 ] || rc=$vm_rc
  fi
  return $rc
}

stage setup do_setup
# Everything below runs the venv's tools.
export VIRTUAL_ENV="$root/.venv" PATH="$root/.venv/bin:$PATH"
[ -n "${CI:-}" ] && export ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1
stage ruff do_ruff
stage yamllint yamllint .
stage ansible-lint ansible-lint
stage ansible-doc do_ansible_doc
stage sanity do_sanity
stage unit do_unit
stage site do_site
start_vm_scenario
stage integration do_integration
stage molecule do_molecule

[ -z "$failed" ]
