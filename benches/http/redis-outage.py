#!/usr/bin/env python3
"""The Redis outage probe of docs/reliability.md ("Store outages and restarts"):

    cargo build -p crm
    python3 benches/http/redis-outage.py target/debug/crm closed 10
    python3 benches/http/redis-outage.py target/debug/crm open 10

Starts a private redis-server on a free port (no persistence) and a crm on it (SQLite in a
temporary folder, the superuser made at start), logs in, then kills Redis for OUTAGE seconds
while one client sends DELETE /api/customers/<unknown id> (a sensitive route: the revocation
check runs first) in a loop, restarts Redis, waits until the route is checked by Redis
again, then logs in (the session store's first call since the restart). Prints the statuses
and latencies during the outage, how long after the restart the route was checked again, the
status of that login, and the crm's log lines (WARN/ERROR/INFO, request lines left out) from the
outage on. Loopback only; bounded by OUTAGE seconds and 100 000 requests.

Needs: python3 (standard library only), redis-server.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

crm, policy, outage = sys.argv[1], sys.argv[2], float(sys.argv[3])
PASSWORD = "a probe password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


work = tempfile.mkdtemp(prefix="crm-outage-")
redis_port = free_port()


def start_redis():
    server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", work],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


redis = start_redis()
port = free_port()
log_path = os.path.join(work, "crm.log")
log = open(log_path, "w")
app = subprocess.Popen(
    [crm, "--listen", f"127.0.0.1:{port}",
     "--database-url", f"sqlite://{work}/crm.db?mode=rwc",
     "--redis-url", f"redis://127.0.0.1:{redis_port}/",
     "--revocation-failure", policy,
     "--admin-email", "root@example.com", "--admin-password", PASSWORD,
     "--login-rate", "1000/min"],
    stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "CRM_LOG": "info"})
base = f"http://127.0.0.1:{port}"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/health", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
login = urllib.request.Request(
    base + "/api/auth/login",
    data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
    headers={"content-type": "application/json"})
token = json.load(urllib.request.urlopen(login, timeout=5))["access"]


def call():
    request = urllib.request.Request(
        base + "/api/customers/00000000-0000-0000-0000-000000000000", method="DELETE",
        headers={"authorization": "Bearer " + token})
    started = time.monotonic()
    try:
        status = urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


print("before the outage: status %d" % call()[0])
log.flush()
mark = os.path.getsize(log_path)
redis.kill()
redis.wait()
end = time.monotonic() + outage
latencies, statuses = [], {}
while time.monotonic() < end and len(latencies) < 100_000:
    status, took = call()
    latencies.append(took)
    statuses[status] = statuses.get(status, 0) + 1
redis = start_redis()
restarted = time.monotonic()
first = None
while time.monotonic() - restarted < 15:
    status, _ = call()
    first = first or status
    if status == 404 and (policy == "closed" or "answers again: outage over" in open(log_path).read()):
        break
    time.sleep(0.01)
served = time.monotonic() - restarted
# The session store's first call since the restart: a login (it creates a session).
try:
    login_status = urllib.request.urlopen(login, timeout=10).status
except urllib.error.HTTPError as error:
    login_status = error.code
time.sleep(0.5)
app.terminate()
app.wait()
redis.kill()
redis.wait()

ansi = re.compile(r"\x1b\[[0-9;]*m")
lines = [ansi.sub("", line) for line in open(log_path).read()[mark:].splitlines()]
lines = [line for line in lines if "crm::http" not in line]
latencies.sort()
ms = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000
print(f"policy={policy} outage={outage}s requests={len(latencies)} statuses={statuses}")
print(f"latency during the outage: p50={ms(0.5):.1f} ms p99={ms(0.99):.1f} ms max={ms(1):.1f} ms")
print(f"after the restart: first status {first}, checked by Redis again after {served:.2f} s (15 s: not seen)")
print(f"the first login after the restart (the session store's first call): {login_status}")
counts = {level: sum(f" {level} " in line for line in lines) for level in ("WARN", "ERROR", "INFO")}
print(f"log lines from the outage on: {counts}")
for line in lines:
    print("   " + line[:200])
