#!/usr/bin/env bash
# Switchboard set-up for a Debian machine with Node 20: the OS packages the server and its tests use
# (redis-server; Prometheus' promtool and server for the rule and dashboard tests; Alertmanager's amtool
# for the compose test; Chromium for the browser tests), then the npm dependencies exactly as locked, then the production build (dist/).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing OS packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian packages start their own services where an init system runs; Switchboard starts its own.
  for svc in redis-server prometheus prometheus-alertmanager; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then $SUDO systemctl stop "$svc" || true; fi
  done
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node >= 20.19 is required, found "+process.versions.node); process.exit(1) }'
npm ci --no-audit --no-fund
# The run command (`npm start`) runs the build: dist/ (scripts/build.mjs).
npm run build
echo "setup: done (redis-server $(redis-server --version | awk '{print $3}'), $(promtool --version 2>&1 | head -1), node $(node --version))"
