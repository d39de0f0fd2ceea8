"""`make soak`: Locust (headless) against `make serve` (4 gunicorn workers, PostgreSQL, Redis).

Three runs, printed as Markdown tables (issue 11 §10):

1. mixed: 50 users (hospitals searching 耗材产品查询, the manufacturer saving and submitting
   packaging, the 初审 reviewer approving) with ~1 s think time, 60 s;
2. saturation: users without think time at growing counts, 20 s each, until p95 passes 300 ms;
3. fault: 50 users for 60 s while PostgreSQL goes away for 10 s mid-run. By default the app reaches
   PostgreSQL through a TCP relay that this script cuts (every connection dropped, new ones refused),
   so a shared server is not disturbed; `SOAK_PG_RESTART_CMD="systemctl restart postgresql"` restarts
   the real server instead. Requests during the outage must get 503, the app must recover without a
   restart, and every packaging row must have its 变更记录 (nothing half-written).

Each table has a bare baseline row: a static file served by the same gunicorn workers.
Environment: SOAK_DATABASE (default robust_soak, created if missing, on PGHOST 127.0.0.1:5432 as
postgres), SOAK_REDIS (redis://127.0.0.1:6379/2), PORT (8120), SOAK_SECONDS (60), SOAK_RUNS (which
runs, default mixed,saturation,fault). The servers' log goes to instance/soak/server.log.
"""
from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
PORT = int(os.environ.get("PORT", "8120"))
RELAY_PORT = PORT + 1
PG_HOST, PG_PORT = os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432"))
DATABASE = os.environ.get("SOAK_DATABASE", "robust_soak")
REDIS = os.environ.get("SOAK_REDIS", "redis://127.0.0.1:6379/2")
SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
OUT = os.path.join(ROOT, "instance", "soak")
# production mode refuses keys found in the repository: made once, kept beside the soak's
# output, so the ID numbers encrypted in its database stay readable from one run to the next
def _keys() -> dict:
    path = os.path.join(OUT, "keys.json")
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    from cryptography.fernet import Fernet

    keys = {"SECRET_KEY": secrets.token_urlsafe(48), "PII_KEYS": Fernet.generate_key().decode(),
            "PII_HASH_KEY": secrets.token_urlsafe(32)}
    os.makedirs(OUT, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(keys, fh)
    return keys


class Relay:
    """A TCP relay to PostgreSQL that can be cut (an outage) and restored."""

    def __init__(self, listen: int, host: str, port: int):
        self.listen, self.host, self.port = listen, host, port
        self.up = True
        self.conns: list[socket.socket] = []
        self.server = socket.create_server(("127.0.0.1", listen), reuse_port=False)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.server.accept()
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection((self.host, self.port))
            except OSError:
                client.close()
                continue
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.up = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns = []

    def restore(self):
        self.up = True


def psql(sql: str, database: str = "postgres") -> list[list[str]]:
    out = subprocess.run(["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", database,
                          "-At", "-F", "|", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def app_env(url: str) -> dict:
    env = dict(os.environ, FLASK_APP="app", DATABASE_URL=url, RATELIMIT_STORAGE_URI=REDIS,
               SESSION_COOKIE_SECURE="0", HSTS="0", **_keys())
    return env


def setup(url: str) -> None:
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"):
        psql(f'CREATE DATABASE "{DATABASE}"')
    env = dict(app_env(url), APP_ENV="development")
    for cmd in (["db", "upgrade"], ["sync-roles"], ["seed-demo"]):
        subprocess.run([os.path.join(BIN, "flask"), *cmd], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)


def serve(url: str) -> subprocess.Popen:
    env = dict(app_env(url), APP_ENV="production", PORT=str(PORT), WORKERS="4")
    os.makedirs(OUT, exist_ok=True)
    server_log = open(os.path.join(OUT, "server.log"), "ab")  # where a 500's traceback can be read
    proc = subprocess.Popen(["make", "-s", "serve", f"PORT={PORT}"], cwd=ROOT, env=env,
                            stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(120):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return proc
        except OSError:
            time.sleep(1)
    raise SystemExit("make serve did not start")


def locust(name: str, users: int, seconds: int, think: float) -> list[dict]:
    os.makedirs(OUT, exist_ok=True)
    prefix = os.path.join(OUT, name)
    env = dict(os.environ, SOAK_THINK=str(think))
    subprocess.run([os.path.join(BIN, "locust"), "-f", os.path.join(ROOT, "benchmarks", "locustfile.py"),
                    "--headless", "-u", str(users), "-r", str(max(users // 2, 1)), "-t", f"{seconds}s",
                    "--host", f"http://127.0.0.1:{PORT}", "--csv", prefix, "--only-summary",
                    "--exit-code-on-error", "0"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(prefix + "_stats.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def failures(name: str) -> list[dict]:
    with open(os.path.join(OUT, name + "_failures.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # Locust writes N/A for a request that never completed
        return 0.0


def warm_up() -> None:
    """Wait until the workers answer (gunicorn binds the port before its workers are ready)."""
    import urllib.request

    deadline = time.time() + 300
    answered = 0
    while answered < 8 and time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login/", timeout=30).status == 200:
                answered += 1
        except OSError:
            time.sleep(1)


def table(title: str, rows: list[dict]) -> str:
    base = next((r for r in rows if r["Name"].startswith("GET 静态文件")), None)
    base95 = num(base["95%"]) if base else None
    out = [f"\n**{title}**\n", "| request | count | errors | req/s | p50 ms | p95 ms | p99 ms | p95 / bare |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        p95 = r["95%"]
        ratio = f"{num(p95) / base95:.1f}×" if base95 and num(p95) else ""
        out.append(f"| {r['Name']} | {r['Request Count']} | {r['Failure Count']} | {num(r['Requests/s']):.1f} | "
                   f"{r['50%']} | {p95} | {r['99%']} | {ratio} |")
    return "\n".join(out)


def run_mixed(report: list[str], relay: Relay) -> None:
    rows = locust("mixed", 50, SECONDS, think=1.0)
    report.append(table(f"Mixed: 50 users, ~1 s think time, {SECONDS} s", rows))


def run_saturation(report: list[str], relay: Relay) -> None:
    saturation = ["\n**Saturation (no think time, 20 s per step)**\n",
                  "| users | req/s | p50 ms | p95 ms | errors |", "|---:|---:|---:|---:|---:|"]
    for users in (5, 10, 20, 40, 80):
        agg = next(r for r in locust(f"sat{users}", users, 20, think=0) if r["Name"] == "Aggregated")
        saturation.append(f"| {users} | {num(agg['Requests/s']):.1f} | {agg['50%']} | {agg['95%']} | "
                          f"{agg['Failure Count']} |")
        if num(agg["95%"]) > 300:
            break
    report.append("\n".join(saturation))


def run_fault(report: list[str], relay: Relay) -> None:
    restart = os.environ.get("SOAK_PG_RESTART_CMD")

    def outage():
        time.sleep(SECONDS / 3)
        if restart:
            subprocess.run(restart, shell=True, check=False)
        else:
            relay.cut()
            time.sleep(10)
            relay.restore()

    threading.Thread(target=outage, daemon=True).start()
    rows = locust("fault", 50, SECONDS, think=1.0)
    report.append(table(f"Fault: PostgreSQL {'restarted' if restart else 'cut for 10 s'} at {SECONDS // 3} s", rows))
    fails = failures("fault")
    codes: dict[str, int] = {}
    for f in fails:
        key = f["Error"].split(":")[0][:60]
        codes[key] = codes.get(key, 0) + int(f["Occurrences"])
    report.append("\nFailures during the fault run: " + (", ".join(f"{k} × {v}" for k, v in codes.items()) or "none"))
    orphans = psql("SELECT count(*) FROM qual_product p WHERE NOT EXISTS (SELECT 1 FROM workflow_history h "
                   "WHERE h.record_type = 'product' AND h.record_id = p.id)", DATABASE)[0][0]
    report.append(f"Packaging rows without their 变更记录 after the fault run (half-written): {orphans}")
    import urllib.request

    status = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login/").status
    report.append(f"After the outage, without restarting the app: GET /login/ → {status}")


RUNS = {"mixed": run_mixed, "saturation": run_saturation, "fault": run_fault}


def main() -> int:
    chosen = [r.strip() for r in (os.environ.get("SOAK_RUNS") or ",".join(RUNS)).split(",") if r.strip()]
    unknown = [r for r in chosen if r not in RUNS]
    if unknown:
        raise SystemExit(f"SOAK_RUNS: unknown run(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    relay = Relay(RELAY_PORT, PG_HOST, PG_PORT)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{RELAY_PORT}/{DATABASE}"
    setup(url)
    server = serve(url)
    warm_up()
    report = [f"make soak: 4 gunicorn workers, PostgreSQL via relay, Redis {REDIS}; {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} at start"]
    try:
        for name in chosen:
            RUNS[name](report, relay)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
