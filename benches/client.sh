#!/usr/bin/env bash
# Client overhead (issue "The remote client"): the same signed list request (20 scripts) sent
# N times on one kept-alive connection, by curl and by cocpit's client (which signs every
# request and decodes every answer into its model types), against a local `cocpit serve`.
# Target: the client's time per request ≤ 1.10 × curl's.
# Usage: benches/client.sh   (N=requests per run, default 2000; RUNS=runs, median, default 5)
set -euo pipefail
# The engine runs inside each command here (the figures are those of one process).
export COCPIT_IN_PROCESS=1
cd "$(dirname "$0")/.."
N=${N:-2000}
RUNS=${RUNS:-5}
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
cargo build --release --quiet --bin cocpit --example client_overhead
bin=target/release/cocpit
ex=target/release/examples/client_overhead
tmp=$(mktemp -d)
export COCPIT_SERVE_AK=BENCHAK COCPIT_SERVE_SK=bench-secret COCPIT_SERVE_PROJECT_ID=0123456789abcdef0123456789abcdef
printf '[inventory]\ndemo_fleet = 2\n' >"$tmp/config.toml"
for i in $(seq 20); do
  printf 'echo %s\n' "$i" >"$tmp/s.sh"
  $bin --config "$tmp/config.toml" --init --data "$tmp/data" script create --name "bench_$i" --file "$tmp/s.sh" >/dev/null
done
$bin --config "$tmp/config.toml" --init --data "$tmp/data" serve --listen 127.0.0.1:0 >"$tmp/serve.out" 2>/dev/null &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q listening "$tmp/serve.out" && break; sleep 0.05; done
endpoint=$(sed -n 's/^listening on //p' "$tmp/serve.out")

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
curl_us=$(for _ in $(seq "$RUNS"); do
  $ex curl-config "$endpoint" "$N" "$tmp/curl.cfg"
  t0=$(date +%s%N); curl -K "$tmp/curl.cfg"; t1=$(date +%s%N)
  awk -v d=$((t1 - t0)) -v n="$N" 'BEGIN { printf "%.1f\n", d / 1000 / n }'
done | median)
client_us=$(for _ in $(seq "$RUNS"); do $ex time "$endpoint" "$N"; done | median)
echo "curl (one process, keep-alive):      $curl_us µs/request"
echo "cocpit client (sign + decode each):  $client_us µs/request"
awk -v c="$client_us" -v r="$curl_us" 'BEGIN { printf "client / curl: %.2f× (target ≤ 1.10×)\n", c / r }'
