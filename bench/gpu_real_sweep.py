"""Real-GPU check of the measurement code (needs an NVIDIA GPU, torch and transformers; no network).

`python bench/gpu_real_sweep.py all --out DIR` runs, in order:

1. the GPU inventory (what `opentco gpu --json` prints);
2. a 20 s sampler run at 10 Hz: 5 s idle, 10 s of bf16 matrix products, 5 s idle; energy per phase from
   the energy counter and from integrated power side by side, and the sampler thread's CPU share;
3. a model served on the GPU by a minimal OpenAI-compatible streaming server (`serve`, started here as a
   subprocess) and a sweep with the load generator (`--levels`, default 1,8,32) while NVML is sampled; the
   run is stored in DIR/bench.duckdb and printed, with the server's own step statistics.

The served model (`--arch`) is a Llama-architecture transformer built from a config with RANDOM weights,
bf16 — no weights can be downloaded, so its tokens are meaningless, but the arithmetic and memory traffic
per token are those of the real model:

- `llama-3.1-8b` (default): Llama 3.1 8B's shape (32 layers, hidden 4096, 32 heads / 8 KV heads, MLP 14336,
  vocab 128256, RoPE θ 500000; plain RoPE, without Llama 3.1's long-context frequency scaling, which costs
  nothing extra). It is stored under the model name `llama-3.1-8b`, so the Hardware-fit page puts it next to
  the estimate for llama-3.1-8b on an H100 (`latest_measurement` matches the name and the NVML GPU name).
- `tiny-1b`: the ~1.1 B model of the first runs (16 layers, hidden 2048, MLP 8192, vocab 32000), stored as
  `random-llama-1.1b`.

The server does continuous batching: one background thread owns the GPU. New requests are prefilled one at
a time (up to `PREFILL_BUDGET` prompt tokens per step) straight into a slot of a preallocated KV cache
(`--max-batch` slots × `--max-len` positions per layer) and join the running batch at the next step. Each
step is one batched forward for every slot up to the highest one in use (rounded up to a power of two),
written here over the model's own modules: the new K/V go to each slot's own position, attention reads the
slot's cache under a length mask (grouped-query heads folded so K/V are never repeated), greedy argmax on
the GPU. On CUDA each bucket's step is captured once as a CUDA graph, so a step costs the CPU one launch
instead of hundreds. Steps are pipelined one deep: step n+1 is queued before the host waits for step n's tokens
(one device-to-host copy of the whole batch per step), which it then hands to the per-request queues; the
HTTP handling stays in threads. It is still eager PyTorch with no paged attention, fused kernels,
chunked prefill or quantisation — a floor for what the GPU does, not what vLLM reaches on it.

The first version (static batching, eager, 1.1 B model) kept an H100 busy only 5–12 % of the time: one
Python process launching ~500 kernels per token for many streams was bound by the CPU and the GIL. This one,
with the 8 B shape on an H100 SXM, kept it busy 96 % (1 stream) to 78 % (64 streams) and reached 107 to
2262 output tokens/s, about 0.58× the engine's estimate at every level; see gpu_real_sweep_notes.md.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
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

ARCHS: dict[str, dict[str, Any]] = {
    "tiny-1b": {
        "vocab_size": 32_000,
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": False,
    },
    "llama-3.1-8b": {
        "vocab_size": 128_256,
        "hidden_size": 4096,
        "intermediate_size": 14_336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "max_position_embeddings": 8192,
        "rope_theta": 500_000.0,
        "tie_word_embeddings": False,
    },
}
# The name the benchmark is stored under: the catalogue's model id where the shape is a catalogue model's.
MODEL_NAMES = {"tiny-1b": "random-llama-1.1b", "llama-3.1-8b": "llama-3.1-8b"}
PREFILL_BUDGET = 8192  # prompt tokens prefilled between two decode steps at most (at least one prompt)


# ----------------------------------------------------------------------------- the model server


@dataclasses.dataclass(eq=False)
class _Job:
    ids: list[int]
    max_tokens: int
    out: queue.Queue[int | None]
    remaining: int = 0
    slot: int = -1
    done: bool = False


@dataclasses.dataclass
class _Step:
    """Tokens queued for the host: a decode step's (one per slot), or the first tokens of new requests."""

    event: Any  # torch.cuda.Event recorded after the copy, or None on the CPU (the copy is synchronous there)
    host: Any  # host tensor, one token per job of `batch`
    batch: list[_Job | None]  # whose each token is, as it was when the step was queued (None: idle slot)


class _Engine:
    """Continuous batching over a per-slot static KV cache, one decode step for all slots at a time."""

    def __init__(
        self, arch: str, *, max_batch: int = 64, max_len: int = 1024, dtype: Any = None, graphs: bool = True
    ) -> None:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        self.torch = torch
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.cuda = self.device.type == "cuda"
        self.dtype = dtype or (torch.bfloat16 if self.cuda else torch.float32)
        config = LlamaConfig(**ARCHS[arch])
        torch.manual_seed(0)
        default = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)  # build in the serving dtype: no fp32 copy of 8 B weights
        try:
            with self.device:
                model = LlamaForCausalLM(config)
        finally:
            torch.set_default_dtype(default)
        self.model = model.to(self.dtype).eval().requires_grad_(False)
        inner = model.model
        self.embed, self.layers, self.norm, self.lm_head = (
            inner.embed_tokens,
            list(inner.layers),
            inner.norm,
            model.lm_head,
        )
        self.inv_freq = inner.rotary_emb.inv_freq.float().to(self.device)
        self.rope_scaling = float(getattr(inner.rotary_emb, "attention_scaling", 1.0))
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.group = self.heads // self.kv_heads
        self.vocab = config.vocab_size
        self.params = sum(p.numel() for p in model.parameters())
        self.max_batch, self.max_len = max_batch, max_len
        shape = (max_batch, self.kv_heads, max_len, self.head_dim)
        self.k_cache = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in self.layers]
        self.v_cache = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in self.layers]
        long = {"dtype": torch.long, "device": self.device}
        self.tok = torch.zeros(max_batch, **long)  # each slot's input token for the next step
        self.pos = torch.zeros(max_batch, **long)  # each slot's position of that token
        self.nxt = torch.zeros(max_batch, **long)  # each slot's output of the last step
        self.rows = torch.arange(max_batch, **long)
        self.cols = torch.arange(max_len, **long)
        self.host = [torch.zeros(max_batch, dtype=torch.long, pin_memory=self.cuda) for _ in range(3)]
        self.buckets = sorted({min(1 << i, max_batch) for i in range(max_batch.bit_length() + 1)})
        self.graphs: dict[int, Any] = {}
        self.graph_error: str | None = None
        if self.cuda and graphs:
            try:
                self._capture()
            except Exception as ex:  # eager steps still work, only with more CPU per step
                self.graph_error = f"{type(ex).__name__}: {ex}"
                self.graphs.clear()
        self.stats = collections.Counter(steps=0, slot_steps=0, tokens=0, prefill_tokens=0)
        self.waiting: queue.Queue[_Job] = queue.Queue()
        self.active = 0  # streams between request and last byte sent (changed by the HTTP threads)
        self.active_lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True, name="decode-loop").start()
        threading.Thread(target=self._report, daemon=True, name="stats").start()

    # -- the model, written over the transformers modules (same weights, same arithmetic)

    def _rope(self, pos: Any) -> tuple[Any, Any]:
        """cos and sin for positions [B, T], shaped [B, 1, T, head_dim] to broadcast over heads."""
        torch = self.torch
        freqs = pos.float()[..., None] * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos() * self.rope_scaling, emb.sin() * self.rope_scaling
        return cos.to(self.dtype)[:, None], sin.to(self.dtype)[:, None]

    def _rotate(self, x: Any, cos: Any, sin: Any) -> Any:
        half = x.shape[-1] // 2
        return x * cos + self.torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin

    def _qkv(self, layer: Any, x: Any, cos: Any, sin: Any) -> tuple[Any, Any, Any]:
        b, t, _ = x.shape
        attn, h = layer.self_attn, layer.input_layernorm(x)
        q = attn.q_proj(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = attn.k_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = attn.v_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        return self._rotate(q, cos, sin), self._rotate(k, cos, sin), v

    @staticmethod
    def _rest(layer: Any, x: Any, a: Any) -> Any:
        x = x + layer.self_attn.o_proj(a)
        return x + layer.mlp(layer.post_attention_layernorm(x))

    def _prefill(self, ids: list[int], slot: int) -> Any:
        """Run the prompt through the model into `slot` of the cache; the first output token, [1] on device."""
        torch = self.torch
        t = len(ids)
        ids_host = torch.tensor([ids], dtype=torch.long, pin_memory=self.cuda)
        x = self.embed(ids_host.to(self.device, non_blocking=True))  # pinned: no wait for the queued step
        cos, sin = self._rope(self.cols[:t][None])
        for i, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x, cos, sin)
            self.k_cache[i][slot, :, :t] = k[0]
            self.v_cache[i][slot, :, :t] = v[0]
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.group > 1)
            x = self._rest(layer, x, a.transpose(1, 2).reshape(1, t, -1))
        return self.lm_head(self.norm(x[:, -1:]))[:, -1].argmax(-1)

    def _step(self, b: int) -> None:
        """One decode step for slots [0, b): static shapes and no host syncs, so it can be a CUDA graph."""
        torch = self.torch
        tok, pos, rows = self.tok[:b], self.pos[:b], self.rows[:b]
        x = self.embed(tok[:, None])
        cos, sin = self._rope(pos[:, None])
        mask = (self.cols[None, :] <= pos[:, None])[:, None, None, :]  # [b, 1, 1, max_len]: the slot's prefix
        for i, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x, cos, sin)
            kc, vc = self.k_cache[i], self.v_cache[i]
            kc[rows, :, pos] = k[:, :, 0]
            vc[rows, :, pos] = v[:, :, 0]
            # the `group` query heads that share a KV head become that head's "query positions": no K/V repeat
            qg = q.reshape(b, self.kv_heads, self.group, self.head_dim)
            a = torch.nn.functional.scaled_dot_product_attention(qg, kc[:b], vc[:b], attn_mask=mask)
            x = self._rest(layer, x, a.reshape(b, 1, self.heads * self.head_dim))
        nxt = self.lm_head(self.norm(x))[:, 0].argmax(-1)
        self.nxt[:b].copy_(nxt)
        self.tok[:b].copy_(nxt)
        self.pos[:b].add_(1).clamp_(max=self.max_len - 1)  # idle slots run too; keep them inside the cache

    def _capture(self) -> None:
        torch = self.torch
        pool = torch.cuda.graph_pool_handle()
        with torch.inference_mode():
            for b in sorted(self.buckets, reverse=True):  # largest first: the smaller ones reuse its memory
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(2):
                        self._step(b)
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):
                    self._step(b)
                self.graphs[b] = graph
            self.tok.zero_()
            self.pos.zero_()
        torch.cuda.synchronize()

    # -- the scheduler

    def _loop(self) -> None:
        slots: list[_Job | None] = [None] * self.max_batch
        backlog: collections.deque[_Job] = collections.deque()
        pending: _Step | None = None
        parity = 0
        with self.torch.inference_mode():
            while True:
                try:
                    if pending is None and not backlog and not any(slots):
                        backlog.append(self.waiting.get())  # idle: sleep until a request comes
                    firsts = self._admit(slots, backlog)  # prefills, queued behind step n-1
                    current = self._launch(slots, parity)  # step n, queued behind them
                    parity ^= 1
                    if pending is not None:
                        self._hand_out(pending, slots)  # step n-1's tokens, while the GPU goes on
                    if firsts is not None:
                        self._hand_out(firsts, slots)  # the new requests' first tokens, while step n runs
                    pending = current
                except Exception:
                    traceback.print_exc()
                    for job in [*slots, *(pending.batch if pending else [])]:
                        if job is not None and not job.done:
                            job.done = True
                            job.out.put(None)
                    slots = [None] * self.max_batch
                    pending = None
                    if self.cuda:
                        self.torch.cuda.synchronize()

    def _admit(self, slots: list[_Job | None], backlog: collections.deque[_Job]) -> _Step | None:
        """Prefill waiting requests into free slots (up to PREFILL_BUDGET prompt tokens); their first tokens."""
        admitted: list[_Job | None] = []
        firsts: list[Any] = []
        budget = PREFILL_BUDGET
        while budget > 0 and None in slots:
            if backlog:
                job = backlog.popleft()
            else:
                try:
                    job = self.waiting.get_nowait()
                except queue.Empty:
                    break
            job.slot = slots.index(None)
            job.max_tokens = job.remaining = max(1, min(job.max_tokens, self.max_len // 2))
            ids = job.ids[-(self.max_len - job.max_tokens) :]  # prompt + answer must fit the slot
            first = self._prefill(ids, job.slot)
            self.tok[job.slot : job.slot + 1].copy_(first)
            self.pos[job.slot].fill_(len(ids))
            slots[job.slot] = job
            admitted.append(job)
            firsts.append(first)
            budget -= len(ids)
            self.stats["prefill_tokens"] += len(ids)
        if not admitted:
            return None
        return self._to_host(self.torch.cat(firsts), self.host[2], admitted)

    def _to_host(self, tokens: Any, buffer: Any, batch: list[_Job | None]) -> _Step:
        host = buffer[: len(batch)]
        host.copy_(tokens, non_blocking=self.cuda)  # into pinned memory: the host does not wait here
        event = None
        if self.cuda:
            event = self.torch.cuda.Event()
            event.record()
        return _Step(event=event, host=host, batch=batch)

    def _launch(self, slots: list[_Job | None], parity: int) -> _Step | None:
        """Queue one decode step for slots [0, b), b the bucket that holds every slot in use."""
        used = [i for i, job in enumerate(slots) if job is not None]
        if not used:
            return None
        b = next(x for x in self.buckets if x > used[-1])
        graph = self.graphs.get(b)
        if graph is not None:
            graph.replay()
        else:
            self._step(b)
        self.stats["steps"] += 1
        self.stats["slot_steps"] += len(used)
        return self._to_host(self.nxt[:b], self.host[parity], list(slots[:b]))

    def _hand_out(self, step: _Step, slots: list[_Job | None]) -> None:
        if step.event is not None:
            step.event.synchronize()  # releases the GIL while it waits
        for job, token in zip(step.batch, step.host.tolist(), strict=True):
            if job is None or job.done:
                continue  # an idle slot, or a job that finished while this step was queued
            job.out.put(token)
            job.remaining -= 1
            self.stats["tokens"] += 1
            if job.remaining == 0:
                job.done = True
                job.out.put(None)
                slots[job.slot] = None

    def _report(self, every_s: float = 5.0) -> None:
        last, t0 = collections.Counter(), time.monotonic()
        while True:
            time.sleep(every_s)
            now, t1 = collections.Counter(self.stats), time.monotonic()
            d = now - last
            if d["steps"] or d["prefill_tokens"]:
                dt = t1 - t0
                per_step = d["slot_steps"] / max(d["steps"], 1)
                print(
                    f"[server] {d['steps'] / dt:6.1f} steps/s, {per_step:5.1f} streams/step, "
                    f"{d['tokens'] / dt:7.1f} tok/s out, {d['prefill_tokens'] / dt:8.1f} prompt tok/s",
                    flush=True,
                )
            last, t0 = now, t1


def _tokenise(text: str, vocab: int) -> list[int]:
    # A stand-in word-level tokenizer (no tokenizer files can be downloaded): one token per word.
    return [1] + [zlib.crc32(w.encode()) % (vocab - 100) + 100 for w in text.split()]


def serve(port: int, *, arch: str = "llama-3.1-8b", max_batch: int = 64, max_len: int = 1024) -> None:
    # The decode loop needs the GIL for a moment each step; with the default 5 ms switch interval it could
    # wait behind the streaming threads that long, so hand over sooner.
    sys.setswitchinterval(0.0005)
    model_name = MODEL_NAMES[arch]
    started = time.monotonic()
    engine = _Engine(arch, max_batch=max_batch, max_len=max_len)
    built = time.monotonic() - started
    for n in (1, 2):  # warm up the prefill and decode paths (and, with two, a bigger bucket)
        jobs = [_Job(ids=_tokenise("warm up " * 100, engine.vocab), max_tokens=4, out=queue.Queue()) for _ in range(n)]
        for job in jobs:
            engine.waiting.put(job)
        for job in jobs:
            while job.out.get() is not None:
                pass

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "opentco-gpu-bench/2.0"

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
            self._send_json(200, {"data": [{"id": model_name, "owned_by": "opentco-gpu-bench"}]})

        def _event(self, obj: object) -> None:
            data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("model") != model_name:
                self._send_json(404, {"error": {"message": f"model {body.get('model')!r} not served"}})
                return
            ids = _tokenise(" ".join(m["content"] for m in body["messages"]), engine.vocab)
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
                prompt = min(len(ids), engine.max_len - job.max_tokens)  # what the engine kept of the prompt
                usage = {"prompt_tokens": prompt, "completion_tokens": made, "total_tokens": prompt + made}
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

    graphs = (
        f"CUDA graphs for batch {sorted(engine.graphs)}"
        if engine.graphs
        else f"eager steps (graphs: {engine.graph_error or 'off'})"
    )
    print(
        f"READY {model_name}: {engine.params / 1e9:.3f}B parameters, {engine.dtype}, on {engine.device}, "
        f"built in {built:.1f} s; KV cache {engine.max_batch} slots × {engine.max_len} positions; {graphs}",
        flush=True,
    )
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


def default_max_len(inp: int, outp: int) -> int:
    """KV positions per slot: prompt + answer + room for the prompt's preamble, a multiple of 128."""
    return -(-(inp + outp + 64) // 128) * 128


def check_sweep(
    out: Path,
    *,
    port: int,
    arch: str,
    levels: list[int],
    duration_s: float,
    inp: int,
    outp: int,
    max_batch: int,
    max_len: int | None,
) -> None:
    from decimal import Decimal

    from costmodel.measure import CostInputs, LoadSettings, run_benchmark, save_benchmark
    from costmodel.store import connect

    model_name = MODEL_NAMES[arch]
    max_batch = max(max_batch, max(levels))
    max_len = max_len or default_max_len(inp, outp)
    log_path = out / "server.log"
    log = log_path.open("wb")
    started = time.monotonic()
    command = [sys.executable, __file__, "serve", "--port", str(port), "--arch", arch]
    command += ["--max-batch", str(max_batch), "--max-len", str(max_len)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, proc, 300)
        ready = next((ln for ln in log_path.read_text().splitlines() if ln.startswith("READY")), "READY ?")
        print(f"\n== model server ready after {time.monotonic() - started:.1f} s: {ready}", flush=True)
        settings = LoadSettings(
            endpoint=f"http://127.0.0.1:{port}/v1",
            model=model_name,
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
        print("   server log (last 40 lines):")
        for line in log_path.read_text(errors="replace").splitlines()[-40:]:
            print(f"   | {line}")
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
    parser.add_argument("--arch", choices=sorted(ARCHS), default="llama-3.1-8b", help="shape of the served model")
    parser.add_argument("--max-batch", type=int, default=64, help="KV-cache slots (at least the highest level)")
    parser.add_argument("--max-len", type=int, default=None, help="KV positions per slot (default: from the lengths)")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    parser.add_argument("--input-tokens", type=int, default=512)
    parser.add_argument("--output-tokens", type=int, default=128)
    parser.add_argument("--sampler-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(
            args.port,
            arch=args.arch,
            max_batch=args.max_batch,
            max_len=args.max_len or default_max_len(args.input_tokens, args.output_tokens),
        )
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
            arch=args.arch,
            levels=[int(x) for x in args.levels.split(",")],
            duration_s=args.duration,
            inp=args.input_tokens,
            outp=args.output_tokens,
            max_batch=args.max_batch,
            max_len=args.max_len,
        )
    )
    for step in steps:
        try:
            step()
        except Exception:  # a bench harness: report the failure and go on to the next check
            traceback.print_exc()


if __name__ == "__main__":
    main()
