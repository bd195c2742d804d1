#!/usr/bin/env bash
# Create .venv (repo root) and (re)install the test requirements only when they changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "ensure-venv: creating $venv"
  "$python" -m venv "$venv"
fi

# The stamp covers both requirement files and the interpreter version.
want="$(cat "$root/requirements.txt" "$root/requirements-test.txt" | sha256sum | cut -d' ' -f1)-$("$venv/bin/python" -V 2>&1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "ensure-venv: installing requirements-test.txt"
  # The grep drops the warnings this machine's pip config prints about its absent local mirrors.
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/requirements-test.txt" \
    2> >(grep -v 'is neither a file nor a directory' >&2)
  echo "$want" >"$stamp"
fi
