"""Page speed as users meet it: Compare fully drawn in a browser, and page runs with many sessions at once.

Targets (issue 13): Compare fully drawn (verdict, cards and its four charts) within 1.5 s in one session;
median page run within 2 s with 20 sessions at once on a 2-core machine.

Starts `streamlit run dashboard/serve.py` on a free loopback port with a fresh store, then:
- `drawn`: Debian's chromium (headless, Playwright) opens Compare `--loads` times, each in a new page (a
  new session, the server already warm), as a first visit (fresh browser context: nothing cached) and as a
  return visit (the browser's caches warm), timing from navigation to the verdict, the cards' last value,
  the first chart and all four charts drawn, with the browser's and the server's CPU seconds per load;
- `sessions`: `--sessions` browserless websocket sessions (tests/hardening/browserless.py) each run the
  page `--runs` times at once, timing each run from the request to the script's end (what the server spends
  on one session while the others compete for the same cores). `--vary` gives every session its own
  volume, so each run is a cache miss at first (a crowd of different scenarios).

    python bench/bench_pages.py                     # both, 20 sessions × 5 runs, 5 loads
    python bench/bench_pages.py --only sessions --sessions 20 --runs 5 --page hardware_fit
Prints medians and p90s, the load average, and CPU seconds per load or page run (which, unlike wall time, do
not grow with what else the machine runs); never asserts (numbers depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from tests.hardening.browserless import Session, streamlit_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DRAWN_TARGET_S = 1.5
RUN_TARGET_S = 2.0


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` and every process under it have used so far (0 once gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        own[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += own.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def _children() -> list[int]:
    return [
        int(pid)
        for task in Path(f"/proc/{os.getpid()}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]


def _is_server(pid: int) -> bool:
    try:
        return b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _server_pid() -> int:
    """The streamlit server this bench started: the child of this process that runs `streamlit run`."""
    for pid in _children():
        if _is_server(pid):
            return pid
    raise SystemExit("no streamlit server under this process")


def _browser_cpu_s() -> float:
    """CPU seconds used so far by the browser: Playwright's driver and the chromium processes under it."""
    return sum(_cpu_s(pid) for pid in _children() if not _is_server(pid))


def _server_cpu_s() -> float:
    """CPU seconds used so far by the streamlit server.

    Wall-clock times depend on what else the machine runs; CPU seconds per page run do not, and with the
    GIL they bound what one server process can serve: 20 sessions × CPU per run ≈ the wait of the last one.
    """
    return _cpu_s(_server_pid())


def _stats(xs: list[float]) -> str:
    p90 = statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]
    return f"n={len(xs)} median {statistics.median(xs):.2f} s, p90 {p90:.2f} s, max {max(xs):.2f} s"


_MILESTONES = """
window.__drawn = {};
const mark = (name) => { if (!(name in window.__drawn)) window.__drawn[name] = performance.now() / 1000; };
new MutationObserver(() => {
  if (document.querySelector('.st-key-verdict [data-testid^="stAlert"]')) mark('verdict');
  if (document.querySelector(".st-key-kpi-4 [data-testid='stMetricValue']")) mark('cards');
  if (document.querySelector('.js-plotly-plot .main-svg, svg.opentco-chart')) mark('chart');
}).observe(document, {subtree: true, childList: true});
"""
"""Seconds from navigation to the verdict shown, the last card's value shown, and the first chart drawn."""
_ALL_DRAWN = (
    "(document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8"
    " || document.querySelectorAll('svg.opentco-chart').length >= 4)"
    " && !!document.querySelector(\".st-key-kpi-4 [data-testid='stMetricValue']\")"
    " && !document.querySelector('[data-testid=\"stStatusWidget\"]')"
)
"""Four charts drawn (plotly draws two SVG layers each; the static ones are one SVG each), the cards' last value
shown, the script done."""


@dataclass(frozen=True)
class Load:
    """One Compare load: milestones in seconds from navigation, CPU seconds spent, the load average then."""

    drawn_s: float
    verdict_s: float
    cards_s: float
    first_chart_s: float
    browser_cpu_s: float
    server_cpu_s: float
    load_avg: float


def drawn(base: str, loads: int, *, returning: bool) -> list[Load]:
    """Compare opened `loads` times, each in a new page (a new session; the server already warm).

    A first visit opens each page in a fresh browser context (nothing cached: every script is fetched and
    compiled again); a return visit opens them in one context a first load has warmed (the browser's HTTP
    and code caches hold Streamlit's scripts, as for a user coming back). CPU seconds are the browser's (all
    chromium processes) and the server's, measured around each load: unlike wall time they do not grow with
    what else the machine runs.
    """
    from playwright.sync_api import sync_playwright

    out = []
    server = _server_pid()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1800}) if returning else None
        try:
            for i in range(loads + 1):  # the first load warms the browser's own caches: not counted
                page = context.new_page() if context else browser.new_page(viewport={"width": 1440, "height": 1800})
                page.add_init_script(_MILESTONES)
                cpu = _browser_cpu_s(), _cpu_s(server)
                t = time.perf_counter()
                page.goto(base)
                page.wait_for_function(_ALL_DRAWN, timeout=120_000)
                took = time.perf_counter() - t
                marks = page.evaluate("window.__drawn")
                page.wait_for_timeout(300)  # CPU the last frame's paint takes is counted too
                if i:
                    out.append(
                        Load(
                            drawn_s=took,
                            verdict_s=marks.get("verdict", took),
                            cards_s=marks.get("cards", took),
                            first_chart_s=marks.get("chart", took),
                            browser_cpu_s=_browser_cpu_s() - cpu[0],
                            server_cpu_s=_cpu_s(server) - cpu[1],
                            load_avg=os.getloadavg()[0],
                        )
                    )
                page.close()
        finally:
            browser.close()
    return out


def _drawn_table(rows: dict[str, list[Load]]) -> None:
    print(
        f"{'Compare, one session':<22} {'n':>2} {'drawn s':>8} {'p90 s':>6} {'verdict':>8} {'cards':>6} "
        f"{'chart 1':>8} {'browser CPU s':>14} {'server CPU s':>13} {'load avg':>9}"
    )
    for name, xs in rows.items():
        med = {f: statistics.median(getattr(x, f) for x in xs) for f in Load.__dataclass_fields__}
        p90 = statistics.quantiles([x.drawn_s for x in xs], n=10)[-1] if len(xs) > 1 else xs[0].drawn_s
        loads = [x.load_avg for x in xs]
        print(
            f"{name:<22} {len(xs):>2} {med['drawn_s']:>8.2f} {p90:>6.2f} {med['verdict_s']:>8.2f} "
            f"{med['cards_s']:>6.2f} {med['first_chart_s']:>8.2f} {med['browser_cpu_s']:>14.2f} "
            f"{med['server_cpu_s']:>13.2f} {min(loads):>4.1f}–{max(loads):<4.1f}"
        )


def _volume_state(session: Session, k: int) -> list[WidgetState]:
    """The volume slider's widget state at its k-th stop from the page's own volume up (its id and stops read
    from the page the session drew), so that each session asks for a volume of its own."""
    slider = next(s for s in session.of("slider") if "volume" in s.id)
    state = WidgetState(id=slider.id)
    stop = int(slider.default[0])  # the index of the page's own volume among the stops
    state.string_array_value.data.append(slider.options[(stop + 1 + k) % len(slider.options)])  # as labelled
    return [state]


def sessions(base: str, *, count: int, runs: int, page: str, vary: bool) -> list[float]:
    """Seconds per page run with `count` sessions running the page at once, `runs` times each."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def one(k: int) -> None:
        s = Session(base, timeout_s=600)
        try:
            s.run(page)  # open the session (as a browser's first load does)
            widgets = _volume_state(s, k) if vary and page == "" else None
            barrier.wait()
            for _ in range(runs):
                t = time.perf_counter()
                s.run(page, widgets)
                took = time.perf_counter() - t
                if s.of("exception"):
                    exc = s.of("exception")[0]
                    raise RuntimeError(f"{exc.message} {' | '.join(exc.stack_trace[-3:])}")
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
            rows = {"first visit": drawn(base, args.loads, returning=False)}
            rows["return visit"] = drawn(base, args.loads, returning=True)
            _drawn_table(rows)
            for name, xs in rows.items():
                median = statistics.median(x.drawn_s for x in xs)
                verdict = "meets" if median <= DRAWN_TARGET_S else "misses"
                print(f"Compare fully drawn, one session, {name}: {median:.2f} s median ({verdict} {DRAWN_TARGET_S} s)")
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
