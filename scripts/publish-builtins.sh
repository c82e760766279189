#!/usr/bin/env bash
# Publishes Kern's built-in plugins (plugins/*) to a registry like any other
# plugin: pack, sign with the publisher key, publish.
#
#   scripts/publish-builtins.sh --key publisher.key --token TOKEN [--registry URL]
#
# The registry URL defaults to $KERN_REGISTRY, else http://127.0.0.1:7080.
# Needs the build (npm run build). Versions already published are reported
# and skipped: a version is immutable once published.
set -euo pipefail

key="" token="${KERN_REGISTRY_TOKEN:-}" registry="${KERN_REGISTRY:-http://127.0.0.1:7080}"
while [ $# -gt 0 ]; do
  case "$1" in
    --key) key="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --registry) registry="$2"; shift 2 ;;
    *) echo "unknown argument $1 (use --key FILE --token TOKEN [--registry URL])" >&2; exit 2 ;;
  esac
done
[ -n "$key" ] || { echo "--key is required: the publisher private key (kern plugin keygen writes publisher.key)" >&2; exit 2; }
[ -n "$token" ] || { echo "--token is required: a publisher token (kern registry publisher add / token create)" >&2; exit 2; }

key="$(realpath "$key")"
cd "$(dirname "$0")/.."
kern() { node dist/kernel/cli/main.js "$@"; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for dir in plugins/*/; do
  id="$(basename "$dir")"
  kern plugin pack "$dir" -o "$out/$id.kpkg" >/dev/null
  kern plugin sign "$out/$id.kpkg" --key "$key" >/dev/null
  if result="$(kern registry publish "$out/$id.kpkg" --registry "$registry" --token "$token" 2>&1)"; then
    echo "$result" | grep '^published' || true
  elif echo "$result" | grep -q 'immutable'; then
    echo "$id: this version is already published; skipped"
  else
    echo "$result" >&2
    exit 1
  fi
done
