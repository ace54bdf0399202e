"""Turn user audio into user turns: VAD + STT + turn detection + endpointing delay.

The end of a turn is decided after each pause: the session waits ``min_endpointing_delay``
after the user stopped speaking (measured from the end of speech, not from when the VAD
noticed), or ``max_endpointing_delay`` when the turn detector thinks the user is mid-sentence.
Speech that resumes during the wait cancels the decision.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..log import logger
from ..stt import SpeechEvent, SpeechEventType
from ..turn import TurnDetector
from ..utils.aio import Chan, cancel_and_wait
from ..vad import VAD, VADEvent, VADEventType

if TYPE_CHECKING:
    from livekit import rtc

    from ..llm import ChatContext
    from .turn_detection import TurnDetectionMode

__all__ = ["AudioRecognition", "EndOfTurnInfo", "RecognitionHooks"]

#: seconds of user audio kept for turn detectors that listen (e.g. Smart Turn uses 8 s)
_TURN_AUDIO_SECONDS = 8.0


@dataclass
class EndOfTurnInfo:
    new_transcript: str
    transcript_confidence: float
    #: seconds from the end of speech to the last final transcript
    transcription_delay: float
    #: seconds from the end of speech to this decision
    end_of_utterance_delay: float
    started_speaking_at: float | None
    stopped_speaking_at: float | None
    language: str | None = None
    #: the wait the session chose after the end of speech (min or max endpointing delay)
    endpointing_delay: float = 0.0


class RecognitionHooks(Protocol):
    def on_start_of_speech(self, ev: VADEvent | None) -> None: ...
    def on_vad_inference_done(self, ev: VADEvent) -> None: ...
    def on_end_of_speech(self, ev: VADEvent | None) -> None: ...
    def on_interim_transcript(self, ev: SpeechEvent) -> None: ...
    def on_final_transcript(self, ev: SpeechEvent) -> None: ...
    def on_preemptive_generation(self, transcript: str) -> None: ...
    def on_end_of_turn(self, info: EndOfTurnInfo) -> bool: ...
    def retrieve_chat_ctx(self) -> ChatContext: ...


class AudioRecognition:
    def __init__(
        self,
        *,
        hooks: RecognitionHooks,
        stt_node: Callable[[AsyncIterator[rtc.AudioFrame]], AsyncIterator[SpeechEvent]] | None,
        vad: VAD | None,
        turn_detection: TurnDetectionMode | None,
        min_endpointing_delay: float,
        max_endpointing_delay: float,
    ) -> None:
        self._hooks = hooks
        self._stt_node = stt_node
        self._vad = vad
        self._mode = turn_detection
        self._detector = turn_detection if isinstance(turn_detection, TurnDetector) else None
        self._min_delay = min_endpointing_delay
        self._max_delay = max_endpointing_delay

        self._stt_ch: Chan[rtc.AudioFrame] | None = None
        self._vad_stream: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._eou_task: asyncio.Task[None] | None = None

        self._transcript = ""
        self._interim = ""
        self._confidences: list[float] = []
        self._language: str | None = None
        self._speaking = False
        self._speech_started_at: float | None = None
        self._last_speaking_time: float | None = None  # monotonic
        self._last_final_time: float | None = None  # monotonic
        self._stt_eos = False
        self._turn_audio: deque[rtc.AudioFrame] = deque()
        self._turn_audio_duration = 0.0
        self._turn_converter: Any = None
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._vad is not None:
            self._vad_stream = self._vad.stream()
            self._tasks.append(asyncio.create_task(self._vad_loop(), name="vad_loop"))
        if self._stt_node is not None:
            self._stt_ch = Chan()
            self._tasks.append(asyncio.create_task(self._stt_loop(self._stt_ch), name="stt_loop"))

    async def aclose(self) -> None:
        self._closed = True
        if self._stt_ch is not None:
            self._stt_ch.close()
        if self._vad_stream is not None:
            await self._vad_stream.aclose()
        await cancel_and_wait(self._eou_task, *self._tasks)

    @property
    def uses_vad(self) -> bool:
        return self._vad is not None

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def current_transcript(self) -> str:
        """Finals of this turn plus the latest interim."""
        return " ".join(t for t in (self._transcript, self._interim) if t)

    @property
    def end_of_turn_pending(self) -> bool:
        return self._eou_task is not None and not self._eou_task.done()

    def update_endpointing(self, *, min_delay: float, max_delay: float) -> None:
        self._min_delay, self._max_delay = min_delay, max_delay

    # -- input ----------------------------------------------------------------------------

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        if self._closed:
            return
        if self._stt_ch is not None:
            self._stt_ch.send_nowait(frame)
        if self._vad_stream is not None:
            self._vad_stream.push_frame(frame)
        if self._detector is not None and self._detector.needs_audio:
            self._keep_turn_audio(frame)

    def _keep_turn_audio(self, frame: rtc.AudioFrame) -> None:
        if self._turn_converter is None:
            from ..utils.audio import AudioConverter

            self._turn_converter = AudioConverter(self._detector.sample_rate, 1)  # type: ignore[union-attr]
        for f in self._turn_converter.push(frame):
            self._turn_audio.append(f)
            self._turn_audio_duration += f.duration
        while self._turn_audio_duration > _TURN_AUDIO_SECONDS and len(self._turn_audio) > 1:
            self._turn_audio_duration -= self._turn_audio.popleft().duration

    def clear_user_turn(self) -> None:
        """Forget what the user said in the current turn."""
        self._reset_turn()
        if self._vad_stream is not None:
            self._vad_stream.flush()

    def commit_user_turn(self) -> None:
        """End the user's turn now (manual turn detection)."""
        self._run_eou_detection(immediate=True)

    def _reset_turn(self) -> None:
        self._transcript = ""
        self._interim = ""
        self._confidences = []
        self._stt_eos = False
        self._speech_started_at = None

    # -- event loops ----------------------------------------------------------------------

    async def _vad_loop(self) -> None:
        async for ev in self._vad_stream:
            try:
                self._on_vad_event(ev)
            except Exception:
                logger.exception("error handling VAD event")

    async def _stt_loop(self, ch: Chan[rtc.AudioFrame]) -> None:
        assert self._stt_node is not None
        async for ev in self._stt_node(ch):
            try:
                self._on_stt_event(ev)
            except Exception:
                logger.exception("error handling STT event")

    def _on_vad_event(self, ev: VADEvent) -> None:
        now = time.monotonic()
        if ev.type == VADEventType.START_OF_SPEECH:
            self._speaking = True
            self._speech_started_at = time.time() - ev.speech_duration
            self._last_speaking_time = now
            self._cancel_eou()
            self._hooks.on_start_of_speech(ev)
        elif ev.type == VADEventType.INFERENCE_DONE:
            if ev.speaking:
                self._last_speaking_time = now
            self._hooks.on_vad_inference_done(ev)
        elif ev.type == VADEventType.END_OF_SPEECH:
            self._speaking = False
            self._last_speaking_time = now - ev.silence_duration
            self._hooks.on_end_of_speech(ev)
            if self._mode != "manual" and self._mode != "stt":
                self._run_eou_detection()

    def _on_stt_event(self, ev: SpeechEvent) -> None:
        now = time.monotonic()
        if ev.type == SpeechEventType.FINAL_TRANSCRIPT:
            alt = ev.alternatives[0] if ev.alternatives else None
            text = alt.text.strip() if alt else ""
            self._interim = ""
            if not text:
                return
            self._language = alt.language if alt and alt.language else self._language
            self._transcript = f"{self._transcript} {text}".strip()
            self._confidences.append(alt.confidence if alt else 0.0)
            self._last_final_time = now
            if self._vad is None and not self._speaking:
                self._last_speaking_time = now
            self._hooks.on_final_transcript(ev)
            self._hooks.on_preemptive_generation(self._transcript)
            if self._mode == "manual":
                return
            if self._mode == "stt" and not self._stt_eos:
                return
            if not self._speaking:
                self._run_eou_detection()
        elif ev.type in (SpeechEventType.INTERIM_TRANSCRIPT, SpeechEventType.PREFLIGHT_TRANSCRIPT):
            alt = ev.alternatives[0] if ev.alternatives else None
            self._interim = alt.text.strip() if alt else ""
            if self._interim:
                self._hooks.on_interim_transcript(ev)
        elif ev.type == SpeechEventType.START_OF_SPEECH:
            if self._vad is None:
                self._speaking = True
                self._speech_started_at = time.time()
                self._last_speaking_time = now
                self._cancel_eou()
                self._hooks.on_start_of_speech(None)
            self._stt_eos = False
        elif ev.type == SpeechEventType.END_OF_SPEECH:
            self._stt_eos = True
            if self._vad is None:
                self._speaking = False
                self._last_speaking_time = now
                self._hooks.on_end_of_speech(None)
            if self._mode == "stt" or (self._vad is None and self._mode != "manual"):
                self._run_eou_detection()

    # -- end of turn ----------------------------------------------------------------------

    def _cancel_eou(self) -> None:
        if self._eou_task is not None and not self._eou_task.done():
            self._eou_task.cancel()
        self._eou_task = None

    def _run_eou_detection(self, *, immediate: bool = False) -> None:
        if self._stt_node is not None and not self._transcript and not immediate:
            return  # wait for a transcript: it re-triggers the decision
        self._cancel_eou()
        self._eou_task = asyncio.create_task(self._eou(immediate=immediate), name="end_of_turn")

    async def _eou(self, *, immediate: bool) -> None:
        delay = 0.0 if immediate else self._min_delay
        if self._detector is not None and not immediate and self._transcript:
            delay = await self._detector_delay()
        last = self._last_speaking_time or time.monotonic()
        wait = delay - (time.monotonic() - last)
        if wait > 0:
            await asyncio.sleep(wait)

        now = time.monotonic()
        stopped_at = time.time() - (now - last) if self._last_speaking_time else None
        info = EndOfTurnInfo(
            new_transcript=self._transcript,
            transcript_confidence=(
                sum(self._confidences) / len(self._confidences) if self._confidences else 0.0
            ),
            transcription_delay=max(0.0, (self._last_final_time or now) - last),
            end_of_utterance_delay=max(0.0, now - last),
            started_speaking_at=self._speech_started_at,
            stopped_speaking_at=stopped_at,
            language=self._language,
            endpointing_delay=delay,
        )
        self._eou_task = None
        if self._hooks.on_end_of_turn(info):
            self._reset_turn()
            self._turn_audio.clear()
            self._turn_audio_duration = 0.0

    async def _detector_delay(self) -> float:
        detector = self._detector
        assert detector is not None

        try:
            threshold = await detector.unlikely_threshold(self._language)
            if threshold is None:
                return self._min_delay
            ctx: ChatContext = self._hooks.retrieve_chat_ctx().copy()
            ctx.add_message(role="user", content=self._transcript)
            audio = None
            if detector.needs_audio and self._turn_audio:
                from ..utils.audio import merge_frames

                audio = merge_frames(list(self._turn_audio))
            probability = await detector.predict_end_of_turn(ctx, audio=audio, timeout=3.0)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("turn detector failed; using the minimum endpointing delay")
            return self._min_delay
        logger.debug("end of turn probability %.3f (threshold %.3f)", probability, threshold)
        return self._max_delay if probability < threshold else self._min_delay
