"""Page speed as users meet it: Compare fully drawn in a browser, and page runs with many sessions at once.

Targets (issue 13): Compare fully drawn (verdict, cards and its four charts) within 1.5 s in one session;
median page run within 2 s with 20 sessions at once on a 2-core machine.

Starts `streamlit run dashboard/streamlit_app.py` on a free loopback port with a fresh store, then:
- `drawn`: Debian's chromium (headless, Playwright) opens Compare `--loads` times, each in a fresh page (a
  new session, the server already warm), timing from navigation to the four charts drawn and the cards'
  last value shown;
- `sessions`: `--sessions` browserless websocket sessions (tests/hardening/browserless.py) each run the
  page `--runs` times at once, timing each run from the request to the script's end (what the server spends
  on one session while the others compete for the same cores). `--vary` gives every session its own
  volume, so each run is a cache miss at first (a crowd of different scenarios).

    python bench/bench_pages.py                     # both, 20 sessions × 5 runs, 5 loads
    python bench/bench_pages.py --only sessions --sessions 20 --runs 5 --page hardware_fit
Prints medians and p90s, the load average, and the server's CPU time per page run (which does not depend on
what else the machine runs); never asserts (numbers depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from tests.hardening.browserless import Session, streamlit_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DRAWN_TARGET_S = 1.5
RUN_TARGET_S = 2.0


def _server_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's children: the streamlit server.

    Wall-clock times depend on what else the machine runs; CPU seconds per page run do not, and with the
    GIL they bound what one server process can serve: 20 sessions × CPU per run ≈ the wait of the last one.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _stats(xs: list[float]) -> str:
    p90 = statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]
    return f"n={len(xs)} median {statistics.median(xs):.2f} s, p90 {p90:.2f} s, max {max(xs):.2f} s"


def drawn(base: str, loads: int) -> list[float]:
    """Seconds from navigation to Compare fully drawn, one fresh page (session) per load."""
    from playwright.sync_api import expect, sync_playwright

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            for i in range(loads + 1):  # the first load warms the browser's own caches: not counted
                page = browser.new_page(viewport={"width": 1440, "height": 1800})
                t = time.perf_counter()
                page.goto(base)
                expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=120_000)
                expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=120_000)
                expect(page.locator(".st-key-kpi-4 [data-testid='stMetricValue']")).to_be_visible(timeout=120_000)
                page.wait_for_function(
                    "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8"
                    " && !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=120_000,
                )
                if i:
                    out.append(time.perf_counter() - t)
                page.close()
        finally:
            browser.close()
    return out


def _volume_state(session: Session, requests: float) -> list[WidgetState]:
    """The volume slider's widget state at `requests` (its id read from the page the session drew)."""
    slider = next(s for s in session.of("slider") if "volume" in s.id)
    state = WidgetState(id=slider.id)
    index = list(slider.options).index(f"{requests:g}") if f"{requests:g}" in slider.options else None
    if index is None:
        raise SystemExit(f"volume {requests:g} is not on the slider")
    state.double_array_value.data.append(index)
    return [state]


def sessions(base: str, *, count: int, runs: int, page: str, vary: bool) -> list[float]:
    """Seconds per page run with `count` sessions running the page at once, `runs` times each."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)
    volumes = [1e5 * (k + 2) for k in range(count)]  # 200k, 300k … one per session

    def one(k: int) -> None:
        s = Session(base, timeout_s=600)
        try:
            s.run(page)  # open the session (as a browser's first load does)
            widgets = _volume_state(s, volumes[k]) if vary and page == "" else None
            barrier.wait()
            for _ in range(runs):
                t = time.perf_counter()
                s.run(page, widgets)
                took = time.perf_counter() - t
                if s.of("exception"):
                    raise RuntimeError(s.of("exception")[0].message)
                with lock:
                    times.append(took)
        except Exception as ex:  # a bench reports every failure and carries on
            with lock:
                errors.append(f"session {k}: {type(ex).__name__}: {ex}")
        finally:
            s.close()

    threads = [threading.Thread(target=one, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        print("error:", e)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["drawn", "sessions"])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--page", default="", help="page URL name ('' is Compare)")
    parser.add_argument("--vary", action="store_true", help="each session its own volume (cache misses)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    tmp = Path(tempfile.mkdtemp())
    with streamlit_server(db=tmp / "bench.duckdb", log=tmp / "streamlit.log") as base:
        warm = Session(base, timeout_s=600)
        t = time.perf_counter()
        warm.run(args.page)
        print(f"first page run (cold process caches): {time.perf_counter() - t:.2f} s")
        warm.close()
        if args.only in (None, "drawn"):
            xs = drawn(base, args.loads)
            verdict = "meets" if statistics.median(xs) <= DRAWN_TARGET_S else "misses"
            print(f"Compare fully drawn, one session: {_stats(xs)} ({verdict} {DRAWN_TARGET_S} s)")
        if args.only in (None, "sessions"):
            cpu = _server_cpu_s()
            xs = sessions(base, count=args.sessions, runs=args.runs, page=args.page, vary=args.vary)
            cpu = _server_cpu_s() - cpu
            print(f"server CPU per page run: {cpu / max(len(xs), 1) * 1000:.0f} ms ({cpu:.1f} s for {len(xs)} runs)")
            if xs:
                verdict = "meets" if statistics.median(xs) <= RUN_TARGET_S else "misses"
                name = args.page or "compare"
                print(
                    f"{name} page run, {args.sessions} sessions at once"
                    f"{' (each its own volume)' if args.vary else ''}: {_stats(xs)} ({verdict} {RUN_TARGET_S} s)"
                )


if __name__ == "__main__":
    main()
