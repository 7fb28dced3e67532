#!/usr/bin/env bash
# Renders the chart offline (no helm binary here): builds k8s/render, a Go program with Helm's
# template engine semantics, from Debian's Go packages (installing them on Debian when missing),
# then runs it. Arguments are the renderer's: [-name release] [-namespace ns] [-f values.yaml]... CHART_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${CIBA_CHART_RENDER_BIN:-$here/render/.bin/render}"

if [[ ! -x "$bin" || "$here/render/main.go" -nt "$bin" ]]; then
  if [[ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ]] || ! command -v go > /dev/null; then
    command -v apt-get > /dev/null || { echo "render: needs Go and Debian's golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev > /dev/null
  fi
  # GOPATH mode over Debian's sources; sprig v3 and semver v3 live there without their /v3 suffix.
  gopath=$(mktemp -d)
  trap 'rm -rf "$gopath"' EXIT
  mkdir -p "$gopath/src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/semver" "$gopath/src/ciba"
  ln -s /usr/share/gocode/src/github.com/Masterminds/sprig "$gopath/src/github.com/Masterminds/sprig/v3"
  ln -s /usr/share/gocode/src/github.com/Masterminds/semver "$gopath/src/github.com/Masterminds/semver/v3"
  ln -s "$here/render" "$gopath/src/ciba/render"
  mkdir -p "$(dirname "$bin")"
  (cd "$gopath/src/ciba/render" && GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="${GOCACHE:-$gopath/cache}" GOFLAGS= go build -o "$bin" .)
fi
exec "$bin" "$@"
