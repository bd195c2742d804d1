#!/usr/bin/env bash
# ansible-test sanity on the collection, offline-safe (CI stage `sanity`, tests/run-all.sh).
#
#   scripts/sanity.sh                  # every sanity test
#   scripts/sanity.sh --test pylint    # extra arguments go to ansible-test sanity
#
# ansible-test only runs from a directory named .../ansible_collections/<ns>/<name>, and the
# repository root is the collection itself; collections/ansible_collections/berth/engine is a
# symlink back to the root, and a directory symlink is what sanity's `symlinks` test forbids.
# So the files git knows of (tracked, and untracked but not ignored) are copied to a temporary
# ansible_collections/berth/engine, without collections/ (that symlink is a development
# convenience for ansible.cfg and is not part of the collection: galaxy.yml build_ignore).
#
# ansible-test installs its own pinned requirements into one virtual environment per test
# (~/.ansible/test/venv, reused while the pins stay the same) and bootstraps pip in each with a
# get-pip.py from ci-files.testing.ansible.com, which CI cannot reach. Here the wheels of
# tests/sanity/requirements.txt (ansible-test's own pins) are downloaded once into a
# wheelhouse, and scripts/sanity-get-pip.py stands in for get-pip.py: it installs pip from the
# wheelhouse and makes every later install in that environment use the wheelhouse only.
#
# The log and ansible-test's JUnit files end up in tests/output/sanity/.
# Environment: BERTH_SANITY_WHEELS (wheelhouse; default .cache/sanity-wheels),
# BERTH_SANITY_KEEP=1 (keep the temporary copy and print its path).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -x "$root/.venv/bin/ansible-test" ] && export PATH="$root/.venv/bin:$PATH"

requirements="$root/tests/sanity/requirements.txt"
wheels="${BERTH_SANITY_WHEELS:-$root/.cache/sanity-wheels}"
python_version=3.11

# Tests not to run, each with its reason (none today). What ansible-test skips by itself is
# checked by scripts/sanity-summary.py after the run.
skip_tests=()

fill_wheelhouse() {
  local want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ "$(cat "$wheels/.requirements.sha256" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "sanity: downloading the wheels of tests/sanity/requirements.txt into $wheels"
  mkdir -p "$wheels"
  # --no-deps: the file pins the complete set; the offline installs later prove it is complete.
  # The grep drops the warnings this machine's pip config prints about its absent local mirrors.
  python -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$python_version" -d "$wheels" -r "$requirements" \
    2> >(grep -v 'is neither a file nor a directory' >&2)
  echo "$want" >"$wheels/.requirements.sha256"
}

# ansible-test skips shellcheck when the program is missing and reports that as "no tests applicable".
ensure_shellcheck() {
  command -v shellcheck >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "sanity: installing Debian's shellcheck"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  fi
  command -v shellcheck >/dev/null || { echo "sanity: shellcheck is missing; install it (apt-get install shellcheck)" >&2; return 1; }
}

# Put the offline get-pip.py stand-in where ansible-test looks for its cached download.
install_get_pip() {
  local pip_version target
  pip_version="$(sed -n 's/^pip==//p' "$requirements")"
  target="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  mkdir -p "$(dirname "$target")"
  if [ -f "$target" ] && ! grep -q 'berth-sanity-get-pip' "$target"; then
    echo "sanity: keeping the real get-pip.py already cached at $target"
    return 0
  fi
  sed "s|@WHEELHOUSE@|$wheels|" "$root/scripts/sanity-get-pip.py" >"$target"
}

# Copy the collection's files into <tmp>/ansible_collections/berth/engine; prints that path.
stage_collection() {
  local tmp dest
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/berth-sanity.XXXXXX")"
  dest="$tmp/ansible_collections/berth/engine"
  mkdir -p "$dest"
  git -C "$root" ls-files -z --cached --others --exclude-standard -- . ':!collections' \
    | while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done \
    | tar -C "$root" --null -T - -cf - | tar -C "$dest" -xf -
  echo "$dest"
}

ensure_shellcheck
fill_wheelhouse
install_get_pip
dest="$(stage_collection)"
if [ -n "${BERTH_SANITY_KEEP:-}" ]; then
  echo "sanity: collection copy kept at $dest"
else
  trap 'rm -rf "${dest%/ansible_collections/berth/engine}"' EXIT
fi

skip_args=()
for t in "${skip_tests[@]}"; do skip_args+=(--skip-test "$t"); done
log="$dest/../../../sanity.log"
start=$SECONDS
rc=0
# Each line carries the seconds since the start, so the summary can say how long each test took.
(cd "$dest" && ansible-test sanity --python "$python_version" --color no --junit "${skip_args[@]}" "$@") 2>&1 \
  | while IFS= read -r line; do printf '[%4ds] %s\n' $((SECONDS - start)) "$line"; done \
  | tee "$log" || rc=$?
python "$root/scripts/sanity-summary.py" "$log" "$dest/tests/output/junit" || { [ $rc -ne 0 ] || rc=1; }
# Keep the log and the JUnit files where CI collects test output.
rm -rf "$root/tests/output/sanity" && mkdir -p "$root/tests/output/sanity"
cp "$log" "$root/tests/output/sanity/"
if [ -d "$dest/tests/output/junit" ]; then cp -r "$dest/tests/output/junit" "$root/tests/output/sanity/"; fi
echo "sanity: ansible-test sanity took $((SECONDS - start))s (exit $rc)"
exit "$rc"
