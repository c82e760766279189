#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: Debian packages, the Docker
# engine, npm packages and the TypeScript build. Safe to run again and again;
# each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages Kern's drivers use: the Docker engine (runtime), the CNI
# reference plugins and iptables (network), busybox-static (the pause image and
# test images), etcd (cluster store), dig (DNS checks).
debian_packages=(docker.io containernetworking-plugins busybox-static iptables iproute2 etcd-server dnsutils)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${KERN_SKIP_APT:-}" != 1 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Docker engine: start dockerd when nothing answers on its socket.
if [ "${KERN_SKIP_DOCKER:-}" != 1 ] && command -v dockerd >/dev/null 2>&1; then
  if ! DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1; then
    say "starting dockerd"
    as_root bash -c 'nohup dockerd >/var/log/kern-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do
      DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1 || { say "dockerd did not start: see /var/log/kern-dockerd.log"; exit 1; }
  fi
fi

# npm packages: install when node_modules is missing or older than the lock file.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  say "installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi

# Build: tsc -b is incremental, so this is quick when nothing changed.
say "building"
npx tsc -b

# The `kern` command on PATH (root only; otherwise use `node dist/kernel/cli/main.js`).
chmod +x dist/kernel/cli/main.js 2>/dev/null || true
if [ "$(id -u)" -eq 0 ] && [ -f dist/kernel/cli/main.js ]; then
  ln -sf "$PWD/dist/kernel/cli/main.js" /usr/local/bin/kern
fi
