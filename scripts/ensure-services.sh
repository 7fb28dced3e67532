#!/usr/bin/env bash
# Makes sure the PostgreSQL and NATS (JetStream) servers the integration and end-to-end tests use
# are running on 127.0.0.1 (5432 and 4222). On Debian it installs them when missing.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {
  for _ in $(seq 1 60); do listening "$1" && return 0; sleep 0.5; done
  echo "ensure-services: nothing is listening on 127.0.0.1:$1 after 30 s" >&2
  return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  command -v apt-get >/dev/null || { echo "ensure-services: install $* (no apt-get here)" >&2; return 1; }
  [ -n "${APT_UPDATED:-}" ] || { as_root apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! listening 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for 5432
fi

if ! listening 4222; then
  if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then apt_install nats-server; fi
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  store=${NATS_STORE_DIR:-/var/lib/nats-server}
  as_root mkdir -p "$store"
  as_root start-stop-daemon --start --oknodo --background --exec "$bin" -- -a 127.0.0.1 -p 4222 -js -sd "$store" -l /var/log/nats-server.log
  wait_for 4222
fi

# The approval page is tested in a real browser: Debian's Chromium, driven by playwright-core.
if ! command -v chromium >/dev/null && [ ! -x /usr/bin/chromium ]; then apt_install chromium || echo "ensure-services: Chromium missing; browser tests will fail" >&2; fi

# The step-up gateway's forward-auth contract is tested behind Debian's nginx (auth_request), run
# by the test itself on loopback; the package's own service is not needed.
if [ ! -x /usr/sbin/nginx ]; then apt_install nginx-light || echo "ensure-services: nginx missing; the gateway's auth_request test will fail" >&2; fi

# Tests connect as the postgres role over TCP without a password (trust on loopback, as Debian's
# test setups and CI images configure it). Say so clearly when that is not the case.
if command -v psql >/dev/null && ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  echo "ensure-services: cannot connect as postgres@127.0.0.1 without a password; set CIBA_TEST_DATABASE_ADMIN_URL" >&2
fi
echo "ensure-services: PostgreSQL on 5432 and NATS JetStream on 4222 are up"
