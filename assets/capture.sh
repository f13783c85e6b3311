#!/usr/bin/env bash
# Screen captures of the console for the README: a real tmux at 120×32 drives cocpit on a local
# engine (demo fleet), and each capture (`tmux capture-pane -e`) is rendered to SVG by
# ansi2svg.py. Usage: assets/capture.sh   (writes assets/*.svg)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin cocpit
bin="$(pwd)/target/debug/cocpit"
out="$(pwd)/assets"
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
cleanup() { tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
export COCPIT_IN_PROCESS=1
cfg="$tmp/config.toml"
printf '[inventory]\ndemo_fleet = 8\n' > "$cfg"
c() { "$bin" --config "$cfg" --init --data "$tmp/data" "$@" >/dev/null; }
# What an SRE's morning looks like: a few scripts, alarms from monitoring, an incident.
printf '#!/bin/bash\nset -euo pipefail\necho "deploying web $(hostname)"\nsleep 0.3\necho "health check ok"\n' > "$tmp/deploy.sh"
printf 'echo rotating\n' > "$tmp/rotate.sh"
c script create --name deploy_web --file "$tmp/deploy.sh" --risk-level HIGH --version 2.4.1
c script create --name rotate_logs --file "$tmp/rotate.sh"
c script create --name db_backup --file "$tmp/rotate.sh" --risk-level MEDIUM
c alarm push --id cpu-1 --name "CPU above 95%" --level Critical --application web --resource web-03 --description "cpu 97% for 5 min"
c alarm push --id disk-2 --name "Disk /var 91%" --level Major --application db --resource db-01 --description "/var at 91%"
c alarm push --id lat-3 --name "p99 latency 800ms" --level Minor --application api --resource api-02 --description "p99 above SLO"

tmux -S "$sock" -f /dev/null new-session -d -x 120 -y 32 -s main -e COCPIT_IN_PROCESS=1
send() { tmux -S "$sock" send-keys -t main "$@"; }
wait_for() {
  for _ in $(seq 300); do
    tmux -S "$sock" capture-pane -p -t main | grep -qF -- "$1" && return 0
    sleep 0.05
  done
  echo "never saw: $1" >&2; tmux -S "$sock" capture-pane -p -t main >&2; exit 1
}
shot() {
  tmux -S "$sock" capture-pane -e -p -t main | python3 "$out/ansi2svg.py" 120 32 > "$out/$1.svg"
  echo "assets/$1.svg"
}
send -l "$bin --config $cfg --data $tmp/data"; send Enter
wait_for "deploy_web"
shot scripts
# Run deploy_web (the oldest: G) on the 8 demo hosts, 4 at a time, pausing after the first batch.
send G; send r; wait_for "type the script name"
# Batches of 4, PAUSE after each; a HIGH-risk script is confirmed by typing its name.
send BSpace BSpace 4 Tab Space Tab Tab Tab Tab
send -l deploy_web; wait_for "plan is valid"
send Enter
wait_for "paused after batch 1"
shot order-paused
send c; wait_for "finished"
shot order-finished
send 5; wait_for "CPU above 95%"
shot alarms
send q
