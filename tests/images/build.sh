#!/usr/bin/env bash
# Build the local test images (berth-test/*) from Debian's busybox-static.
# Idempotent: every image is labelled with a hash of its inputs and skipped when
# that label already matches; FORCE=1 rebuilds everything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
busybox_bin="${BUSYBOX_BIN:-/bin/busybox}"
[ -x "$busybox_bin" ] || { echo "build.sh: $busybox_bin missing (apt-get install busybox-static)" >&2; exit 1; }

# Several work trees / xdist workers share one dockerd: serialise builds.
exec 9>/tmp/berth-test-images.lock
flock 9

hash="$(cd "$here" && cat build.sh ./*/Dockerfile "$busybox_bin" | sha256sum | cut -c1-16)"
label=io.berth.test.build-hash
export DOCKER_BUILDKIT=0  # the legacy builder needs no buildx plugin and builds FROM scratch fine

# build TAG DIR [docker build args...]
build() {
  local tag=$1 dir=$2; shift 2
  if [ "${FORCE:-0}" != 1 ] &&
     [ "$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null)" = "$hash" ]; then
    echo "  $tag: up to date"
    return
  fi
  local log old
  old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  if ! log="$(docker build -q --label "$label=$hash" -t "$tag" "$@" "$dir" 2>&1)"; then
    echo "build.sh: building $tag failed:" >&2
    echo "$log" >&2
    exit 1
  fi
  echo "  $tag: built $(docker image inspect -f '{{.Id}}' "$tag" | cut -c8-19)"
  [ -z "$old" ] || replaced=("$old" "${replaced[@]}")
}
replaced=()

echo "test images (inputs $hash):"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$here/busybox/Dockerfile" "$ctx/Dockerfile"
cp "$busybox_bin" "$ctx/busybox"
build berth-test/busybox:latest "$ctx"
build berth-test/http:latest "$here/http" --build-arg HTTP_VERSION=v1
build berth-test/http:v1 "$here/http" --build-arg HTTP_VERSION=v1
build berth-test/http:v2 "$here/http" --build-arg HTTP_VERSION=v2
build berth-test/failing:latest "$here/failing"
build berth-test/unhealthy:latest "$here/unhealthy"

# Drop the images we just replaced (children first); rmi refuses any still tagged or in use.
for id in "${replaced[@]}"; do docker rmi "$id" >/dev/null 2>&1 || true; done
