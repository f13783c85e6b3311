#!/usr/bin/env bash
# Fan-out benchmark, side by side with peer tools (issue "Local engine …"):
#   local: `echo hello; sleep 0.1` on 200 instances, 20 batches of 10 (ideal 2.0 s) through
#          cocpit, GNU parallel, an xargs -P10 loop, and ansible (serial 10, local connection);
#   ssh:   the same on 50 instances over real ssh to 127.0.0.1 (a throwaway sshd), 10 at a time
#          (ideal 0.5 s), through cocpit (a first run, and a run again on its kept masters),
#          GNU parallel + ssh, xargs -P10 ssh, and pdsh.
# Prints each figure, the ratio to the ideal and to cocpit, and cocpit's peak RSS.
# Usage: benches/fanout.sh   (RUNS=N repeats each fast run N times and takes the median;
#        ONLY=local or ONLY=ssh runs one half)
set -euo pipefail
# The engine runs inside each command here (the figures are those of one process).
export COCPIT_IN_PROCESS=1
cd "$(dirname "$0")/.."
root=$(pwd)
RUNS=${RUNS:-3}
ONLY=${ONLY:-}

need=()
for t in parallel pdsh ansible-playbook sshd; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || need+=("$t")
done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${need[@]}" | sed 's/^ansible-playbook$/ansible/; s/^sshd$/openssh-server/')
  echo "installing: $pkgs"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi
cargo build --release --quiet
bin="$root/target/release/cocpit"

tmp=$(mktemp -d)
sshd_pid=""
cleanup() { [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# time_of CMD...: seconds of one run (output discarded); fails if the command fails.
time_of() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); elapsed "$s" "$e"; }
best_of() { for _ in $(seq "$RUNS"); do time_of "$@"; done | median; }

declare -a rows
row() { rows+=("$(printf '%-34s %8s s  %6s× ideal  %s' "$1" "$2" "$(awk -v t="$2" -v i="$3" 'BEGIN{printf "%.2f", t/i}')" "${4:-}")"); }

SCRIPT='echo hello; sleep 0.1'
echo "$SCRIPT" > "$tmp/job.sh"

if [ "$ONLY" != ssh ]; then
# ---------------------------------------------------------------- local, 200 instances
# Every tool runs the same script file with bash, as cocpit does. (GNU parallel special-cases
# an inline 'echo hello; sleep 0.1': it takes 10 s per call here, the same script as a file 0.2 s.)
printf '[inventory]\ndemo_fleet = 200\n' > "$tmp/local.toml"
hosts=$(seq -f 'demo-%02g' 1 200 | paste -sd, -)
# Only the run is timed: create + list happen before the clock starts.
cocpit_local_timed() {
  rm -rf "$tmp/data"
  "$bin" --config "$tmp/local.toml" --init --data "$tmp/data" script create --name hello --file <(echo "$SCRIPT") >/dev/null
  local uuid s e
  uuid=$("$bin" --config "$tmp/local.toml" --init --data "$tmp/data" -o json script list | sed -n 's/.*"script_uuid": "\(SC[^"]*\)".*/\1/p')
  s=$(now)
  /usr/bin/time -f '%M' -o "$tmp/rss" "$bin" --config "$tmp/local.toml" --init --data "$tmp/data" \
    script run "$uuid" --hosts "$hosts" --batch-size 10 >/dev/null 2>&1
  e=$(now)
  elapsed "$s" "$e"
}
echo "== local: 200 instances, 20 batches of 10, ideal 2.0 s"
cocpit_l=$(for _ in $(seq "$RUNS"); do cocpit_local_timed; done | median)
rss_kb=$(cat "$tmp/rss")
row "cocpit (20 batches of 10)" "$cocpit_l" 2.0 "peak RSS $((rss_kb / 1024)) MB"

parallel_batches() { for _ in $(seq 20); do parallel --will-cite -j10 bash "$tmp/job.sh" ::: $(seq 10) </dev/null; done; }
par_b=$(best_of parallel_batches)
row "GNU parallel (20 calls of -j10)" "$par_b" 2.0
par_s() { parallel --will-cite -j10 bash "$tmp/job.sh" ::: $(seq 200) </dev/null; }
par_1=$(best_of par_s)
row "GNU parallel (-j10, no batches)" "$par_1" 2.0
xargs_loop() { for _ in $(seq 20); do seq 10 | xargs -P10 -I{} bash "$tmp/job.sh"; done; }
xa=$(best_of xargs_loop)
row "xargs -P10 loop (20 batches)" "$xa" 2.0

{ echo "[all]"; for i in $(seq -f '%03g' 1 200); do echo "h$i ansible_connection=local ansible_python_interpreter=/usr/bin/python3"; done; } > "$tmp/inventory"
cat > "$tmp/play.yml" <<EOF
- hosts: all
  gather_facts: false
  serial: 10
  tasks:
    - shell: "$SCRIPT"
EOF
ansible_run() { ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 ansible-playbook -i "$tmp/inventory" -f 10 "$tmp/play.yml"; }
ans=$(time_of ansible_run)
row "ansible (serial 10, local)" "$ans" 2.0

fi

if [ "$ONLY" != local ]; then
# ---------------------------------------------------------------- ssh, 50 instances
echo "== ssh: 50 instances over ssh to 127.0.0.1, 10 at a time, ideal 0.5 s"
mkdir -p "$tmp/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh/client_key"
cp "$tmp/ssh/client_key.pub" "$tmp/ssh/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/ssh/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $tmp/ssh/host_key
AuthorizedKeysFile $tmp/ssh/authorized_keys
PidFile $tmp/ssh/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin yes
MaxStartups 200
MaxSessions 200
LogLevel ERROR
EOF
/usr/sbin/sshd -D -e -f "$tmp/ssh/sshd_config" 2>/dev/null &
sshd_pid=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done
# Every tool logs in as the same user. As root, that is a throwaway user with the system's stock
# shell profile, as on a typical host (this user's own ~/.bashrc may run anything per login, and
# every ssh session pays it); otherwise the current user.
user=${USER:-root}
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
  id cocpit-bench >/dev/null 2>&1 || useradd -m -s /bin/bash -p '*' cocpit-bench
  user=cocpit-bench
  chmod 755 "$tmp" "$tmp/ssh"
  chmod 644 "$tmp/ssh/authorized_keys"
fi
echo "(logging in as $user)"
{
  for i in $(seq -f '%02g' 1 50); do
    printf 'Host h%s\n  HostName 127.0.0.1\n  Port %s\n  User %s\n' "$i" "$port" "$user"
  done
  printf 'Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n' "$tmp/ssh/client_key"
} > "$tmp/ssh/config"
{
  echo "[inventory]"
  echo "demo_fleet = 0"
  for i in $(seq -f '%02g' 1 50); do
    printf '[[inventory.hosts]]\nid = "h%s"\ntransport = "ssh"\ndestination = "h%s"\nssh_options = ["-F", "%s"]\n' "$i" "$i" "$tmp/ssh/config"
  done
} > "$tmp/ssh.toml"
ssh_hosts=$(seq -f 'h%02g' 1 50 | paste -sd, -)
# One engine process per data dir (as a user has it): the first run opens the masters, the
# second, within [ssh] keep, reuses them.
cocpit_ssh_pair() {
  local d="$tmp/sdata" uuid s m e
  COCPIT_IN_PROCESS= "$bin" --config "$tmp/ssh.toml" --data "$d" engine stop >/dev/null 2>&1 || true
  rm -rf "$d"
  COCPIT_IN_PROCESS= "$bin" --config "$tmp/ssh.toml" --init --data "$d" script create --name hello --file <(echo "$SCRIPT") >/dev/null
  uuid=$(COCPIT_IN_PROCESS= "$bin" --config "$tmp/ssh.toml" --data "$d" -o json script list | sed -n 's/.*"script_uuid": "\(SC[^"]*\)".*/\1/p')
  s=$(now)
  COCPIT_IN_PROCESS= "$bin" --config "$tmp/ssh.toml" --data "$d" script run "$uuid" --hosts "$ssh_hosts" --batch-size 10 >/dev/null 2>&1
  m=$(now)
  COCPIT_IN_PROCESS= "$bin" --config "$tmp/ssh.toml" --data "$d" script run "$uuid" --hosts "$ssh_hosts" --batch-size 10 >/dev/null 2>&1
  e=$(now)
  COCPIT_IN_PROCESS= "$bin" --config "$tmp/ssh.toml" --data "$d" engine stop >/dev/null 2>&1
  echo "$(elapsed "$s" "$m") $(elapsed "$m" "$e")"
}
pairs=$(for _ in $(seq "$RUNS"); do cocpit_ssh_pair; done)
cocpit_s=$(echo "$pairs" | awk '{print $1}' | median)
cocpit_w=$(echo "$pairs" | awk '{print $2}' | median)
row "cocpit ssh, first run (5×10)" "$cocpit_s" 0.5 "runs: $(echo "$pairs" | awk '{print $1}' | paste -sd' ')"
row "cocpit ssh, run again (kept)" "$cocpit_w" 0.5 "runs: $(echo "$pairs" | awk '{print $2}' | paste -sd' ')"
par_ssh() { parallel --will-cite -j10 ssh -F "$tmp/ssh/config" {} "'$SCRIPT'" ::: $(seq -f 'h%02g' 1 50) </dev/null; }
ps_=$(best_of par_ssh)
row "GNU parallel + ssh (-j10)" "$ps_" 0.5
xargs_ssh() { seq -f 'h%02g' 1 50 | xargs -P10 -I{} ssh -F "$tmp/ssh/config" {} "$SCRIPT"; }
xs=$(best_of xargs_ssh)
row "xargs -P10 ssh" "$xs" 0.5
pdsh_run() { PDSH_SSH_ARGS="-F $tmp/ssh/config %h" pdsh -R ssh -f 10 -w "h[01-50]" "$SCRIPT"; }
pd=$(best_of pdsh_run)
row "pdsh -R ssh (-f 10)" "$pd" 0.5

fi

echo
printf '%s\n' "${rows[@]}"
echo
if [ "$ONLY" != ssh ]; then
  awk -v c="$cocpit_l" -v a="$ans" -v p="$par_b" -v x="$xa" 'BEGIN {
    printf "local: cocpit is %.2f× the ideal, %.2f× the time of the xargs loop, %.1f× faster than ansible, %.2f× the time of GNU parallel in batches\n", c / 2.0, c / x, a / c, c / p }'
  echo "orchestrator peak RSS (local run): $((rss_kb / 1024)) MB"
fi
if [ "$ONLY" != local ]; then
  fastest_ssh=$(printf '%s\n%s\n%s\n' "$ps_" "$pd" "$xs" | sort -n | head -1)
  awk -v c="$cocpit_s" -v w="$cocpit_w" -v f="$fastest_ssh" -v p="$pd" 'BEGIN {
    printf "ssh:   first run %.2f× the time of the fastest peer (%+.0f %%), %.2f× pdsh; run again %.1f× faster than pdsh, %.0f ms per instance\n", c / f, (c / f - 1) * 100, c / p, p / w, w * 1000 / 50 }'
fi
