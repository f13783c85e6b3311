#!/usr/bin/env bash
# Peak memory of `cocpit serve` under hostile connections (issue "Safe to put on a network"):
#   1. 1 500 uploads that declare 2 MB, send 60 kB of it and stall (no credentials);
#   2. 20 000 connections that connect and send nothing.
# Prints the server's RSS and peak (VmHWM) after each step, and how long a normal request takes
# meanwhile. Loopback only; every loop is bounded in count and time.
set -euo pipefail
# The engine runs inside each command here (the figures are those of one process).
export COCPIT_IN_PROCESS=1
cd "$(dirname "$0")/.."
bin=target/release/cocpit
[ -x "$bin" ] || cargo build --release --quiet
tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
printf '[inventory]\ndemo_fleet = 1\n' > "$tmp/c.toml"
COCPIT_SERVE_AK=BENCHAK COCPIT_SERVE_SK=bench-secret "$bin" serve --listen 127.0.0.1:0 \
  --config "$tmp/c.toml" --init --data "$tmp/d" > "$tmp/out" 2>/dev/null &
srv=$!
for _ in $(seq 200); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.05; done
addr=$(sed -n 's|listening on http://||p' "$tmp/out")
echo "cocpit serve at $addr (defaults: max_connections 512, header_timeout 10 s, body_timeout 30 s)"
python3 - "$addr" "$srv" <<'PY'
import resource, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
# Our own descriptors bound how many connections this client can hold.
room = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200
port, pid = int(port), sys.argv[2]

def mem():
    f = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
    mb = lambda k: int(f[k].split()[0]) / 1024
    return f"RSS {mb('VmRSS'):.0f} MB, peak {mb('VmHWM'):.0f} MB"

def probe():
    t0 = time.time()
    try:
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /v1/job/scripts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first = s.recv(16)
        s.close()
        return f"a normal request: {first[:12].decode(errors='replace')!r} in {1000*(time.time()-t0):.0f} ms"
    except OSError as e:
        return f"a normal request failed: {e}"

def hold(n, payload, label):
    socks, refused, t0 = [], 0, time.time()
    for _ in range(n):
        if time.time() - t0 > 90:
            break
        try:
            s = socket.create_connection((host, port), timeout=2)
            if payload:
                s.sendall(payload)
            socks.append(s)
        except OSError:
            refused += 1
    time.sleep(2)
    answered = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(65536)
            answered += 1  # a 503/413/408, or closed
        except BlockingIOError:
            pass
        except OSError:
            answered += 1
    print(f"{label}: {len(socks)} opened, {refused} refused at connect, {answered} answered at once "
          f"(503 over the cap) or closed; "
          f"server {mem()}; {probe()}")
    return socks

print(f"idle server: {mem()}")
head = (b"POST /v1/event/huawei/custom/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2000000\r\n\r\n[" + b" " * 60000)
for s in hold(1500, head, "1 500 stalled uploads"):
    s.close()
time.sleep(1)
print(f"after they closed: {mem()}")
n = min(20000, room)
for s in hold(n, b"", f"{n} idle connections"):
    s.close()
time.sleep(1)
print(f"after they closed: {mem()}")
PY
