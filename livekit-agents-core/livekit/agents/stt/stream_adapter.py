"""Make a batch-only STT streamable: a VAD cuts utterances, each is recognized when it ends."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from ..utils.aio import Chan
from ..vad import VAD, VADEventType
from .stt import STT, RecognizeStream, SpeechEvent, SpeechEventType, STTCapabilities

if TYPE_CHECKING:
    from ..utils.audio import AudioBuffer

__all__ = ["StreamAdapter"]


class StreamAdapter(STT):
    """Streams with a batch STT: START/END_OF_SPEECH from the VAD, one FINAL per utterance."""

    def __init__(self, *, stt: STT, vad: VAD) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=True, interim_results=False))
        self._wrapped = stt
        self._vad = vad
        stt.on("metrics_collected", lambda m: self.emit("metrics_collected", m))
        stt.on("error", lambda e: self.emit("error", e))

    @property
    def wrapped_stt(self) -> STT:
        return self._wrapped

    @property
    def model(self) -> str:
        return self._wrapped.model

    @property
    def provider(self) -> str:
        return self._wrapped.provider

    async def _recognize_impl(
        self, buffer: AudioBuffer, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> SpeechEvent:
        return await self._wrapped.recognize(buffer, language=language, conn_options=conn_options)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> RecognizeStream:
        return _AdapterStream(self, language=language, conn_options=conn_options)

    def prewarm(self) -> None:
        self._wrapped.prewarm()


class _AdapterStream(RecognizeStream):
    def __init__(
        self, adapter: StreamAdapter, *, language: NotGivenOr[str], conn_options: APIConnectOptions
    ) -> None:
        # the wrapped STT retries each recognition itself; the stream never reconnects
        super().__init__(stt=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._language = language
        self._recognize_opts = conn_options

    async def _run(self) -> None:
        vad_stream = self._adapter._vad.stream()
        utterances: Chan[AudioBuffer] = Chan()

        async def forward_input() -> None:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    vad_stream.flush()
                else:
                    vad_stream.push_frame(item)
            vad_stream.end_input()

        async def read_vad() -> None:
            async for ev in vad_stream:
                if ev.type == VADEventType.START_OF_SPEECH:
                    self._event_ch.send_nowait(SpeechEvent(SpeechEventType.START_OF_SPEECH))
                elif ev.type == VADEventType.END_OF_SPEECH:
                    self._event_ch.send_nowait(SpeechEvent(SpeechEventType.END_OF_SPEECH))
                    if ev.frames:
                        utterances.send_nowait(ev.frames)
            utterances.close()

        async def recognize() -> None:
            # sequential, so finals keep the order of the utterances
            async for frames in utterances:
                event = await self._adapter._wrapped.recognize(
                    frames, language=self._language, conn_options=self._recognize_opts
                )
                if event.alternatives and event.alternatives[0].text.strip():
                    self._event_ch.send_nowait(
                        SpeechEvent(
                            SpeechEventType.FINAL_TRANSCRIPT,
                            request_id=event.request_id,
                            alternatives=[event.alternatives[0]],
                        )
                    )

        tasks = [
            asyncio.create_task(forward_input()),
            asyncio.create_task(read_vad()),
            asyncio.create_task(recognize()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await vad_stream.aclose()
