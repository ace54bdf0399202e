"""Many voice sessions in one process: CPU, memory and event-loop lag at N = 1, 10, 50.

Each session is a full voice pipeline: the real Silero VAD (``vad="silero"``, one model shared
by the process) and the fake STT, LLM and TTS of ``livekit.agents.testing``. Every session is
fed 20 ms frames on a real-time clock: a spoken question (examples/assets/question.wav,
resampled to the room input rate) then silence, over and over, so each session hears a
question, answers it (the answer "plays" on a simulated speaker) and waits for the next one.
Sessions are staggered (frame phase and position in the conversation) like independent callers.

Each N runs in a fresh process so that memory is measured from a clean baseline. Reported:
process CPU time (all threads) per second of session audio, RSS growth per session, the lag of
a 20 ms ticker on the event loop, feeder frames pushed more than one frame late, and the delay
from the end of the question audio to the agent's reply starting to play.

    python bench/bench_concurrency.py [--sessions 1,10,50] [--seconds 20] [--rate 24000]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.testing import FakeLLM, FakeSTT, FakeTTS
from livekit.agents.utils.audio import AudioConverter, read_wav
from livekit.agents.voice import QueueAudioInput, SimulatedAudioOutput

QUESTION = Path(__file__).parents[1] / "examples/assets/question.wav"
FRAME = 0.02
#: silence after each question: the reply (about 1.2 s of audio) plays in it
GAP = 3.0
REPLY = "Sure, it is sunny today."


def rss_mb() -> float:
    """Current resident set size of this process in MB, after a GC and returning free heap."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, not current


def conversation(rate: int) -> tuple[list[rtc.AudioFrame], tuple[int, int]]:
    """One cycle (question, then silence) in 20 ms frames at ``rate``; and the indexes of the
    first and last frames of speech."""
    _, _, frames16 = read_wav(QUESTION)
    pcm = b"".join(bytes(f.data) for f in frames16)
    pcm += bytes(int(GAP * 16000) * 2)
    audio = np.frombuffer(pcm, dtype=np.int16)
    rms = [np.sqrt(np.mean((audio[i : i + 320] / 32768) ** 2)) for i in range(0, len(audio) - 320, 320)]
    loud = [k for k, r in enumerate(rms) if r >= 0.01]
    speech = (loud[0], loud[-1])
    frame16 = rtc.AudioFrame(pcm, 16000, 1, len(audio))
    if rate != 16000:
        conv = AudioConverter(rate, 1)
        pcm = b"".join(bytes(f.data) for f in conv.push(frame16) + conv.flush())
    size = int(rate * FRAME)
    return [rtc.AudioFrame(pcm[i : i + 2 * size], rate, 1, size)
            for i in range(0, len(pcm) - 2 * size + 1, 2 * size)], speech


class Caller:
    """One session with its audio input, simulated speaker and reply timings."""

    def __init__(self) -> None:
        self.session: AgentSession[Any] = AgentSession(
            vad="silero", stt=FakeSTT(default="what is the weather like today"),
            llm=FakeLLM(default=REPLY), tts=FakeTTS(), user_away_timeout=None,
        )
        self.input = QueueAudioInput()
        self.output = SimulatedAudioOutput()
        self.session.input.audio = self.input
        self.session.output.audio = self.output
        self.replies: list[float] = []  # loop time at which each reply started playing
        self.output.on("playback_started", lambda _: self.replies.append(asyncio.get_running_loop().time()))

    async def feed(self, frames: list[rtc.AudioFrame], start: int, t0: float, count: int,
                   speech_ends: list[float], speech: tuple[int, int]) -> list[float]:
        """Push ``count`` frames on the clock from ``t0``; returns each frame's lateness.

        ``speech_ends`` gets the time of the last speech frame of each whole question pushed
        (a session that starts mid-question does not count that one)."""
        loop = asyncio.get_running_loop()
        late: list[float] = []
        heard_start = False
        for i in range(count):
            due = t0 + i * FRAME
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            late.append(loop.time() - due)
            k = (start + i) % len(frames)
            self.input.push_frame(frames[k])
            if k == speech[0]:
                heard_start = True
            elif k == speech[1] and heard_start:
                speech_ends.append(due)
                heard_start = False
        return late


async def ticker(until: float, lags: list[float]) -> None:
    """Wake every 20 ms; record how late each wake-up is."""
    loop = asyncio.get_running_loop()
    due = loop.time()
    while due < until:
        due += FRAME
        await asyncio.sleep(max(0.0, due - loop.time()))
        lags.append(loop.time() - due)


async def warm_up(frames: list[rtc.AudioFrame]) -> None:
    """One session through a whole turn, so lazy imports and first-use costs are paid."""
    caller = Caller()
    await caller.session.start(Agent(instructions="You answer questions."))
    for f in frames:
        caller.input.push_frame(f)
    deadline = time.monotonic() + 10
    while not caller.replies and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await caller.session.aclose()


async def run(n: int, seconds: float, rate: int) -> dict[str, Any]:
    from livekit.plugins import silero

    silero.VAD.load()
    frames, speech = conversation(rate)
    await warm_up(frames)
    rss0 = rss_mb()

    callers = [Caller() for _ in range(n)]
    await asyncio.gather(*(c.session.start(Agent(instructions="You answer questions.")) for c in callers))
    loop = asyncio.get_running_loop()
    count = int(seconds / FRAME)
    t0 = loop.time() + 0.1
    ends: list[list[float]] = [[] for _ in callers]
    lags: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    tick = asyncio.create_task(ticker(t0 + seconds, lags))
    late = await asyncio.gather(*(
        c.feed(frames, (i * len(frames)) // n, t0 + FRAME * i / n, count, ends[i], speech)
        for i, c in enumerate(callers)
    ))
    await tick
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    rss1 = rss_mb()

    delays = []  # end of the question's speech -> the reply starts playing
    unanswered = 0  # no reply before the next question
    cycle = len(frames) * FRAME
    for c, e in zip(callers, ends, strict=True):
        for end in e:
            after = [r for r in c.replies if end < r < end + cycle]
            if after:
                delays.append(after[0] - end)
            elif end < t0 + seconds - 2.5:  # enough time was left for a reply
                unanswered += 1
    await asyncio.gather(*(c.session.aclose() for c in callers))
    all_late = [x for per in late for x in per]
    return {
        "n": n,
        "seconds": seconds,
        "cpu_s_per_session_s": cpu / (n * seconds),
        "cpu_pct": 100 * cpu / wall,
        "rss_base_mb": rss0,
        "rss_mb_per_session": (rss1 - rss0) / n,
        "lag_p95_ms": 1000 * float(np.percentile(lags, 95)),
        "lag_max_ms": 1000 * max(lags),
        "frames": len(all_late),
        "frames_late": sum(1 for x in all_late if x > FRAME),
        "replies": len(delays),
        "unanswered": unanswered,
        "reply_delay_median_ms": 1000 * statistics.median(delays) if delays else float("nan"),
        "reply_delay_max_ms": 1000 * max(delays) if delays else float("nan"),
    }


def realtime(r: dict[str, Any]) -> bool:
    """The loop kept real time: p95 tick lag under one frame, <1% of frames a frame late, every
    question answered."""
    return bool(r["lag_p95_ms"] < 1000 * FRAME and r["frames_late"] < 0.01 * r["frames"]
                and r["unanswered"] == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="1,10,50", help="session counts to run")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio fed to each session")
    parser.add_argument("--rate", type=int, default=24000, help="input sample rate (rooms: 24000)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON lines")
    args, _ = parser.parse_known_args()
    if args.child is not None:
        print(json.dumps(asyncio.run(run(args.child, args.seconds, args.rate))))
        return

    results = []
    for n in (int(x) for x in args.sessions.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--seconds", str(args.seconds),
                              "--rate", str(args.rate)], capture_output=True, text=True)
        try:
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            sys.exit(f"N={n} failed (exit code {out.returncode}):\n{out.stderr}")
        if out.returncode != 0:  # it measured, then failed on the way out: say so
            print(f"warning: N={n} exited with code {out.returncode} after reporting: "
                  f"{out.stderr.strip()[-300:]}", file=sys.stderr)
    if args.json:
        for r in results:
            print(json.dumps(r))
        return
    print(f"Concurrent voice sessions (Silero VAD + fake STT/LLM/TTS), {args.seconds:g} s of "
          f"{args.rate} Hz audio per session, fed in real time, one process per N")
    header = (f"{'N':>3} {'CPU s/sess-s':>12} {'CPU %':>6} {'MB/sess':>7} {'lag p95':>7} {'lag max':>7} "
              f"{'late fr':>7} {'replies':>7} {'reply p50':>9} {'reply max':>9} {'real time':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['n']:>3} {r['cpu_s_per_session_s']:>12.4f} {r['cpu_pct']:>6.1f} "
              f"{r['rss_mb_per_session']:>7.2f} {r['lag_p95_ms']:>7.1f} {r['lag_max_ms']:>7.1f} "
              f"{r['frames_late']:>7} {r['replies']:>7} {r['reply_delay_median_ms']:>9.0f} "
              f"{r['reply_delay_max_ms']:>9.0f} {'yes' if realtime(r) else 'NO':>9}")
    print()
    print("CPU s/sess-s: process CPU seconds (all threads) per second of audio per session;")
    print("CPU %: of one core over the run (the machine's ceiling is 100 x cores); MB/sess: RSS")
    print("growth / N; lag: how late a 20 ms ticker on the event loop woke (ms); late fr: frames")
    print("pushed more than 20 ms after their due time; replies: questions answered; reply p50/max:")
    print("end of the question's speech -> reply audio starts (ms; includes the VAD's 0.55 s")
    print("silence and the 0.5 s endpointing delay); real time: lag p95 < 20 ms, < 1% frames")
    print("late and every question answered.")


if __name__ == "__main__":
    main()
