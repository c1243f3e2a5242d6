#!/usr/bin/env python3
"""A bounded soak of the local cluster: mixed load through HAProxy, one table row a minute.

Starts the cluster (run-cluster.sh beside this script) or attaches to one already running
(--attach), then for --minutes runs, from a few threads through HAProxy: logins, refreshes
(rotation), reads and writes of customers, logouts (revocations) and role changes by an
admin, each followed by the user's next sensitive request, which must see the change.

Every minute it samples each crm process (VmRSS from /proc/<pid>/status, the number of
entries of /proc/<pid>/fd) and, over the minute's requests, their count, p50 and p99
latency, 5xx answers, transport errors and answers other than the expected one. It prints
a row a minute, then a Markdown table and a verdict. Exit code 1 on any 5xx, transport
error or unexpected answer; 2 when the cluster cannot be started or reached.

Python 3.11 standard library only. docs/reliability.md, "Soak: the cluster under mixed
load", describes a run.
"""

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
NO_SUCH_CUSTOMER = "00000000-0000-0000-0000-000000000000"
# How long another instance may still accept a token after a change, in seconds: the local
# revocation cache's documented propagation bound (docs/revocation-redis.md).
PROPAGATION_BOUND = 2.0


class Stats:
    """Request outcomes of the current minute, shared by the load threads."""

    def __init__(self):
        self.lock = threading.Lock()
        # Role changes whose old token another instance still accepted for a moment (within
        # PROPAGATION_BOUND): counted over the whole run, not an error.
        self.seen_late = 0
        self.reset()

    def reset(self):
        self.latencies = []
        self.server_errors = 0
        self.transport_errors = 0
        self.unexpected = 0
        self.role_checks = 0

    def take(self):
        """The minute's outcomes, and a fresh minute."""
        with self.lock:
            taken = (
                self.latencies,
                self.server_errors,
                self.transport_errors,
                self.unexpected,
                self.role_checks,
            )
            self.reset()
        return taken


class Failure(Exception):
    """A request that did not get the expected answer: the thread starts its cycle again."""


class Client:
    """One persistent HTTP connection to HAProxy; every request is measured into Stats."""

    def __init__(self, host, port, stats, log):
        self.host, self.port, self.stats, self.log = host, port, stats, log
        self.conn = None

    def request(self, method, path, route, expect, token=None, body=None):
        """Send a request; return (status, json body). `route` names it in messages (never
        the path, which may hold ids, nor a token). A status not in `expect` raises Failure."""
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            with self.stats.lock:
                self.stats.transport_errors += 1
            self.log(f"transport error: {method} {route}: {type(error).__name__}: {error}")
            raise Failure() from error
        elapsed = time.monotonic() - started
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        with self.stats.lock:
            self.stats.latencies.append(elapsed)
            if status >= 500:
                self.stats.server_errors += 1
            elif status not in expect:
                self.stats.unexpected += 1
        if status not in expect:
            code = parsed.get("code") if isinstance(parsed, dict) else None
            self.log(f"unexpected: {method} {route}: {status} {code} (expected {sorted(expect)})")
            raise Failure()
        return status, parsed

    def close(self):
        if self.conn is not None:
            self.conn.close()


def code_of(body):
    return body.get("code") if isinstance(body, dict) else None


def login(client, username, password):
    _, pair = client.request(
        "POST", "/api/auth/login", "/api/auth/login", {200},
        body={"username": username, "password": password, "device_info": "soak"},
    )
    return pair["access"], pair["refresh"]


def refresh(client, refresh_token):
    _, pair = client.request(
        "POST", "/api/auth/token/refresh", "/api/auth/token/refresh", {200},
        body={"refresh": refresh_token},
    )
    return pair["access"], pair["refresh"]


def worker(client, username, password, pause, stop, log):
    """A user with the `manager` role, in a loop: log in; five rounds of create, read, change,
    list and delete a customer, with a refresh after the third; read /me; log out; then
    check that the logged-out access and refresh tokens are refused."""

    def step():
        if pause:
            time.sleep(pause)

    while not stop.is_set():
        try:
            access, refresh_token = login(client, username, password)
            for round_ in range(5):
                if stop.is_set():
                    return
                step()
                _, customer = client.request(
                    "POST", "/api/customers", "/api/customers", {201}, access,
                    {"name": f"Soak {secrets.token_hex(4)}", "email": f"c{secrets.token_hex(4)}@soak.example"},
                )
                path = "/api/customers/" + customer["id"]
                step()
                client.request("GET", path, "/api/customers/{id}", {200}, access)
                step()
                client.request("PATCH", path, "/api/customers/{id}", {200}, access, {"notes": "soak"})
                step()
                client.request("GET", "/api/customers?limit=20", "/api/customers", {200}, access)
                step()
                client.request("DELETE", path, "/api/customers/{id}", {204}, access)
                if round_ == 2:
                    step()
                    access, refresh_token = refresh(client, refresh_token)
            step()
            client.request("GET", "/api/auth/me", "/api/auth/me", {200}, access)
            step()
            client.request("POST", "/api/auth/logout", "/api/auth/logout", {204}, access,
                           {"refresh": refresh_token})
            # The revocation, seen by whichever instance answers next.
            step()
            _, body = client.request("POST", "/api/auth/logout", "/api/auth/logout (logged out)",
                                     {401}, access)
            step()
            client.request("POST", "/api/auth/token/refresh", "/api/auth/token/refresh (logged out)",
                           {401}, body={"refresh": refresh_token})
        except Failure:
            time.sleep(0.5)


def role_changer(client, stats, admin, probe, password, pause, stop, log):
    """The admin flips the probe user between `sales` and `manager`; the probe's next
    sensitive request with its old token must be 401 `stale_claims`, and after a refresh
    DELETE /api/customers/{id} must be 404 (manager: allowed, no such customer) or 403
    (sales: no customer:delete)."""
    admin_access, admin_refresh = admin["access"], admin["refresh"]
    probe_access, probe_refresh = probe["access"], probe["refresh"]
    role = "sales"
    delete_path = "/api/customers/" + NO_SUCH_CUSTOMER
    while not stop.is_set():
        try:
            time.sleep(max(pause * 20, 1.0))
            role = "manager" if role == "sales" else "sales"
            client.request(
                "PUT", f"/api/admin/users/{probe['id']}/roles", "/api/admin/users/{id}/roles",
                {200}, admin_access, {"roles": [role]},
            )
            # Another instance learns of the change through Redis: within the documented
            # propagation bound of the local cache (PROPAGATION_BOUND), the old token may
            # still be accepted there (404/403); past it, that is an error.
            changed = time.monotonic()
            while True:
                status, body = client.request(
                    "DELETE", delete_path, "/api/customers/{id} (stale token)",
                    {401, 403, 404}, probe_access,
                )
                if status == 401:
                    break
                if time.monotonic() - changed > PROPAGATION_BOUND:
                    with stats.lock:
                        stats.unexpected += 1
                    log("unexpected: the stale token was still accepted "
                        f"{PROPAGATION_BOUND} s after the role change")
                    raise Failure()
                with stats.lock:
                    stats.seen_late += 1
                time.sleep(0.005)
            if code_of(body) != "stale_claims":
                with stats.lock:
                    stats.unexpected += 1
                log(f"unexpected: the stale token was refused with {code_of(body)}, not stale_claims")
            probe_access, probe_refresh = refresh(client, probe_refresh)
            client.request("DELETE", delete_path, f"/api/customers/{{id}} (as {role})",
                           {404} if role == "manager" else {403}, probe_access)
            with stats.lock:
                stats.role_checks += 1
            admin_access, admin_refresh = refresh(client, admin_refresh)
        except Failure:
            # Start again with fresh sessions and the role the database has now.
            time.sleep(0.5)
            try:
                admin_access, admin_refresh = login(client, admin["username"], password)
                probe_access, probe_refresh = login(client, probe["username"], password)
                _, me = client.request("GET", "/api/auth/me", "/api/auth/me", {200}, probe_access)
                role = "manager" if "manager" in me["user"]["roles"] else "sales"
            except (Failure, KeyError, TypeError):
                pass


def crm_pids(ports):
    """The pid of the crm process listening on each port (its command line has
    `--listen 127.0.0.1:<port>`), or None."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        for i, arg in enumerate(argv[:-1]):
            if arg == b"--listen":
                listen = argv[i + 1].decode(errors="replace")
                for port in ports:
                    if listen == f"127.0.0.1:{port}":
                        found[port] = int(entry)
    return [found.get(port) for port in ports]


def sample(pid):
    """(RSS in MiB, open descriptors) of a process, or (None, None) when it is gone."""
    if pid is None:
        return None, None
    try:
        with open(f"/proc/{pid}/status") as f:
            rss_kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None, None
    return rss_kib / 1024, fds


def percentile(values, q):
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def wait_healthy(host, port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return True
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=20, help="how long the load runs (default 20)")
    parser.add_argument("--threads", type=int, default=4,
                        help="user threads, besides the one changing roles (default 4)")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="seconds each thread waits between requests (default 0.05)")
    parser.add_argument("--attach", action="store_true",
                        help="use a cluster already running at --lb-port/--base-port instead of starting one")
    parser.add_argument("--lb-port", type=int, default=28080, help="HAProxy's port (default 28080)")
    parser.add_argument("--stats-port", type=int, default=28404,
                        help="HAProxy's statistics port, when started here (default 28404)")
    parser.add_argument("--base-port", type=int, default=28081,
                        help="the first instance's port; the two others follow (default 28081)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/soak",
                        help="when started here (default postgres://postgres@127.0.0.1:5432/soak)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379",
                        help="when started here (default redis://127.0.0.1:6379)")
    parser.add_argument("--cluster-log", default="soak-cluster.log",
                        help="where the started cluster's output goes (default soak-cluster.log)")
    parser.add_argument("--markdown", help="also write the final table and verdict to this file")
    args = parser.parse_args()
    if args.minutes < 2:
        parser.error("--minutes must be at least 2 (the verdict compares the last minute with the 2nd)")
    if args.threads < 1:
        parser.error("--threads must be at least 1")

    host = "127.0.0.1"
    ports = [args.base_port + i for i in range(3)]
    print_lock = threading.Lock()

    def log(message):
        with print_lock:
            print(f"{datetime.now(timezone.utc):%H:%M:%S} {message}", file=sys.stderr, flush=True)

    cluster = None
    if not args.attach:
        prefix = f"soak-{secrets.token_hex(4)}:"
        env = dict(os.environ)
        env.update({
            "CRM_BIN": env.get("CRM_BIN", ""),
            "CLUSTER_DATABASE_URL": args.database_url,
            "CLUSTER_REDIS_URL": args.redis_url,
            "CLUSTER_REDIS_PREFIX": prefix,
            "CLUSTER_LB_PORT": str(args.lb_port),
            "CLUSTER_STATS_PORT": str(args.stats_port),
            "CLUSTER_BASE_PORT": str(args.base_port),
            # The load logs in many times from one address.
            "CRM_LOGIN_RATE": env.get("CRM_LOGIN_RATE", "1000/s"),
        })
        log(f"starting the cluster (Redis prefix {prefix}, HAProxy on {args.lb_port}); output in {args.cluster_log}")
        cluster_log = open(args.cluster_log, "wb")
        cluster = subprocess.Popen(
            ["bash", os.path.join(HERE, "run-cluster.sh")], env=env,
            stdout=cluster_log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def stop_cluster():
        if cluster is None or cluster.poll() is not None:
            return
        log("stopping the cluster")
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()

    try:
        return run(args, host, ports, log, cluster)
    finally:
        stop_cluster()


def run(args, host, ports, log, cluster):
    if not wait_healthy(host, args.lb_port, 180):
        log(f"no healthy cluster behind 127.0.0.1:{args.lb_port}")
        return 2
    pids = crm_pids(ports)
    if None in pids:
        log(f"no crm process found listening on each of {ports}: {pids}")
        return 2
    log(f"crm processes: {dict(zip(ports, pids))}")

    stats = Stats()
    setup = Client(host, args.lb_port, stats, log)
    tag = secrets.token_hex(4)
    password = "soak-" + secrets.token_hex(12)
    try:
        _, admin = setup.request(
            "POST", "/api/auth/register", "/api/auth/register", {201},
            body={"username": f"soak{tag}", "email": f"soak{tag}@soak.example",
                  "password": password, "organization": f"Soak {tag}"},
        )
        users = []
        for i in range(args.threads + 1):
            name = f"soak{tag}u{i}"
            _, user = setup.request(
                "POST", "/api/admin/users", "/api/admin/users", {201}, admin["access"],
                {"username": name, "email": f"{name}@soak.example", "password": password,
                 "roles": ["manager"] if i < args.threads else ["sales"]},
            )
            users.append((name, user["id"]))
        probe_name, probe_id = users[-1]
        probe_access, probe_refresh = login(setup, probe_name, password)
    except Failure:
        log("the setup failed")
        return 1
    setup.close()
    admin_pair = {"username": f"soak{tag}", "access": admin["access"], "refresh": admin["refresh"]}
    probe = {"id": probe_id, "username": probe_name, "access": probe_access, "refresh": probe_refresh}
    stats.take()  # the setup's requests are not part of the first minute

    stop = threading.Event()
    clients = []
    threads = []
    for name, _ in users[:-1]:
        client = Client(host, args.lb_port, stats, log)
        clients.append(client)
        threads.append(threading.Thread(target=worker, args=(client, name, password, args.pause, stop, log)))
    client = Client(host, args.lb_port, stats, log)
    clients.append(client)
    threads.append(threading.Thread(target=role_changer,
                                    args=(client, stats, admin_pair, probe, password, args.pause, stop, log)))

    header = ["minute", "time (UTC)", "requests", "p50 ms", "p99 ms", "5xx", "transport errors",
              "unexpected", "role checks"]
    header += [f"RSS MiB crm{i + 1}" for i in range(3)] + [f"fds crm{i + 1}" for i in range(3)]
    rows = []
    print(" | ".join(header), flush=True)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for minute in range(1, args.minutes + 1):
            time.sleep(max(0.0, started + 60 * minute - time.monotonic()))
            latencies, server_errors, transport_errors, unexpected, role_checks = stats.take()
            samples = [sample(pid) for pid in pids]
            row = [
                str(minute), f"{datetime.now(timezone.utc):%H:%M}", str(len(latencies)),
                fmt(percentile([x * 1000 for x in latencies], 50)),
                fmt(percentile([x * 1000 for x in latencies], 99)),
                str(server_errors), str(transport_errors), str(unexpected), str(role_checks),
            ]
            row += [fmt(rss) for rss, _ in samples] + [fmt(fds, 0) for _, fds in samples]
            rows.append((row, latencies, server_errors, transport_errors, unexpected, role_checks, samples))
            print(" | ".join(row), flush=True)
            if cluster is not None and cluster.poll() is not None:
                log("the cluster exited")
                break
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for client in clients:
            client.close()

    return report(args, rows, header, stats)


def report(args, rows, header, stats):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row, *_ in rows]
    server_errors = sum(r[2] for r in rows)
    transport_errors = sum(r[3] for r in rows)
    unexpected = sum(r[4] for r in rows)
    role_checks = sum(r[5] for r in rows)
    requests = sum(len(r[1]) for r in rows)
    verdict = []
    flat = True
    if len(rows) < 2:
        verdict.append("fewer than 2 minutes: no comparison")
        flat = False
    else:
        second, last = rows[1], rows[-1]
        for i in range(3):
            (rss2, fds2), (rss_n, fds_n) = second[6][i], last[6][i]
            if None in (rss2, fds2, rss_n, fds_n):
                verdict.append(f"crm{i + 1}: gone")
                flat = False
                continue
            # Flat: the resident set within 10 % of the 2nd minute's, the descriptors within
            # 10 (connections in flight come and go).
            rss_ok = rss_n <= rss2 * 1.10
            fds_ok = fds_n <= fds2 + 10
            flat = flat and rss_ok and fds_ok
            verdict.append(
                f"crm{i + 1}: RSS {rss2:.1f} -> {rss_n:.1f} MiB ({(rss_n / rss2 - 1) * 100:+.1f} %, "
                f"{'flat' if rss_ok else 'GROWING'}), fds {fds2} -> {fds_n} "
                f"({'flat' if fds_ok else 'GROWING'})"
            )
        p99_2 = percentile([x * 1000 for x in second[1]], 99)
        p99_n = percentile([x * 1000 for x in last[1]], 99)
        # Flat: the last minute's p99 at most twice the 2nd minute's.
        p99_ok = p99_2 is not None and p99_n is not None and p99_n <= 2 * p99_2
        flat = flat and p99_ok
        verdict.append(f"p99 {fmt(p99_2)} -> {fmt(p99_n)} ms ({'flat' if p99_ok else 'GROWING'})")
    clean = server_errors == 0 and transport_errors == 0 and unexpected == 0
    verdict.append(
        f"{requests} requests over {len(rows)} minutes, {role_checks} role changes checked "
        f"({stats.seen_late} requests saw one late, within {PROPAGATION_BOUND} s); "
        f"5xx {server_errors}, transport errors {transport_errors}, unexpected answers {unexpected}"
    )
    verdict.append(
        "verdict: " + ("flat" if flat else "NOT flat") + ", " + ("no errors" if clean else "ERRORS")
    )
    text = "\n".join(lines) + "\n\n" + "\n".join("- " + v for v in verdict) + "\n"
    print()
    print(text, flush=True)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
