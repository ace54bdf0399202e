"""A scriptable STT for tests: transcripts chosen by the test, emitted when the user speaks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

from ..stt import (
    STT,
    RecognitionUsage,
    RecognizeStream,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
)
from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from ..utils.audio import AudioBuffer, calculate_rms
from ..utils.misc import shortuuid
from ..vad import SpeechSegmenter, VADEventType

__all__ = ["FakeSTT", "FakeTranscript"]


@dataclass
class FakeTranscript:
    """A transcript; with ``end`` set, its FINAL is emitted when that much audio (seconds) was
    pushed, otherwise when the next utterance (by energy) ends."""

    text: str
    start: float = 0.0
    end: float | None = None
    language: str = "en"
    confidence: float = 0.95


class FakeSTT(STT):
    """Returns scripted transcripts, one per utterance (or per ``recognize()`` call).

    ``delay`` is added before each final transcript (a slow provider); ``error`` makes every
    request fail (to test retries and fallback). After the script, ``default`` is used.
    """

    def __init__(
        self,
        transcripts: Sequence[Union[str, FakeTranscript]] = (),
        *,
        streaming: bool = True,
        interim_results: bool = True,
        delay: float = 0.0,
        default: str = "",
        error: Exception | None = None,
        language: str = "en",
    ) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=streaming, interim_results=interim_results))
        self._script = [t if isinstance(t, FakeTranscript) else FakeTranscript(text=t) for t in transcripts]
        self._delay = delay
        self._default = default
        self.error = error
        self._language = language
        self.recognized: list[str] = []

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "fake"

    def add_transcript(self, transcript: Union[str, FakeTranscript]) -> None:
        self._script.append(transcript if isinstance(transcript, FakeTranscript) else FakeTranscript(text=transcript))

    def _next(self) -> FakeTranscript:
        if self._script:
            return self._script.pop(0)
        return FakeTranscript(text=self._default, language=self._language)

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        if self.error is not None:
            raise self.error
        if self._delay:
            await asyncio.sleep(self._delay)
        t = self._next()
        self.recognized.append(t.text)
        return SpeechEvent(
            SpeechEventType.FINAL_TRANSCRIPT,
            request_id=shortuuid("fake_"),
            alternatives=[SpeechData(language=t.language, text=t.text, confidence=t.confidence)],
        )

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> RecognizeStream:
        if not self.capabilities.streaming:
            return super().stream(language=language, conn_options=conn_options)
        return _FakeSTTStream(self, conn_options=conn_options)


class _FakeSTTStream(RecognizeStream):
    def __init__(self, stt: FakeSTT, *, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options)
        self._fake = stt
        self._segmenter = SpeechSegmenter(min_silence_duration=0.25, prefix_padding_duration=0.0)
        self._time = 0.0
        self._in_speech = False
        self._speech_time = 0.0
        self._sent_interim = False
        self._request_id = shortuuid("fake_")

    def _send(self, kind: SpeechEventType, text: str = "", t: FakeTranscript | None = None) -> None:
        alts = [SpeechData(language=(t.language if t else self._fake._language), text=text,
                           confidence=t.confidence if t else 0.0)] if text else []
        self._event_ch.send_nowait(SpeechEvent(kind, request_id=self._request_id, alternatives=alts))

    async def _final(self, t: FakeTranscript) -> None:
        if self._fake._delay:
            await asyncio.sleep(self._fake._delay)
        self._fake.recognized.append(t.text)
        if t.text:
            self._send(SpeechEventType.FINAL_TRANSCRIPT, t.text, t)

    async def _run(self) -> None:
        if self._fake.error is not None:
            raise self._fake.error
        pending: FakeTranscript | None = None
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                if self._in_speech:
                    await self._end_utterance()
                continue
            self._time += item.duration
            timed = self._fake._script[0] if self._fake._script and self._fake._script[0].end is not None else None
            if timed is not None:
                if pending is None and self._time >= timed.start:
                    pending = timed
                    self._send(SpeechEventType.START_OF_SPEECH)
                if pending is not None and not self._sent_interim and self._time >= (timed.start + timed.end) / 2:  # type: ignore[operator]
                    words = pending.text.split()
                    self._send(SpeechEventType.INTERIM_TRANSCRIPT, " ".join(words[: max(1, len(words) // 2)]), pending)
                    self._sent_interim = True
                if pending is not None and self._time >= (pending.end or 0):
                    self._fake._script.pop(0)
                    await self._final(pending)
                    self._send(SpeechEventType.END_OF_SPEECH)
                    pending, self._sent_interim = None, False
                continue
            prob = 1.0 if calculate_rms(item) >= 0.01 else 0.0
            for ev in self._segmenter.push(item, prob):
                if ev.type == VADEventType.START_OF_SPEECH:
                    self._in_speech, self._speech_time, self._sent_interim = True, 0.0, False
                    self._send(SpeechEventType.START_OF_SPEECH)
                elif ev.type == VADEventType.END_OF_SPEECH:
                    await self._end_utterance()
            if self._in_speech:
                self._speech_time += item.duration
                if self._fake.capabilities.interim_results and not self._sent_interim and self._speech_time >= 0.3:
                    upcoming = self._fake._script[0].text if self._fake._script else self._fake._default
                    words = upcoming.split()
                    if words:
                        self._send(SpeechEventType.INTERIM_TRANSCRIPT, " ".join(words[: max(1, len(words) // 2)]))
                    self._sent_interim = True
        if self._in_speech:
            await self._end_utterance()
        self._event_ch.send_nowait(
            SpeechEvent(SpeechEventType.RECOGNITION_USAGE, request_id=self._request_id,
                        recognition_usage=RecognitionUsage(audio_duration=self._time))
        )

    async def _end_utterance(self) -> None:
        self._in_speech = False
        self._segmenter.flush()
        await self._final(self._fake._next())
        self._send(SpeechEventType.END_OF_SPEECH)
