#!/usr/bin/env bash
# Alarm ingest, side by side (issue "Incidents and the alarm stream"): Prometheus Alertmanager
# (Debian's prometheus-alertmanager, in memory) and `cocpit serve` (every alarm on disk, fsync'd,
# before its 200), each loaded the same way: keep-alive, 16 connections, 1 alert per request,
# 10 s, every alert distinct; then 100 alerts a request. Prints requests/s, p50/p99 latency and the ratio; then checks that
# cocpit stored every alarm it acknowledged, and opens the console on what was stored (RSS).
# Usage: benches/alarms.sh   (SECONDS_EACH=N CONC=N to change the load, RUNS=N for N runs, each
# of the four in turn, and their median and range)
set -euo pipefail
# The engine runs inside each command here (the figures are those of one process).
export COCPIT_IN_PROCESS=1
cd "$(dirname "$0")/.."
SECS=${SECONDS_EACH:-10}
RUNS=${RUNS:-1}
CONC=${CONC:-16}
command -v prometheus-alertmanager >/dev/null || {
  echo "installing prometheus-alertmanager"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-alertmanager >/dev/null
}
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
cargo build --release --quiet --bin cocpit --example loadgen
bin="$(pwd)/target/release/cocpit"
gen="$(pwd)/target/release/examples/loadgen"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; tmux -S "$tmp/tmux.sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# Alertmanager: its own API, the one Prometheus posts alerts to.
am_port=$(free_port)
cat >"$tmp/am.yml" <<'YML'
route: { receiver: "null" }
receivers: [ { name: "null" } ]
YML
prometheus-alertmanager --config.file="$tmp/am.yml" --storage.path="$tmp/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$tmp/am.log" 2>&1 &
pids+=($!)
wait_port "$am_port"
cat >"$tmp/am.json" <<'JSON'
[{"labels": {"alertname": "LoadTest", "instance": "host-{n}", "severity": "warning"},
  "annotations": {"summary": "load alert {n}"}, "generatorURL": "http://prometheus/graph"}]
JSON

# cocpit: the Alertmanager webhook path, one alert per request.
printf '[inventory]\ndemo_fleet = 1\n[[serve.integrations]]\nkey = "bench"\nkind = "prometheus"\n' >"$tmp/cocpit.toml"
COCPIT_SERVE_AK=BENCHAK000000000001 COCPIT_SERVE_SK=benchsecret "$bin" serve --listen 127.0.0.1:0 \
  --init --data "$tmp/data" --config "$tmp/cocpit.toml" >"$tmp/serve.out" 2>"$tmp/serve.err" &
pids+=($!)
srv=$!
for _ in $(seq 200); do grep -q '^listening on ' "$tmp/serve.out" && break; sleep 0.05; done
base=$(sed -n 's/^listening on //p' "$tmp/serve.out")
cat >"$tmp/cocpit.json" <<'JSON'
{"version": "4", "status": "firing", "receiver": "cocpit", "groupLabels": {}, "commonLabels": {},
 "commonAnnotations": {}, "externalURL": "http://alertmanager", "alerts": [
 {"status": "firing", "labels": {"alertname": "LoadTest", "instance": "host-{n}", "severity": "warning"},
  "annotations": {"summary": "load alert {n}"}, "startsAt": "2024-03-15T08:09:10Z",
  "generatorURL": "http://prometheus/graph", "fingerprint": "fp-{n}"}]}
JSON

# The same, 100 alerts a request (Prometheus batches them): Alertmanager's API and cocpit's
# webhook path, each alert distinct ({n} is the request, the suffix the alert in it).
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
am = [{"labels": {"alertname": "LoadTest", "instance": "host-{n}-%d" % k, "severity": "warning"},
       "annotations": {"summary": "load alert"}, "generatorURL": "http://prometheus/graph"} for k in range(100)]
json.dump(am, open(tmp + "/am100.json", "w"))
co = {"version": "4", "status": "firing", "receiver": "cocpit", "groupLabels": {}, "commonLabels": {},
      "commonAnnotations": {}, "externalURL": "http://alertmanager",
      "alerts": [{"status": "firing", "labels": {"alertname": "LoadTest", "instance": "host-{n}-%d" % k,
                  "severity": "warning"}, "annotations": {"summary": "load alert"},
                  "startsAt": "2024-03-15T08:09:10Z", "generatorURL": "http://prometheus/graph",
                  "fingerprint": "fp-{n}-%d" % k} for k in range(100)]}
json.dump(co, open(tmp + "/co100.json", "w"))
PY
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
row() { printf '%-34s %10s %9s %9s\n' "$@"; }
# Each run measures the four side by side, in turn; every alert of every run is new.
acked=0
: >"$tmp/figures"
for run in $(seq "$RUNS"); do
  first=$(( run * 1000000000 ))
  am=$("$gen" "http://127.0.0.1:$am_port/api/v2/alerts" "$tmp/am.json" "$CONC" "$SECS" "$first")
  co=$("$gen" "$base/v1/event/prometheus/bench" "$tmp/cocpit.json" "$CONC" "$SECS" "$first")
  am100=$("$gen" "http://127.0.0.1:$am_port/api/v2/alerts" "$tmp/am100.json" "$CONC" "$SECS" "$first")
  co100=$("$gen" "$base/v1/event/prometheus/bench" "$tmp/co100.json" "$CONC" "$SECS" "$first")
  echo "run $run of $RUNS (load $(cut -d' ' -f1 /proc/loadavg))"
  row "ingest ($CONC conn, 1 alert/request)" "req/s" "p50 ms" "p99 ms"
  row "Alertmanager 0.25 (in memory)" "$(field "$am" rps)" "$(field "$am" p50_ms)" "$(field "$am" p99_ms)"
  row "cocpit serve (fsync before 200)" "$(field "$co" rps)" "$(field "$co" p50_ms)" "$(field "$co" p99_ms)"
  row "ingest ($CONC conn, 100 alerts/request)" "alerts/s" "p50 ms" "p99 ms"
  row "Alertmanager 0.25 (in memory)" "$(awk -v r="$(field "$am100" rps)" 'BEGIN{printf "%.0f", r*100}')" "$(field "$am100" p50_ms)" "$(field "$am100" p99_ms)"
  row "cocpit serve (fsync before 200)" "$(awk -v r="$(field "$co100" rps)" 'BEGIN{printf "%.0f", r*100}')" "$(field "$co100" p50_ms)" "$(field "$co100" p99_ms)"
  echo "errors: Alertmanager $(( $(field "$am" errors) + $(field "$am100" errors) )), cocpit $(( $(field "$co" errors) + $(field "$co100" errors) ))"
  echo "$(field "$am" rps) $(field "$co" rps) $(field "$am100" rps) $(field "$co100" rps)" >>"$tmp/figures"
  acked=$(( acked + $(field "$co" ok) + 100 * $(field "$co100" ok) ))
done
kill "$srv"; wait "$srv" 2>/dev/null || true

# The median of the runs, with their range; the ratio of each run's pair.
python3 - "$tmp/figures" <<'PY'
import statistics, sys
runs = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
def show(name, xs, unit, fmt="%.0f"):
    print("%-40s median %s %s (%s-%s)" % (name, fmt % statistics.median(xs), unit, fmt % min(xs), fmt % max(xs)))
print("over %d run(s):" % len(runs))
show("1 alert/request: Alertmanager", [r[0] for r in runs], "req/s")
show("1 alert/request: cocpit", [r[1] for r in runs], "req/s")
show("1 alert/request: cocpit / Alertmanager", [r[1] / r[0] for r in runs], "x", "%.2f")
show("100 alerts/request: Alertmanager", [r[2] * 100 for r in runs], "alerts/s")
show("100 alerts/request: cocpit", [r[3] * 100 for r in runs], "alerts/s")
show("100 alerts/request: cocpit / Alertmanager", [r[3] / r[2] for r in runs], "x", "%.2f")
PY

# Every acknowledged alarm is stored (distinct alerts: one row each).
stored=$(python3 - "$tmp/data/alarms.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM alarms").fetchone()[0])
PY
)
echo "cocpit acknowledged $acked alerts, stored $stored"

# The console on what was stored: the alarms pane loaded, then its resident memory.
tmux -S "$tmp/tmux.sock" -f /dev/null new-session -d -x 160 -y 48 -s main
tmux -S "$tmp/tmux.sock" send-keys -t main "$bin --config $tmp/cocpit.toml --init --data $tmp/data" Enter
for _ in $(seq 600); do
  tmux -S "$tmp/tmux.sock" capture-pane -p -t main | grep -q "Scripts" && break
  sleep 0.1
done
tmux -S "$tmp/tmux.sock" send-keys -t main 5
# The console holds the newest alarms up to its limit.
want=$(( stored < 20000 ? stored : 20000 ))
for _ in $(seq 1200); do
  tmux -S "$tmp/tmux.sock" capture-pane -p -t main | grep -q "alarms $want/$want" && break
  sleep 0.1
done
cpid=$(pgrep -f -- "--data $tmp/data" | head -1)
echo "console on $stored stored alarms, $want loaded: RSS $(awk '/VmRSS/ { printf "%.0f MB", $2 / 1024 }' /proc/$cpid/status)"
tmux -S "$tmp/tmux.sock" send-keys -t main q
