"""Latency of one end-of-turn decision with the semantic turn detector (Smart Turn v3.2).

Each decision goes through the public API, ``predict_end_of_turn(chat_ctx, audio=...)``, with
the turn audio the session would pass (speech plus a second of trailing silence, 16 kHz):
silence trimming, log-mel features, the model on the inference thread, and the hop back to the
event loop. Reports the median and p95 over the speech fixtures, the split between features and
model, and a burst of simultaneous decisions (sessions of one process share one thread).

    python bench/bench_turn_detector.py [--rounds 25] [--threads 1,2] [--burst 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from livekit.agents.llm import ChatContext
from livekit.agents.utils.audio import merge_frames, read_wav
from livekit.plugins.turn_detector import SmartTurnDetector, _features, _model

FIXTURES = Path(__file__).parents[1] / "plugins/livekit-plugins-turn-detector/tests"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def cold_start() -> tuple[float, float]:
    """(import seconds, model load seconds) in a fresh interpreter."""
    code = (
        "import time; t=time.perf_counter(); "
        "from livekit.plugins.turn_detector import _model; t1=time.perf_counter(); "
        "_model.load_session(None, 1); t2=time.perf_counter(); print(t1-t, t2-t1)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imp, load = (float(x) for x in out.stdout.split())
    return imp, load


async def decisions(threads: int, rounds: int) -> dict[str, float]:
    detector = SmartTurnDetector.load(cpu_threads=threads)
    clips = [merge_frames(read_wav(FIXTURES / name)[2]) for name in json.loads((FIXTURES / "fixtures.json").read_text())]
    ctx = ChatContext.empty()
    for c in clips:  # warm up
        await detector.predict_end_of_turn(ctx, audio=c)
    total: list[float] = []
    for _ in range(rounds):
        for c in clips:
            start = time.perf_counter()
            await detector.predict_end_of_turn(ctx, audio=c)
            total.append(time.perf_counter() - start)
    audio = np.frombuffer(clips[0].data, dtype=np.int16).astype(np.float32) / 32768
    feats: list[float] = []
    model: list[float] = []
    session = _model.load_session(None, threads)
    for _ in range(rounds):
        start = time.perf_counter()
        x = _features.log_mel(audio)[np.newaxis]
        mid = time.perf_counter()
        session.run(None, {"input_features": x})
        feats.append(mid - start)
        model.append(time.perf_counter() - mid)
    return {
        "median": statistics.median(total),
        "p95": percentile(total, 95),
        "features": statistics.median(feats),
        "model": statistics.median(model),
    }


async def burst(n: int) -> tuple[float, float]:
    """n decisions requested at once: (median, max) latency."""
    detector = SmartTurnDetector.load()
    clip = merge_frames(read_wav(FIXTURES / "question.wav")[2])
    ctx = ChatContext.empty()

    async def one() -> float:
        start = time.perf_counter()
        await detector.predict_end_of_turn(ctx, audio=clip)
        return time.perf_counter() - start

    times = await asyncio.gather(*(one() for _ in range(n)))
    return statistics.median(times), max(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=25, help="passes over the 4 fixtures")
    parser.add_argument("--threads", default="1,2", help="ONNX Runtime intra-op threads to try")
    parser.add_argument("--burst", type=int, default=10, help="simultaneous decisions")
    args, _ = parser.parse_known_args()

    imp, load = cold_start()
    print("Semantic turn detector (Smart Turn v3.2) benchmark")
    print(f"cold start in a fresh process: import {imp * 1000:.0f} ms, model load {load * 1000:.0f} ms")
    print()
    header = f"{'threads':>7} {'median ms':>9} {'p95 ms':>7} {'features ms':>11} {'model ms':>8}"
    print(header)
    print("-" * len(header))
    for threads in (int(t) for t in args.threads.split(",")):
        r = await decisions(threads, args.rounds)
        print(f"{threads:>7} {r['median'] * 1000:>9.1f} {r['p95'] * 1000:>7.1f} "
              f"{r['features'] * 1000:>11.1f} {r['model'] * 1000:>8.1f}")
    med, worst = await burst(args.burst)
    print()
    print(f"{args.burst} decisions at once (one inference thread, 1 intra-op thread): "
          f"median {med * 1000:.0f} ms, last {worst * 1000:.0f} ms")
    print()
    print("median/p95: one decision through predict_end_of_turn (trim, features, model, thread")
    print(f"hop), {args.rounds} passes over the 4 fixtures; features/model: medians of the two steps.")


if __name__ == "__main__":
    asyncio.run(main())
