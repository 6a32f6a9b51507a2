"""Real-GPU check of the measurement code (needs an NVIDIA GPU, torch and transformers; no network).

`python bench/gpu_real_sweep.py all --out DIR` runs, in order:

1. the GPU inventory (what `opentco gpu --json` prints);
2. a 20 s sampler run at 10 Hz: 5 s idle, 10 s of bf16 matrix products, 5 s idle; energy per phase from
   the energy counter and from integrated power side by side, and the sampler thread's CPU share;
3. a model served on the GPU by a minimal OpenAI-compatible streaming server (`serve`, started here as a
   subprocess) and a sweep with the load generator at concurrency 1, 4, 16 while NVML is sampled; the run
   is stored in DIR/bench.duckdb and printed.

No weights can be downloaded, so the served model is a Llama-architecture transformer built from a config
with RANDOM weights (~1.1 B parameters: 16 layers, hidden 2048, 32 heads / 8 KV heads, MLP 8192, vocab
32000), bf16. Its tokens are meaningless, but the arithmetic per token is that of a real 1 B model. The
server batches statically (requests that arrive together decode together, greedy, in eager PyTorch with a
KV cache) — far simpler and slower than vLLM, so its tokens/s are a floor, not what a production server
reaches on the same GPU. On an H100 it kept the GPU busy only 5–12 % of the time: one Python process
launching kernels and streaming to many clients is bound by the CPU and the GIL, and its inter-token
latency grows with the number of streams. The measurement side (load generator, NVML sampler, energy per
level) is what this script checks; the figures describe this toy server, not the hardware's limit.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
import types
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOCAB = 32_000
MODEL_NAME = "random-llama-1.1b"


# ----------------------------------------------------------------------------- the model server


@dataclasses.dataclass
class _Job:
    ids: list[int]
    max_tokens: int
    out: queue.Queue[int | None]


class _Engine:
    """Static batching: take what is waiting (after a few ms for stragglers), decode it together."""

    def __init__(self, *, max_batch: int = 64) -> None:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        self.torch = torch
        config = LlamaConfig(
            vocab_size=VOCAB,
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
        )
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = LlamaForCausalLM(config).to(torch.bfloat16)
        self.model = model.eval()
        # `logits_to_keep=1`: only the last position's logits (not 32000 × prompt length) — where supported
        self.keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
        self.params = sum(p.numel() for p in model.parameters())
        self.max_batch = max_batch
        self.waiting: queue.Queue[_Job] = queue.Queue()
        self.active = 0  # streams between request and last byte sent (changed by the HTTP threads)
        self.active_lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        demand = 1  # streams open when the last batch ended: they come back for the next one
        while True:
            batch = [self.waiting.get()]
            # Clients in lockstep come back within milliseconds of their answers ending: wait (100 ms at
            # most) until as many as last time are here, so groups merge instead of alternating.
            until = time.monotonic() + 0.1
            while len(batch) < min(demand, self.max_batch):
                try:
                    batch.append(self.waiting.get(timeout=max(0.0, until - time.monotonic())))
                except queue.Empty:
                    break
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self._decode(batch)
            except Exception:
                traceback.print_exc()
                for job in batch:
                    job.out.put(None)
            with self.active_lock:
                demand = max(self.active, 1)

    def _decode(self, batch: list[_Job]) -> None:
        torch = self.torch
        width = max(len(j.ids) for j in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long, device="cuda")
        mask = torch.zeros((len(batch), width), dtype=torch.long, device="cuda")
        for row, job in enumerate(batch):  # left padding, so every row's last token is the newest
            ids[row, width - len(job.ids) :] = torch.tensor(job.ids, device="cuda")
            mask[row, width - len(job.ids) :] = 1
        steps = max(j.max_tokens for j in batch)
        with torch.inference_mode():
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **self.keep)
            cache = out.past_key_values
            for step in range(steps):
                token = out.logits[:, -1].argmax(-1)
                emitted = token.tolist()  # one host sync per step: the tokens must be streamed anyway
                for row, job in enumerate(batch):
                    if step < job.max_tokens:
                        job.out.put(emitted[row])
                        if step + 1 == job.max_tokens:
                            job.out.put(None)
                if step + 1 == steps:
                    break
                mask = torch.cat([mask, mask.new_ones((len(batch), 1))], dim=1)
                positions = positions[:, -1:] + 1
                out = self.model(
                    input_ids=token[:, None],
                    attention_mask=mask,
                    position_ids=positions,
                    past_key_values=cache,
                    use_cache=True,
                    **self.keep,
                )
                cache = out.past_key_values


def _tokenise(text: str) -> list[int]:
    # A stand-in word-level tokenizer (no tokenizer files can be downloaded): one token per word.
    return [1] + [zlib.crc32(w.encode()) % (VOCAB - 100) + 100 for w in text.split()]


def serve(port: int) -> None:
    # The decode loop holds the GIL while it launches kernels; with the default 5 ms switch interval the
    # streaming threads wait up to 5 ms for each token they send (the convoy effect), so hand over sooner.
    sys.setswitchinterval(0.0005)
    engine = _Engine()
    warm = _Job(ids=_tokenise("warm up " * 100), max_tokens=4, out=queue.Queue())
    engine.waiting.put(warm)
    while warm.out.get() is not None:
        pass

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "opentco-gpu-bench/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send_json(self, status: int, obj: object) -> None:
            raw = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._send_json(200, {"data": [{"id": MODEL_NAME, "owned_by": "opentco-gpu-bench"}]})

        def _event(self, obj: object) -> None:
            data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("model") != MODEL_NAME:
                self._send_json(404, {"error": {"message": f"model {body.get('model')!r} not served"}})
                return
            ids = _tokenise(" ".join(m["content"] for m in body["messages"]))
            job = _Job(ids=ids, max_tokens=int(body.get("max_tokens") or 16), out=queue.Queue())
            with engine.active_lock:
                engine.active += 1
            try:
                engine.waiting.put(job)
                self._stream(job, ids, body)
            finally:
                with engine.active_lock:
                    engine.active -= 1

        def _stream(self, job: _Job, ids: list[int], body: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            made, done = 0, False
            try:
                while not done:
                    # every token that is ready goes in one event: fewer GIL hand-overs per step
                    tokens = [job.out.get()]
                    while not job.out.empty():
                        tokens.append(job.out.get_nowait())
                    if tokens[-1] is None:
                        tokens.pop()
                        done = True
                    if tokens:
                        made += len(tokens)
                        text = "".join(f"w{t} " for t in tokens)
                        self._event({"choices": [{"index": 0, "delta": {"content": text}}]})
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
                usage = {"prompt_tokens": len(ids), "completion_tokens": made, "total_tokens": len(ids) + made}
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._event({"choices": [], "usage": usage})
                self._event(b"[DONE]")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # clients closing kept-alive connections: expected, not worth a traceback

    print(f"READY {engine.params / 1e9:.3f}B parameters", flush=True)
    Server(("127.0.0.1", port), Handler).serve_forever()


# ----------------------------------------------------------------------------- the checks


def _thread_cpu_s(name: str) -> float:
    thread = next(t for t in threading.enumerate() if t.name == name)
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident or 0))


def check_inventory(out: Path) -> None:
    from costmodel.measure import inventory

    inv = inventory()
    text = inv.model_dump_json(indent=2)
    (out / "inventory.json").write_text(text)
    print("== inventory (what `opentco gpu --json` prints)\n" + text)


def profile_nvml(reps: int = 200) -> None:
    """Wall and CPU time of each NVML call the sampler could make (GPU 0)."""
    import pynvml

    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    calls = {
        "GetTotalEnergyConsumption": lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(h),
        "GetPowerUsage": lambda: pynvml.nvmlDeviceGetPowerUsage(h),
        "GetUtilizationRates": lambda: pynvml.nvmlDeviceGetUtilizationRates(h),
        "GetMemoryInfo": lambda: pynvml.nvmlDeviceGetMemoryInfo(h),
        "GetClockInfo(SM)": lambda: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
        "GetTemperature": lambda: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
        "GetFieldValues(instant W)": lambda: pynvml.nvmlDeviceGetFieldValues(h, [pynvml.NVML_FI_DEV_POWER_INSTANT]),
        "GetFieldValues(energy+instant W)": lambda: pynvml.nvmlDeviceGetFieldValues(
            h, [pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, pynvml.NVML_FI_DEV_POWER_INSTANT]
        ),
    }
    print(f"\n== NVML call cost on GPU 0, {reps} calls each")
    print(f"   {'call':<34} {'wall us':>8} {'CPU us':>8}")
    for name, call in calls.items():
        try:
            call()
        except pynvml.NVMLError as ex:
            print(f"   {name:<34} not supported ({ex})")
            continue
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for _ in range(reps):
            call()
        wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        print(f"   {name:<34} {wall / reps * 1e6:>8.1f} {cpu / reps * 1e6:>8.1f}")
    values = pynvml.nvmlDeviceGetFieldValues(h, [pynvml.NVML_FI_DEV_POWER_INSTANT])
    print(f"   instant power field: {values[0].value.uiVal / 1000:.1f} W (nvmlReturn {values[0].nvmlReturn})")
    pynvml.nvmlShutdown()


def check_sampler(seconds: float) -> None:
    import torch

    from costmodel.measure import NvmlSampler, window_energy

    a = torch.randn(8192, 8192, dtype=torch.bfloat16, device="cuda")
    torch.cuda.synchronize()
    # every reading every tick (no CPU budget), so NVML's power can be compared with the counter
    sampler = NvmlSampler(interval_s=0.1, detail_interval_s=0.1, cpu_budget=1.0)
    sampler.start()
    cpu0, t0 = _thread_cpu_s("opentco-nvml-sampler"), time.monotonic()
    idle_s = seconds / 4
    time.sleep(idle_s)
    load_start = time.monotonic()
    products = 0
    while time.monotonic() - load_start < seconds / 2:
        for _ in range(20):
            a @ a
        torch.cuda.synchronize()
        products += 20
    load_end = time.monotonic()
    time.sleep(idle_s)
    cpu = _thread_cpu_s("opentco-nvml-sampler") - cpu0
    wall = time.monotonic() - t0
    samples = sampler.stop()
    tflops = products * 2 * 8192**3 / (load_end - load_start) / 1e12
    rate = len(samples) / wall
    print(f"\n== sampler: {seconds:g} s at 10 Hz, all readings every tick, {len(samples)} samples ({rate:.2f}/s)")
    print(f"   sampler thread CPU {cpu / wall * 100:.4f} % of one core; unsupported readings: {sampler.unsupported}")
    print(f"   load phase: {products} bf16 8192³ products, {tflops:.0f} TFLOP/s")
    no_counter = [dataclasses.replace(s, energy_mj=None) for s in samples]
    print(f"   {'phase':<8} {'seconds':>8} {'counter J':>10} {'power-int J':>12} {'diff %':>7} {'mean W':>7}")
    for phase, start, end in (("idle", t0, load_start), ("load", load_start, load_end), ("idle", load_end, t0 + wall)):
        by_counter = window_energy(samples, start_s=start, end_s=end)
        by_power = window_energy(no_counter, start_s=start, end_s=end)
        if by_counter is None or by_power is None:
            print(f"   {phase:<8} (no samples)")
            continue
        diff = (by_power.energy_j - by_counter.energy_j) / by_counter.energy_j * 100
        print(
            f"   {phase:<8} {end - start:>8.2f} {by_counter.energy_j:>10.1f} {by_power.energy_j:>12.1f} "
            f"{diff:>7.2f} {by_counter.mean_power_w:>7.1f}  ({by_counter.basis})"
        )
    last = samples[-1]
    print(
        f"   last sample: {last.power_w} W, {last.gpu_util_pct} % util, {last.memory_used_mib:.0f} MiB, "
        f"{last.sm_clock_mhz} MHz, {last.temperature_c} °C"
    )


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"model server exited with {proc.returncode}; see server.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("model server not ready in time")


def check_sweep(out: Path, *, port: int, levels: list[int], duration_s: float, inp: int, outp: int) -> None:
    from decimal import Decimal

    from costmodel.measure import CostInputs, LoadSettings, run_benchmark, save_benchmark
    from costmodel.store import connect

    log = (out / "server.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_ready(port, proc, 240)
        print(f"\n== model server ready after {time.monotonic() - started:.1f} s (random-weight Llama, bf16)")
        settings = LoadSettings(
            endpoint=f"http://127.0.0.1:{port}/v1",
            model=MODEL_NAME,
            concurrency_levels=levels,
            input_tokens=inp,
            output_tokens=outp,
            duration_s_per_level=duration_s,
            request_timeout_s=120,
        )
        costs = CostInputs(usd_per_kwh=Decimal("0.12"), pue=1.4, usd_per_gpu_hour=Decimal("2.49"))
        result = run_benchmark(
            settings=settings,
            costs=costs,
            on_level=lambda lv: print(
                f"   level {lv.concurrency} done: {lv.output_tokens_per_s:.1f} tok/s", flush=True
            ),
        )
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    (out / "sweep.json").write_text(result.model_dump_json(indent=2, exclude={"samples"}))
    print(f"   server: {result.server}; GPU: {result.gpu_name}; hints accepted: {result.fixed_length_hints_accepted}")
    head = (
        f"   {'conc':>4} {'ok':>5} {'err':>4} {'in tok':>6} {'TTFT p50':>9} {'TTFT p95':>9} {'ITL p50':>8} "
        f"{'tok/s':>8} {'tok/s/str':>9} {'W/GPU':>7} {'J/tok':>7} {'$/Mtok kWh':>10} {'$/Mtok GPU':>10} basis"
    )
    print(head)
    for lv in result.levels:
        print(
            f"   {lv.concurrency:>4} {lv.requests_ok:>5} {lv.requests_failed:>4} "
            f"{lv.input_tokens_per_request or 0:>6.0f} "
            f"{lv.ttft_ms_p50 or 0:>9.1f} {lv.ttft_ms_p95 or 0:>9.1f} {lv.inter_token_ms_p50 or 0:>8.2f} "
            f"{lv.output_tokens_per_s:>8.1f} {lv.output_tokens_per_s_per_stream or 0:>9.1f} "
            f"{lv.watts_per_gpu or 0:>7.1f} {lv.joules_per_output_token or 0:>7.3f} "
            f"{lv.usd_per_mtok_energy or 0:>10.4f} {lv.usd_per_mtok_gpu_hours or 0:>10.4f} "
            f"{lv.energy_basis}/{lv.token_count_basis}"
        )
    for w in result.warnings:
        print(f"   warning: {w}")
    for lv in result.levels:
        util = [
            x.gpu_util_pct for x in result.samples if lv.start_s <= x.t_s <= lv.end_s and x.gpu_util_pct is not None
        ]
        counter = sum(1 for x in result.samples if lv.start_s <= x.t_s <= lv.end_s and x.energy_mj is not None)
        mean_util = sum(util) / len(util) if util else float("nan")
        print(f"   level {lv.concurrency}: GPU busy {mean_util:.0f} % of the time, {counter} counter readings")
    if "costmodel.usage" not in sys.modules:
        try:
            import genai_prices  # noqa: F401 - only to learn whether the usage tables can be imported
        except ImportError:  # not on the GPU image: the store's usage tables need it, the benchmark tables don't
            for name in ("costmodel.usage", "costmodel.usage.schema"):
                sys.modules[name] = types.ModuleType(name)
    con = connect(out / "bench.duckdb")
    benchmark_id = save_benchmark(con, result)
    con.close()
    print(f"   stored as benchmark #{benchmark_id} in bench.duckdb with {len(result.samples)} samples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["all", "serve", "sweep"])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "var/gpu_bench")))
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    parser.add_argument("--input-tokens", type=int, default=256)
    parser.add_argument("--output-tokens", type=int, default=128)
    parser.add_argument("--sampler-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.port)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    steps = (
        []
        if args.mode == "sweep"
        else [lambda: check_inventory(args.out), profile_nvml, lambda: check_sampler(args.sampler_seconds)]
    )
    steps.append(
        lambda: check_sweep(
            args.out,
            port=args.port,
            levels=[int(x) for x in args.levels.split(",")],
            duration_s=args.duration,
            inp=args.input_tokens,
            outp=args.output_tokens,
        )
    )
    for step in steps:
        try:
            step()
        except Exception:  # a bench harness: report the failure and go on to the next check
            traceback.print_exc()


if __name__ == "__main__":
    main()
