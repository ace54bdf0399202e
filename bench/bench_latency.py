"""Framework latency of a voice turn, with instant providers and zero endpointing delay.

Measures the time from the end of the user's speech (the VAD's END_OF_SPEECH and the STT's final
transcript both delivered) to the first TTS audio frame reaching the output, over many turns.
Everything but the framework is instant, so this is the framework's own overhead.

    python bench/bench_latency.py [--turns 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from typing import Any

from _common import report, summarize
from livekit import rtc

from livekit.agents import Agent, AgentSession
from livekit.agents.stt import (
    STT,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
)
from livekit.agents.testing import FakeLLM, FakeTTS
from livekit.agents.vad import VAD, VADCapabilities, VADEvent, VADEventType, VADStream
from livekit.agents.voice import AudioOutput, QueueAudioInput


class ManualVAD(VAD):
    def __init__(self) -> None:
        super().__init__(capabilities=VADCapabilities(update_interval=0.02))
        self.streams: list[_ManualVADStream] = []

    def stream(self) -> VADStream:
        s = _ManualVADStream(self)
        self.streams.append(s)
        return s


class _ManualVADStream(VADStream):
    async def _main_task(self) -> None:
        async for _ in self._input_ch:
            pass

    def emit(self, kind: VADEventType) -> None:
        self._event_ch.send_nowait(VADEvent(type=kind, samples_index=0, timestamp=0.0, speech_duration=0.3,
                                            silence_duration=0.0, speaking=kind == VADEventType.START_OF_SPEECH))


class ManualSTT(STT):
    def __init__(self) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=True, interim_results=False))
        self.streams: list[_ManualSTTStream] = []

    async def _recognize_impl(self, buffer: Any, *, language: Any, conn_options: Any) -> SpeechEvent:
        raise NotImplementedError

    def stream(self, *, language: Any = None, conn_options: Any = None) -> RecognizeStream:
        from livekit.agents import DEFAULT_API_CONNECT_OPTIONS

        s = _ManualSTTStream(stt=self, conn_options=DEFAULT_API_CONNECT_OPTIONS)
        self.streams.append(s)
        return s


class _ManualSTTStream(RecognizeStream):
    async def _run(self) -> None:
        async for _ in self._input_ch:
            pass

    def final(self, text: str) -> None:
        self._event_ch.send_nowait(SpeechEvent(SpeechEventType.FINAL_TRANSCRIPT,
                                               alternatives=[SpeechData(language="en", text=text)]))


class TimingOutput(AudioOutput):
    """Records when the first frame of each segment arrives; plays instantly."""

    def __init__(self) -> None:
        super().__init__(label="timing", sample_rate=None, can_pause=False)
        self.first_frame = asyncio.Event()
        self.first_frame_at = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        new_segment = not self._capturing
        await super().capture_frame(frame)
        if new_segment:
            self.first_frame_at = time.perf_counter()
            self.first_frame.set()
            self.on_playback_started(created_at=time.time())

    def flush(self) -> None:
        super().flush()
        self.on_playback_finished(playback_position=0.0, interrupted=False)

    def clear_buffer(self) -> None:
        self.on_playback_finished(playback_position=0.0, interrupted=True)


async def run(turns: int) -> dict[str, Any]:
    vad, stt = ManualVAD(), ManualSTT()
    llm = FakeLLM(default="Sure. Here is a short answer to your question.")
    session = AgentSession(vad=vad, stt=stt, llm=llm, tts=FakeTTS(seconds_per_char=0.001),
                           min_endpointing_delay=0.0, max_endpointing_delay=0.0, user_away_timeout=None)
    session.input.audio = QueueAudioInput()
    out = TimingOutput()
    session.output.audio = out
    await session.start(Agent(instructions="x"))
    while not (vad.streams and stt.streams):
        await asyncio.sleep(0.01)
    v, s = vad.streams[-1], stt.streams[-1]
    samples: list[float] = []
    gc.collect()
    gc.freeze()
    for i in range(turns + 5):
        out.first_frame.clear()
        v.emit(VADEventType.START_OF_SPEECH)
        await asyncio.sleep(0.005)
        s.final(f"question number {i}")
        v.emit(VADEventType.END_OF_SPEECH)
        t0 = time.perf_counter()  # both events are delivered from here on
        await out.first_frame.wait()
        if i >= 5:  # warm-up turns excluded
            samples.append(out.first_frame_at - t0)
        while session.agent_state != "listening" or session.current_speech is not None:
            await asyncio.sleep(0.002)
    await session.aclose()
    return summarize(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(run(args.turns))
    report("framework latency: end of speech -> first audio frame (instant providers)", {"latency": result})


if __name__ == "__main__":
    main()
