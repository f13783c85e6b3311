#!/usr/bin/env bash
# Idle benchmark (issue "The console"): the console in a real terminal (tmux), an order open
# whose instances are running but silent, nothing else happening. Counts the frames drawn
# over 10 s (the console writes its frame count to $COCPIT_TEST_FRAMES) and the CPU time the
# process used meanwhile. Target: zero frames. The header clock is the one thing that may wake
# it: at most one frame when a minute boundary falls inside the window (reported).
# Usage: benches/idle.sh
set -euo pipefail
# The engine runs inside each command here (the figures are those of one process).
export COCPIT_IN_PROCESS=1
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
cargo build --release --quiet
bin="$(pwd)/target/release/cocpit"
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
cleanup() { tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

printf '[inventory]\ndemo_fleet = 2\n' >"$tmp/config.toml"
printf 'sleep 60\n' >"$tmp/quiet.sh"
base="$bin --config $tmp/config.toml --init --data $tmp/data"
$base script create --name quiet --file "$tmp/quiet.sh" >/dev/null

tmux -S "$sock" -f /dev/null new-session -d -x 160 -y 48 -s main
tmux -S "$sock" send-keys -t main "COCPIT_TEST_FRAMES=$tmp/frames $base" Enter
wait_for() {
  for _ in $(seq 600); do
    tmux -S "$sock" capture-pane -p -t main | grep -q "$1" && return 0
    sleep 0.05
  done
  echo "screen never showed $1" >&2; tmux -S "$sock" capture-pane -p -t main >&2; exit 1
}
wait_for quiet
tmux -S "$sock" send-keys -t main r
wait_for "plan is valid"
tmux -S "$sock" send-keys -t main Enter
wait_for "0/2 done"
# Let the start settle (the order's first events), then measure a quiet window.
sleep 2
pid=$(pgrep -f -- "--data $tmp/data" | head -1)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
f0=$(cat "$tmp/frames"); c0=$(ticks); m0=$(date +%M)
sleep 10
f1=$(cat "$tmp/frames"); c1=$(ticks); m1=$(date +%M)
hz=$(getconf CLK_TCK)
echo "frames drawn in 10 s idle with a live order open: $((f1 - f0))"
awk -v c="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "CPU used meanwhile: %.2f s (%.1f%%)\n", c / hz, 100 * c / hz / 10 }'
[ "$m0" != "$m1" ] && echo "(a minute boundary fell inside the window: the clock may draw one frame)"
tmux -S "$sock" send-keys -t main X
wait_for "Cancel order"
tmux -S "$sock" send-keys -t main y q
