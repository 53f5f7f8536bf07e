"""Benchmark: LLM screening throughput on 10,000 records against a scripted server with 200 ms latency.

Builds a review project from the titles and abstracts in ../shared/data/screening, starts the scripted
OpenAI-compatible server (tests/llm_server.py) on 127.0.0.1 in a SEPARATE process (its CPU is not the
client's), and runs ``screener.llm_stage.run_llm_stage`` with concurrency 16 and a disk cache. Measures:

1. cold: every record sent over HTTP (targets: wall < 3 min, client CPU < 5 % of wall);
2. resume: the same project again (nothing left to draft, no HTTP);
3. warm cache: a fresh project with the same records and the same cache dir (target < 10 s, no HTTP).

Client CPU is ``time.process_time()`` of this process around ``run_llm_stage`` only (project setup left out).

Run: .venv/bin/python bench/bench_screen_llm.py [--records 10000] [--concurrency 16] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Self

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "screening"
if str(REPO) not in sys.path:  # tests.llm_server, also in the spawned server process
    sys.path.insert(0, str(REPO))

_IDS = re.compile(r"^- (\w+): ", re.MULTILINE)
_RECORD = re.compile(r"<record>\n(.*)\n</record>", re.DOTALL)


# -- the server side (runs in its own process) -------------------------------------------------------
def scripted_answer(request: Any, latency: float) -> Any:
    """A stand-in model: a valid answer for the criteria the prompt lists, after ``latency`` seconds."""
    from tests.llm_server import Reply

    ids = _IDS.findall(request.last_user)
    match = _RECORD.search(request.last_user)
    text = match.group(1) if match else ""
    first = text.splitlines()[0].split(": ", 1)[-1] if text else ""
    quote = " ".join(first.split()[:6])  # verbatim from the record, so the quote check passes
    rct = "random" in text.lower()
    criteria = [{"id": cid, "verdict": "met" if rct and i == 0 else "unclear", "quote": quote if i == 0 else "",
                 "reason": "scripted"} for i, cid in enumerate(ids)]
    answer = {"criteria": criteria, "decision": "unsure" if rct else "exclude", "confidence": 0.8}
    return Reply(answer=answer, delay=latency)


def serve(conn: Connection, latency: float) -> None:
    """Process entry: start the scripted server, send its URL, then answer 'stats' until told 'stop'."""
    from tests.llm_server import ScriptedLLMServer

    server = ScriptedLLMServer(model="scripted-model")
    server.rule = lambda request: scripted_answer(request, latency)
    server.start()
    conn.send(server.base_url)
    try:
        while True:
            command = conn.recv()
            if command == "stop":
                break
            with server._lock:
                chat = sum(1 for r in server.requests if r.path.endswith("/chat/completions"))
                conn.send({"chat_requests": chat, "max_in_flight": server.max_in_flight,
                           "server_cpu": time.process_time()})
                server.max_in_flight = 0
    finally:
        server.stop()


class ServerProcess:
    """The scripted server in a spawned child process; a context manager that always stops it."""

    def __init__(self, latency: float) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child, latency), name="scripted-llm", daemon=True)
        self.base_url = ""

    def __enter__(self) -> Self:
        self._proc.start()
        try:
            if not self._conn.poll(60):
                raise RuntimeError("the scripted server did not start within 60 s")
            self.base_url = self._conn.recv()
        except (EOFError, RuntimeError) as exc:
            self.__exit__()
            raise RuntimeError(f"the scripted server process failed to start (exit {self._proc.exitcode})") from exc
        return self

    def stats(self) -> dict[str, Any]:
        """Chat requests received so far, peak concurrency since the last call, server CPU seconds."""
        self._conn.send("stats")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=5)


# -- the client side ------------------------------------------------------------------------------
def load_records(n: int) -> list[Any]:
    """The first ``n`` rows with a title or an abstract, files in name order (a record without either is
    never sent, so it would not exercise the client)."""
    from metasift.records import Record

    csv.field_size_limit(2**31 - 1)
    records: list[Record] = []
    for path in sorted(DATA.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                title, abstract = (row["title"] or "").strip(), (row["abstract"] or "").strip()
                if not (title or abstract):
                    continue
                year = int(row["year"]) if (row.get("year") or "").strip().isdigit() else None
                records.append(Record(title=title or None, abstract=abstract or None, year=year,
                                      doi=(row.get("doi") or "").strip() or None, line=len(records) + 2))
                if len(records) == n:
                    return records
    return records


def make_project(root: Path, records: list[Any]) -> Path:
    """A review project (the bundled protocol, no budget: the scripted model has no price) holding ``records``."""
    from metasift.config import CONFIG_NAME, example_protocol_text, load_protocol
    from metasift.store import Store

    root.mkdir(parents=True)
    text = example_protocol_text().replace("max_cost = 20.0\n", "")
    (root / CONFIG_NAME).write_text(text, encoding="utf-8")
    load_protocol(root)
    store = Store.open(root, create=True)
    store.add_import(path=DATA / "bench.csv", sha256=hashlib.sha256(str(len(records)).encode()).hexdigest(),
                     source="bench", fmt="csv", layout=None, encoding="utf-8", warnings=[], records=records)
    store.close()
    return root


def run_once(project: Path, base_url: str, concurrency: int, cache: Path) -> dict[str, Any]:
    """One ``run_llm_stage`` call: its summary, wall seconds and this process's CPU seconds."""
    from metasift.config import load_protocol
    from metasift.llm import LLMSettings
    from metasift.screener.llm_stage import run_llm_stage
    from metasift.store import Store

    protocol = load_protocol(project)
    settings = LLMSettings.from_config(protocol.llm, model="scripted-model", base_url=base_url,
                                       concurrency=concurrency, cache_dir=cache)
    store = Store.open(project)

    def progress(done: int, total: int) -> None:
        if done % 1000 == 0 or done == total:
            print(f"    {done}/{total}  {time.perf_counter() - wall0:6.1f} s  CPU {time.process_time() - cpu0:5.1f} s",
                  file=sys.stderr, flush=True)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    summary = run_llm_stage(store, protocol, settings, on_progress=progress)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    store.close()
    return {"summary": summary.model_dump(), "wall": wall, "cpu": cpu}


def sdk_floor(base_url: str, records: list[Any], concurrency: int) -> dict[str, Any]:
    """The same prompts posted with the bare openai SDK (no cache, store, validation): the client CPU floor."""
    import asyncio

    from openai import AsyncOpenAI

    from metasift.config import example_protocol_text, parse_protocol
    from metasift.screener.llm_call import screening_messages
    from metasift.screener.llm_stage import TEMPLATE, llm_criteria
    from metasift.templates import load_template

    protocol = parse_protocol(example_protocol_text())
    template, criteria = load_template(TEMPLATE), llm_criteria(protocol)
    prompts = [screening_messages(template, criteria, protocol.review.question, r)[0] for r in records]

    async def main() -> tuple[float, float]:
        client = AsyncOpenAI(api_key="not-needed", base_url=base_url, max_retries=0)
        sem = asyncio.Semaphore(concurrency)

        async def one(messages: list[dict[str, str]]) -> None:
            async with sem:
                await client.chat.completions.create(model="scripted-model", messages=messages)  # type: ignore[arg-type]

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(m) for m in prompts))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        await client.close()
        return wall, cpu

    wall, cpu = asyncio.run(main())
    return {"summary": {"todo": len(prompts), "drafted": 0, "errors": 0, "skipped": 0}, "wall": wall, "cpu": cpu}


def row(name: str, run: dict[str, Any], requests: int, peak: int, target: str, ok: bool | None) -> dict[str, Any]:
    """One line of the table (``ok`` None: a reference figure with no target)."""
    s = run["summary"]
    return {"run": name, "todo": s["todo"], "drafted": s["drafted"], "errors": s["errors"],
            "skipped": s["skipped"], "http": requests, "peak": peak, "wall": run["wall"], "cpu": run["cpu"],
            "cpu_share": run["cpu"] / run["wall"] if run["wall"] else 0.0,
            "per_s": s["todo"] / run["wall"] if run["wall"] else 0.0,
            "cpu_ms_per_record": 1000 * run["cpu"] / s["todo"] if s["todo"] else 0.0, "target": target, "ok": ok}


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'run':<22s} {'todo':>6s} {'drafted':>7s} {'errors':>6s} {'HTTP':>6s} {'peak':>4s} {'wall s':>7s} "
            f"{'CPU s':>6s} {'CPU %':>6s} {'ms/rec':>6s} {'rec/s':>6s}  target")
    print(head)
    print("-" * (len(head) + 30))
    for r in rows:
        print(f"{r['run']:<22s} {r['todo']:6d} {r['drafted']:7d} {r['errors']:6d} {r['http']:6d} {r['peak']:4d} "
              f"{r['wall']:7.1f} {r['cpu']:6.1f} {r['cpu_share']:6.1%} {r['cpu_ms_per_record']:6.2f} {r['per_s']:6.0f}  "
              f"{r['target']} {'' if r['ok'] is None else ('PASS' if r['ok'] else 'FAIL')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server waits per reply")
    parser.add_argument("--floor-records", type=int, default=2000,
                        help="prompts sent with the bare openai SDK for the CPU-floor reference row")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not any(DATA.glob("*.csv")):
        print(f"skipped: no screening sets in {DATA}")
        return 0
    load0 = os.getloadavg()
    records = load_records(args.records)
    if len(records) < args.records:
        print(f"note: only {len(records)} records with a title or abstract in {DATA}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp, ServerProcess(args.latency) as server:
        tmpdir = Path(tmp)
        cache = tmpdir / "cache"
        t0 = time.perf_counter()
        cold_project = make_project(tmpdir / "cold", records)
        warm_project = make_project(tmpdir / "warm", records)
        print(f"{len(records)} records in two projects built in {time.perf_counter() - t0:.1f} s; server "
              f"{server.base_url}, latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}",
              file=sys.stderr)
        floor = len(records) * args.latency / args.concurrency

        print("  cold run (HTTP):", file=sys.stderr)
        before = server.stats()
        cold = run_once(cold_project, server.base_url, args.concurrency, cache)
        after = server.stats()
        http = after["chat_requests"] - before["chat_requests"]
        ok = cold["wall"] < 180 and cold["cpu"] / cold["wall"] < 0.05 and cold["summary"]["drafted"] == len(records)
        rows.append(row("cold (HTTP)", cold, http, after["max_in_flight"], "wall<180 s, CPU<5 %", ok))
        server_cpu = after["server_cpu"] - before["server_cpu"]

        print("  resume, same project:", file=sys.stderr)
        resume = run_once(cold_project, server.base_url, args.concurrency, cache)
        again = server.stats()
        http = again["chat_requests"] - after["chat_requests"]
        rows.append(row("resume (same project)", resume, http, again["max_in_flight"], "0 HTTP",
                        http == 0 and resume["summary"]["skipped"] == len(records)))

        print("  fresh project, warm cache:", file=sys.stderr)
        warm = run_once(warm_project, server.base_url, args.concurrency, cache)
        last = server.stats()
        http = last["chat_requests"] - again["chat_requests"]
        rows.append(row("warm cache (new proj.)", warm, http, last["max_in_flight"], "wall<10 s, 0 HTTP",
                        warm["wall"] < 10 and http == 0 and warm["summary"]["drafted"] == len(records)))

        n_floor = min(len(records), args.floor_records)
        print(f"  bare openai SDK, {n_floor} of the same prompts:", file=sys.stderr)
        bare = sdk_floor(server.base_url, records[:n_floor], args.concurrency)
        end = server.stats()
        rows.append(row("bare SDK (reference)", bare, end["chat_requests"] - last["chat_requests"],
                        end["max_in_flight"], "client CPU floor, no target", None))

    print(f"\nLLM screening: {len(records)} records, scripted server at {args.latency * 1000:.0f} ms per reply "
          f"(separate process), concurrency {args.concurrency}; latency floor {floor:.0f} s")
    print_table(rows)
    print(f"server process CPU during the cold run: {server_cpu:.1f} s (not counted as client CPU); "
          f"load average before/after: {load0[0]:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "server_cpu": server_cpu, "floor": floor}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
