#!/usr/bin/env bash
# The verification page under load, on loopback: `badges serve` (a release build) on a fresh
# data directory with the rate limits off, one credential issued over the API, then wrk on
# its public page (`GET /credentials/{id}`: the store read, the recipient's name opened with
# their data key, the status list checked, the HTML rendered). Then the server's memory
# at rest. Needs wrk and curl (Debian packages).
#
#   cargo build --release -p badges
#   tests/benches/page.sh [path/to/badges] [seconds] [connections]
set -euo pipefail
bin="${1:-${CARGO_TARGET_DIR:-target}/release/badges}"
secs="${2:-20}"
conns="${3:-64}"
dir="$(mktemp -d)"
port=18089
base="http://127.0.0.1:$port"
token="page-bench-owner-token-0123456789abcdef"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

BADGES_BOOTSTRAP_TOKEN="$token" BADGES_LOG=warn "$bin" serve --data-dir "$dir" \
  --listen "127.0.0.1:$port" --rate-limit-public 0 --rate-limit-api-key 0 &
pid=$!
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status"; }
echo "idle after start: $(rss)"

auth=(-H "Authorization: Bearer $token" -H "Content-Type: application/json")
curl -fs "${auth[@]}" "$base/v1/workspaces" \
  -d '{"slug":"acme","name":"Acme","issuer":{"name":"Acme Academy"}}' >/dev/null
template=$(curl -fs "${auth[@]}" "$base/v1/workspaces/acme/templates" \
  -d '{"name":"Cloud Security","description":"Passed.","criteria":{"narrative":"Score 80%."}}' |
  sed -E 's/.*"id":"([^"]+)".*/\1/')
id=$(curl -fs "${auth[@]}" "$base/v1/workspaces/acme/credentials" \
  -d "{\"template_id\":\"$template\",\"recipient\":{\"email\":\"ada@example.com\",\"name\":\"Ada Lovelace\"}}" |
  sed -E 's/^\{"id":"([^"]+)".*/\1/')
page="$base/credentials/$id"
curl -fs "$page" | grep -q "Ada Lovelace" || { echo "the page does not show the recipient" >&2; exit 1; }

wrk -t1 -c"$conns" -d2s "$page" >/dev/null   # warm-up
wrk -t1 -c"$conns" -d"${secs}s" --latency "$page"
echo "peak during the run: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"
sleep 5
echo "at rest after the run: $(rss)"
