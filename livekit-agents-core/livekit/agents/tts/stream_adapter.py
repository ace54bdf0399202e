"""Make a batch-only TTS streamable: synthesize sentence by sentence as the text arrives."""

from __future__ import annotations

import asyncio

from ..tokenize import SentenceTokenizer
from ..tokenize.basic import SentenceTokenizer as BasicSentenceTokenizer
from ..types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from ..utils.misc import shortuuid
from .tts import TTS, AudioEmitter, ChunkedStream, SynthesizeStream, TTSCapabilities

__all__ = ["StreamAdapter"]


class StreamAdapter(TTS):
    """Streams with a batch TTS: each complete sentence is synthesized as soon as it exists.

    Sentences are synthesized one after another (the next request starts while the previous
    audio plays), so the first audio comes after the first sentence, not the whole reply.
    """

    def __init__(self, *, tts: TTS, sentence_tokenizer: SentenceTokenizer | None = None) -> None:
        super().__init__(
            capabilities=TTSCapabilities(streaming=True),
            sample_rate=tts.sample_rate,
            num_channels=tts.num_channels,
        )
        self._wrapped = tts
        self._tokenizer = sentence_tokenizer or BasicSentenceTokenizer()
        tts.on("metrics_collected", lambda m: self.emit("metrics_collected", m))
        tts.on("error", lambda e: self.emit("error", e))

    @property
    def wrapped_tts(self) -> TTS:
        return self._wrapped

    @property
    def model(self) -> str:
        return self._wrapped.model

    @property
    def provider(self) -> str:
        return self._wrapped.provider

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return self._wrapped.synthesize(text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> SynthesizeStream:
        return _AdapterStream(self, conn_options=conn_options)

    def prewarm(self) -> None:
        self._wrapped.prewarm()


class _AdapterStream(SynthesizeStream):
    def __init__(self, adapter: StreamAdapter, *, conn_options: APIConnectOptions) -> None:
        # each sentence is retried by the wrapped TTS; the stream itself does not retry
        super().__init__(tts=adapter, conn_options=APIConnectOptions(max_retry=0))
        self._adapter = adapter
        self._sentence_opts = conn_options

    async def _run(self, output_emitter: AudioEmitter) -> None:
        wrapped = self._adapter._wrapped
        output_emitter.initialize(
            request_id=shortuuid("req_"),
            sample_rate=wrapped.sample_rate,
            num_channels=wrapped.num_channels,
        )
        sentences = self._adapter._tokenizer.stream()

        async def tokenize() -> None:
            async for item in self._input_ch:
                if isinstance(item, str):
                    sentences.push_text(item)
                else:
                    sentences.flush()
            sentences.end_input()

        task = asyncio.create_task(tokenize())
        try:
            async for sentence in sentences:
                output_emitter.start_segment(segment_id=sentence.segment_id)
                async with wrapped.synthesize(
                    sentence.token, conn_options=self._sentence_opts
                ) as chunked:
                    async for audio in chunked:
                        output_emitter.push(audio.frame.data)
            await task
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await sentences.aclose()
