#!/usr/bin/env bash
# Builds the image with buildah: no daemon, vfs storage, chroot isolation, nothing pulled (the base is
# assembled locally by node-base.sh when missing). On Debian, installs buildah when it is missing.
#
#   docker/build.sh                     → localhost/ciba-provider:dev
#   IMAGE=registry.example/ciba:1.2 docker/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/ciba-provider:dev}
NODE_IMAGE=${NODE_IMAGE:-docker.io/library/node:24-bookworm-slim}
export NODE_IMAGE

if ! command -v buildah > /dev/null; then
  command -v apt-get > /dev/null || { echo "build: needs buildah" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q buildah > /dev/null
fi
docker/node-base.sh

# The host's npm may trust an extra CA (a TLS-inspecting proxy); the locally assembled base holds the
# host's CA bundle at the same path.
cafile=$(npm config get cafile 2> /dev/null || true)
ca_args=()
[[ -n "$cafile" && "$cafile" != null && -f "$cafile" ]] && ca_args=(--build-arg "npm_config_cafile=$cafile")

buildah --storage-driver "${BUILDAH_STORAGE:-vfs}" bud \
  --isolation chroot --network host --pull=never \
  --build-arg NODE_IMAGE="$NODE_IMAGE" "${ca_args[@]}" \
  --build-arg VERSION="$(node -p "require('./package.json').version")" \
  --build-arg REVISION="$(git rev-parse HEAD 2> /dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f docker/Dockerfile -t "$IMAGE" .
echo "build: $IMAGE"
