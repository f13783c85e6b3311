#!/usr/bin/env bash
# Runs ../shared/conformance/run_sdk_suite.py against a freshly started `cocpit serve`.
# Usage: run_shared_suite.sh CONFORMANCE_DIR   (needs COCPIT_SDK_PYTHON, a venv with the SDKs)
set -euo pipefail
conf="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/target/debug/cocpit"
py="${COCPIT_SDK_PYTHON:?set COCPIT_SDK_PYTHON to a python with the official SDKs}"
tmp=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

export COCPIT_SERVE_AK=CONFAK00000000000001
export COCPIT_SERVE_SK=confSecretKey00000000000000000000000001
export COCPIT_SERVE_PROJECT_ID=0a1b2c3d4e5f60718293a4b5c6d7e8f9
export COCPIT_SERVE_TC_SECRET_ID=AKIDconf00000000000000000000000000001
export COCPIT_SERVE_TC_SECRET_KEY=confTencentKey00000000000000001
# The demo fleet, keys from the environment, and the suite's alarm integration.
cat > "$tmp/config.toml" <<'TOML'
[[serve.integrations]]
key = "cocpit-conformance"
name = "conformance"
kind = "custom"
TOML
COCPIT_AGENT_HOME="$tmp/agents" "$bin" serve --listen 127.0.0.1:0 --init --data "$tmp/data" --config "$tmp/config.toml" > "$tmp/out" 2> "$tmp/err" &
srv=$!
# Wait for the first line (the server prints it once it accepts connections).
while ! grep -q '^listening on ' "$tmp/out"; do
  if ! kill -0 "$srv" 2>/dev/null; then cat "$tmp/err"; echo "cocpit serve exited"; exit 1; fi
  sleep 0.1  # polling for the condition above, not a fixed delay
done
base=$(sed -n 's/^listening on //p' "$tmp/out")
groups="${COCPIT_CONFORMANCE_GROUPS:-resources,scripts,orders,negatives_scripts,negatives_auth,incidents,alarms,ces_agents,workspace,tat_invokers}"
# The TAT group needs a command to schedule: make one with CreateCommand first.
cmd_id=$("$py" "$root/tests/sdk/tat_command.py" "$base" "$COCPIT_SERVE_TC_SECRET_ID" "$COCPIT_SERVE_TC_SECRET_KEY")
cd "$conf"
"$py" run_sdk_suite.py --base-url "$base" --ak "$COCPIT_SERVE_AK" --sk "$COCPIT_SERVE_SK" \
  --project-id "$COCPIT_SERVE_PROJECT_ID" --tc-secret-id "$COCPIT_SERVE_TC_SECRET_ID" \
  --tc-secret-key "$COCPIT_SERVE_TC_SECRET_KEY" --tat-command-id "$cmd_id" --only "$groups" --poll-timeout 60 | tee "$tmp/suite.log"
tail -1 "$tmp/suite.log" | grep -Eq '^[0-9]+ passed, 0 failed$'
