"""Load on `toolkit serve`: N agencies upload a filled return in one burst over loopback, C in flight.

    python benchmarks/serve_load.py                      # SQLite in a temporary data folder
    python benchmarks/serve_load.py --db postgresql://postgres@127.0.0.1:54329/postgres

Not a test. Prints p50/p95/p99 latency, uploads/s, errors and the server's peak memory (the uvicorn
process and its check workers together), then verifies that every 201 has its row in the database and
its file in the store with the right sha256. Targets on a 2-core machine: 1,000 uploads in ≤ 30 s,
p95 ≤ 1 s, 0 lost, server RSS ≤ 500 MB.

The load generator runs on the same machine, so it is kept lean: requests are encoded before the burst
and sent with aiohttp (`pip install '.[test,bench]'`); `--client httpx` runs the same burst with httpx,
whose CPU per upload (printed as client_cpu_ms_per_upload) shows what a heavy client costs the server.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from serve_support import for_agency, seed_return  # noqa: E402
from sqlalchemy import select  # noqa: E402

from toolkit.serve.db import database_url, make_engine, open_database  # noqa: E402
from toolkit.serve.records import create_round  # noqa: E402
from toolkit.serve.tables import uploads  # noqa: E402


def fresh_pg(url: str) -> str:
    import psycopg

    name = f"toolkit_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) of a process and each descendant, by pid."""
    tick = os.sysconf("SC_CLK_TCK")
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            found[p] = (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


class PeakMemory(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, _tree_rss(self.pid))
            time.sleep(0.05)


def start_server(data: Path, db: str | None, port: int) -> subprocess.Popen:
    args = [sys.executable, "-m", "toolkit", "serve", "--data", str(data), "--port", str(port)] + (["--db", db] if db else [])
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("服务未能启动")


def requests_of(base: str, files: list[tuple[str, bytes]]) -> list[tuple[str, str, bytes, bytes]]:
    """(url, content type, multipart body, file) of every upload, encoded before the burst (by httpx's encoder),
    as each agency's browser has its own request ready: encoding is the client's work, not the server's."""
    out = []
    for token, data in files:
        request = httpx.Request("POST", f"{base}/a/{token}/uploads", files={"file": ("表.xlsx", data)})
        out.append((str(request.url), request.headers["content-type"], request.read(), data))
    return out


async def burst(requests, in_flight: int, client: str) -> list[tuple[int, float, dict, bytes]]:
    """Every request sent, `in_flight` at a time; (status, seconds, JSON answer, file) of each.

    aiohttp by default: its C parser costs the load generator ~0.5 ms of CPU per upload. httpx costs
    5-6 ms (measured): on a 2-core machine it takes most of a core from the server it is measuring."""
    gate = asyncio.Semaphore(in_flight)
    if client == "aiohttp":
        try:
            import aiohttp
        except ImportError:
            raise SystemExit("负载发生器需要 aiohttp：pip install '.[test,bench]'（或用 --client httpx）") from None
    client_errors = (aiohttp.ClientError,) if client == "aiohttp" else ()

    async def timed(send, url, ctype, body, data):
        async with gate:
            t = time.perf_counter()
            try:
                status, answer = await send(url, body, {"content-type": ctype})
            except (OSError, asyncio.TimeoutError, httpx.HTTPError, *client_errors) as e:  # counted, never fatal
                status, answer = 0, {"error": repr(e)}
            return status, time.perf_counter() - t, answer, data

    if client == "httpx":
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        async with httpx.AsyncClient(limits=limits, timeout=120) as session:

            async def send(url, body, headers):
                r = await session.post(url, content=body, headers=headers)
                return r.status_code, r.json() if r.headers.get("content-type", "").startswith("application/json") else {}

            return await asyncio.gather(*(timed(send, *r) for r in requests))
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def send(url, body, headers):
            async with session.post(url, data=body, headers=headers) as r:
                return r.status, await r.json() if r.content_type == "application/json" else {}

        return await asyncio.gather(*(timed(send, *r) for r in requests))


def verify(data: Path, db: str | None, results) -> dict:
    """Every 201: its row (same sha256) and its stored file, whose bytes hash to that sha256."""
    engine = make_engine(database_url(data, db))
    with engine.connect() as conn:
        rows = dict(conn.execute(select(uploads.c.id, uploads.c.sha256)).all())
    missing_row = missing_file = wrong = 0
    for status, _, body, sent in results:
        if status != 201:
            continue
        sha = body["sha256"]
        if rows.get(body["upload_id"]) != sha or sha != hashlib.sha256(sent).hexdigest():
            missing_row += 1
            continue
        path = data / "files" / sha[:2] / f"{sha}.xlsx"
        if not path.exists():
            missing_file += 1
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            wrong += 1
    return {"rows": len(rows), "missing_rows": missing_row, "missing_files": missing_file, "wrong_files": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--db", help="PostgreSQL server URL (a new database is made on it)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp", help="the load generator's HTTP client")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serve-load-"))
    data, db = work / "data", fresh_pg(args.db) if args.db else None
    engine = open_database(data, db)
    names = [f"负载测试机关{i:04d}" for i in range(1, args.n + 1)]
    with engine.begin() as conn:
        _, made = create_round(conn, "gov-info-2021", 2024, None, [(n, "", "") for n in names], "benchmark")
    engine.dispose()
    t = time.perf_counter()
    seed = seed_return(work)
    files = [(m[4], for_agency(seed, m[1])) for m in made]
    print(f"{len(files)} 份填好的报表已生成（{time.perf_counter() - t:.0f} 秒，不计入负载）")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_server(data, db, port)
    memory = PeakMemory(server.pid)
    memory.start()
    requests = requests_of(f"http://127.0.0.1:{port}", files)
    load_before = os.getloadavg()[0]
    cpu_start, client_start = _cpu_seconds(server.pid), time.process_time()
    t0 = time.perf_counter()
    results = asyncio.run(burst(requests, args.in_flight, args.client))
    elapsed = time.perf_counter() - t0
    client_cpu = time.process_time() - client_start
    memory.running = False
    cpu_before = cpu_start
    cpu_after = _cpu_seconds(server.pid)
    server.terminate()
    server.wait(60)
    latencies = sorted(r[1] for r in results)
    q = statistics.quantiles(latencies, n=100)
    codes: dict[int, int] = {}
    for r in results:
        codes[r[0]] = codes.get(r[0], 0) + 1
    figures = {
        "database": "postgresql" if db else "sqlite",
        "uploads": args.n,
        "in_flight": args.in_flight,
        "seconds": round(elapsed, 2),
        "uploads_per_s": round(args.n / elapsed, 1),
        "p50_s": round(q[49], 3),
        "p95_s": round(q[94], 3),
        "p99_s": round(q[98], 3),
        "status_codes": codes,
        "errors": sum(v for k, v in codes.items() if k != 201),
        "accepted": sum(1 for r in results if r[0] == 201 and r[2].get("status") == "accepted"),
        "peak_rss_mb": round(memory.peak / 2**20, 1),
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "server_cpu_ms_per_upload": round(1000 * (cpu_after.get(server.pid, 0) - cpu_before.get(server.pid, 0)) / args.n, 1),
        "checkers_cpu_ms_per_upload": round(
            1000 * sum(v - cpu_before.get(k, 0) for k, v in cpu_after.items() if k != server.pid) / args.n, 1
        ),  # other work on the machine: figures vary with it
        "client": args.client,
        "client_cpu_ms_per_upload": round(1000 * client_cpu / args.n, 1),  # the load generator's share of the cores
        **verify(data, db, results),
    }
    for key, value in figures.items():
        print(f"{key:>16}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
