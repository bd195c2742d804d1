#!/usr/bin/env bash
# Run Berth's Molecule scenarios the way CI does.
#
#   extensions/molecule/run.sh                  # every scenario (extensions/molecule/*/molecule.yml)
#   extensions/molecule/run.sh default bundle   # some of them
#
# The scenarios live where Molecule (25+) looks for them in a collection: extensions/molecule/
# (a molecule/ directory beside galaxy.yml makes it warn); extensions/molecule/config.yml is the
# base configuration Molecule merges under each scenario's molecule.yml.
#
# First builds every test host image the scenarios use, all releases in
# parallel (tests/hosts/build-image.sh; cached by tag, so a no-op when they
# are current), then runs `molecule test -s <scenario>`, BERTH_MOLECULE_JOBS
# scenarios at a time (default 2; each scenario's hosts, network and volumes
# carry its own names, so they do not collide). Each scenario's output goes to
# $BERTH_MOLECULE_LOGS/<scenario>.log (default tests/output/molecule) and is
# printed when the scenario fails. Prints a timing summary; exit status is
# non-zero when any scenario failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scenario_dir=extensions/molecule
cd "$root" || exit 2
# The venv's molecule and ansible, also when run outside tests/run-all.sh.
[ -x "$root/.venv/bin/molecule" ] && export PATH="$root/.venv/bin:$PATH"
jobs="${BERTH_MOLECULE_JOBS:-2}"
logs="${BERTH_MOLECULE_LOGS:-$root/tests/output/molecule}"
timeout_s="${BERTH_TIMEOUT_MOLECULE:-2700}"
mkdir -p "$logs"

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  # The longest first, so the last one to start is a short one.
  for s in cluster vm default bundle bad_config; do
    [ -f "$scenario_dir/$s/molecule.yml" ] && scenarios+=("$s")
  done
  for d in "$scenario_dir"/*/; do
    s="$(basename "$d")"
    [ -f "$d/molecule.yml" ] && [[ " ${scenarios[*]} " != *" $s "* ]] && scenarios+=("$s")
  done
fi
for s in "${scenarios[@]}"; do
  [ -f "$scenario_dir/$s/molecule.yml" ] || { echo "run.sh: no scenario $scenario_dir/$s" >&2; exit 2; }
done

start=$SECONDS
# Releases used by the chosen scenarios (image: berth-molecule/debian:<N or sid>).
mapfile -t releases < <(for s in "${scenarios[@]}"; do
  grep -Eo 'berth-molecule/debian:[0-9a-z]+' "$scenario_dir/$s/molecule.yml"; done | sed 's/.*://' | sort -u)
echo "==> test host images: debian ${releases[*]:-(none: the chosen scenarios use none)}"
if [ ${#releases[@]} -gt 0 ] && ! tests/hosts/build-image.sh "${releases[@]}"; then
  echo "run.sh: building the test host images failed" >&2
  exit 1
fi
images_took=$((SECONDS - start))

declare -A rc took
run_one() {
  local s=$1 t0=$SECONDS r=0
  timeout -k 60 "$timeout_s" molecule test -s "$s" >"$logs/$s.log" 2>&1 || r=$?
  echo "$r $((SECONDS - t0))" >"$logs/$s.result"
}

echo "==> scenarios: ${scenarios[*]} ($jobs at a time; logs in $logs)"
for s in "${scenarios[@]}"; do
  rm -f "$logs/$s.result"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "--- molecule test -s $s (started at +$((SECONDS - start))s)"
  run_one "$s" &
done
wait

failed=()
for s in "${scenarios[@]}"; do
  r=255 t="?"
  [ -f "$logs/$s.result" ] && read -r r t <"$logs/$s.result"
  rc[$s]=$r took[$s]=$t
  if [ "${rc[$s]}" != 0 ]; then
    failed+=("$s")
    echo
    echo "==================== molecule test -s $s FAILED (rc ${rc[$s]}): $logs/$s.log ===================="
    cat "$logs/$s.log"
  fi
done

echo
echo "==================== molecule summary ===================="
printf '  %-12s %-8s %ss\n' images PASS "$images_took"
for s in "${scenarios[@]}"; do
  printf '  %-12s %-8s %ss\n' "$s" "$([ "${rc[$s]}" = 0 ] && echo PASS || echo "FAIL(${rc[$s]})")" "${took[$s]}"
done
printf '  %-12s %-8s %ss\n' total "" "$((SECONDS - start))"
[ ${#failed[@]} -eq 0 ]
