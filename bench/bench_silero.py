"""CPU cost of the Silero VAD plugin per session-second, against the raw model cost.

N concurrent streams (default 1, 10, 50) are each fed 20 ms frames of speech on a real-time
clock (``--speed 2`` feeds twice as fast with the same pacing), each with its own phase, as
audio from separate callers arrives. The process CPU time (all threads) during the run is
divided by the audio seconds analysed. The reference is the model alone: one ONNX Runtime
run per 32 ms window, single-threaded, in a plain loop, on the same audio.

    python bench/bench_silero.py [--streams 1,10,50] [--seconds 8] [--rates 16000,48000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import numpy as np
from livekit import rtc

from livekit.agents.utils.audio import AudioConverter, read_wav
from livekit.agents.vad import VADEventType
from livekit.plugins import silero
from livekit.plugins.silero import _model

FIXTURE = Path(__file__).parents[1] / "plugins/livekit-plugins-silero/tests/speech_16k.wav"
FRAME = 0.02


def load_audio(rate: int, seconds: float) -> list[rtc.AudioFrame]:
    """The speech fixture looped to ``seconds``, at ``rate``, in 20 ms frames."""
    _, _, frames = read_wav(FIXTURE)
    pcm16 = b"".join(bytes(f.data) for f in frames)
    reps = int(seconds * 16000 * 2 / len(pcm16)) + 1
    frame16 = rtc.AudioFrame(pcm16 * reps, 16000, 1, len(pcm16) * reps // 2)
    if rate != 16000:
        conv = AudioConverter(rate, 1)
        out = conv.push(frame16) + conv.flush()
        pcm = b"".join(bytes(f.data) for f in out)
    else:
        pcm = bytes(frame16.data)
    size = int(rate * FRAME)
    count = int(seconds / FRAME)
    return [
        rtc.AudioFrame(pcm[i * size * 2 : (i + 1) * size * 2], rate, 1, size) for i in range(count)
    ]


def raw_model_cost(seconds: float) -> float:
    """CPU seconds per window of the model alone (batch of one, sequential)."""
    session = _model.load_session(None)
    _, _, frames = read_wav(FIXTURE)
    pcm = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    audio = np.tile(pcm, int(seconds * 16000 / len(pcm)) + 1).astype(np.float32) / 32768.0
    sr = np.array(16000, dtype=np.int64)
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros(64, dtype=np.float32)
    windows = [audio[i : i + 512] for i in range(0, len(audio) - 512, 512)]
    for w in windows[:50]:  # warm up
        session.run(None, {"input": np.concatenate([context, w])[None], "state": state, "sr": sr})
    start = time.process_time()
    for w in windows:
        x = np.concatenate([context, w])[None]
        context = w[-64:]
        _, state = session.run(None, {"input": x, "state": state, "sr": sr})
    return (time.process_time() - start) / len(windows)


def paced_model_cost(n: int, seconds: float, speed: float) -> float:
    """CPU seconds per window of the model alone, at the cadence of ``n`` staggered streams.

    A model run after an idle gap costs more than in a tight loop (cold caches), so this is
    the fair reference for real-time feeding: the same runs, one window at a time, spaced as
    ``n`` streams produce them, counting only the time inside the model.
    """
    session = _model.load_session(None)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((1, 576)) * 0.1).astype(np.float32)
    sr = np.array(16000, dtype=np.int64)
    state = np.zeros((2, 1, 128), dtype=np.float32)
    count = int(n * seconds / 0.032)
    spacing = 0.032 / n / speed
    cpu = 0.0
    due = time.perf_counter()
    for _ in range(count):
        due += spacing
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        start = time.process_time()
        _, state = session.run(None, {"input": x, "state": state, "sr": sr})
        cpu += time.process_time() - start
    return cpu / count


async def feed(vad: silero.VAD, frames: list[rtc.AudioFrame], phase: float, speed: float, t0: float) -> tuple[int, int, float]:
    """Push frames on the clock; returns (windows, speech segments, lag after the last frame)."""
    stream = vad.stream()
    windows = segments = 0

    async def consume() -> None:
        nonlocal windows, segments
        async for ev in stream:
            if ev.type == VADEventType.INFERENCE_DONE:
                windows += 1
            elif ev.type == VADEventType.END_OF_SPEECH:
                segments += 1

    consumer = asyncio.create_task(consume())
    loop = asyncio.get_running_loop()
    for i, frame in enumerate(frames):
        due = t0 + (phase + i * FRAME) / speed
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        stream.push_frame(frame)
    last = loop.time()
    stream.end_input()
    await consumer
    return windows, segments, loop.time() - last


async def run_streams(n: int, frames: list[rtc.AudioFrame], speed: float, baseline: bool) -> dict[str, float]:
    vad = _NullVAD() if baseline else silero.VAD()
    runner = _model.get_runner(None)
    w0, b0, t0_cpu = runner.windows, runner.batches, runner.thread_cpu
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    cpu0, wall0, loop0 = time.process_time(), time.perf_counter(), time.thread_time()
    results = await asyncio.gather(
        *(feed(vad, frames, FRAME * i / n, speed, t0) for i in range(n))  # type: ignore[arg-type]
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    loop_cpu = time.thread_time() - loop0
    audio_seconds = n * len(frames) * FRAME
    windows = runner.windows - w0
    return {
        "cpu_ms_per_session_s": 1000 * cpu / audio_seconds,
        "cpu_pct_of_one_core": 100 * cpu / wall,
        "loop_ms_per_session_s": 1000 * loop_cpu / audio_seconds,
        "mean_batch": windows / max(1, runner.batches - b0),
        "thread_ms_per_session_s": 1000 * (runner.thread_cpu - t0_cpu) / audio_seconds,
        "max_lag_ms": 1000 * max(r[2] for r in results),
        "segments": statistics.mean(r[1] for r in results),
    }


class _NullVAD:
    """The same harness without inference: frames go into a stream that drops them."""

    def stream(self) -> _NullStream:
        return _NullStream()


class _NullStream:
    def __init__(self) -> None:
        self._done = asyncio.Event()

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        pass

    def end_input(self) -> None:
        self._done.set()

    def __aiter__(self) -> _NullStream:
        return self

    async def __anext__(self) -> None:
        await self._done.wait()
        raise StopAsyncIteration


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", default="1,10,50")
    parser.add_argument("--seconds", type=float, default=8.0, help="audio per stream")
    parser.add_argument("--rates", default="16000,48000", help="input sample rates")
    parser.add_argument("--speed", type=float, default=1.0, help="feeding speed (1 = real time)")
    parser.add_argument("--gather-ms", type=float, default=None,
                        help="longest wait for other streams' windows before a model run "
                             f"(default {_model.GATHER_SECONDS * 1000:g}; 0 = no batching wait)")
    args, _ = parser.parse_known_args()
    if args.gather_ms is not None:
        _model.GATHER_SECONDS = args.gather_ms / 1000

    silero.VAD.load()
    streams = [int(x) for x in args.streams.split(",")]
    hot = raw_model_cost(args.seconds * 4) * 1000 / 0.032
    paced = {n: paced_model_cost(n, args.seconds, args.speed) * 1000 / 0.032 for n in streams}
    print(f"Silero VAD plugin benchmark ({args.seconds:g} s of speech per stream, speed x{args.speed:g}, "
          f"batch gathering {_model.GATHER_SECONDS * 1000:g} ms)")
    print(f"model alone, back-to-back windows: {hot:.2f} ms CPU per session-second")
    print("model alone, paced like N streams: "
          + ", ".join(f"N={n}: {paced[n]:.2f}" for n in streams) + " ms CPU per session-second")
    print()
    header = (f"{'input':>6} {'N':>3} {'plugin':>7} {'harness':>7} {'net':>6} {'model':>6} "
              f"{'net/model':>9} {'net/b2b':>7} {'loop':>6} {'thread':>6} {'batch':>5} {'lag ms':>6}")
    print(header)
    print("-" * len(header))
    for rate in (int(r) for r in args.rates.split(",")):
        frames = load_audio(rate, args.seconds)
        for n in streams:
            base = await run_streams(n, frames, args.speed, baseline=True)
            res = await run_streams(n, frames, args.speed, baseline=False)
            net = res["cpu_ms_per_session_s"] - base["cpu_ms_per_session_s"]
            loop_net = res["loop_ms_per_session_s"] - base["loop_ms_per_session_s"]
            print(f"{rate:>6} {n:>3} {res['cpu_ms_per_session_s']:>7.2f} "
                  f"{base['cpu_ms_per_session_s']:>7.2f} {net:>6.2f} {paced[n]:>6.2f} "
                  f"{net / paced[n]:>9.2f} {net / hot:>7.2f} {loop_net:>6.2f} "
                  f"{res['thread_ms_per_session_s']:>6.2f} "
                  f"{res['mean_batch']:>5.1f} {res['max_lag_ms']:>6.1f}")
    print()
    print("All costs in ms of CPU (all threads) per second of audio per stream. plugin: the run")
    print("with the VAD (model, resampling, segmenter, events, feeding); harness: the same feeding")
    print("with no VAD; net = plugin - harness; model: the model alone paced like the N streams;")
    print("net/model: the target is <= 2; net/b2b: against back-to-back model runs; loop: the")
    print("event-loop thread's share of net; thread: the inference thread's (audio conversion and")
    print("model runs); batch: mean windows per model run; lag: last frame pushed to the end of")
    print("its stream's events.")

if __name__ == "__main__":
    asyncio.run(main())
