#!/usr/bin/env bash
# Berth benchmark entry point (`make bench`): bench venv, the runs, then bench/RESULTS.md.
#   BENCH_SIZES="50:3 200:1"  N:repeats to run (default), e.g. BENCH_SIZES="10:1" for a quick check
#   BENCH_QUIET_BUDGET=600    seconds in all a size may wait for an idle host before its runs
#   BENCH_REPORT_ONLY=1       only regenerate RESULTS.md from bench/out/n*.json
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${BERTH_BENCH_VENV:-$root/.cache/bench-venv}"
export BERTH_BENCH_VENV="$venv"

# PyPI's `ansible` 12.x = ansible-core 2.19 (as Berth's .venv) with community.docker 4.x, whose
# docker_container needs `requests`; the Docker SDK is variant (d) and psutil samples memory.
pins=(ansible==12.3.0 requests==2.32.5 docker==7.1.0 psutil==7.2.2)
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "${pins[*]}" ]; then
  echo "bench: making $venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" \
    2> >(grep -v 'is neither a file nor a directory' >&2)
  echo "${pins[*]}" >"$venv/.pins"
fi

if [ "${BENCH_REPORT_ONLY:-0}" != 1 ]; then
  bash tests/images/build.sh >/dev/null  # berth-test/busybox:latest, built locally (no registry)
  "$venv/bin/python" bench/bench.py floor  # ansible-playbook's own start-up, for reference
  for size in ${BENCH_SIZES:-50:3 200:1}; do
    # Bounded: each phase has a timeout of 120 s + 5 s per container inside bench.py.
    "$venv/bin/python" bench/bench.py run --n "${size%%:*}" --repeat "${size##*:}"
  done
fi
"$venv/bin/python" bench/bench.py report
