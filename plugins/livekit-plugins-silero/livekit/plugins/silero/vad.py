"""Silero VAD on ONNX Runtime: speech probabilities for 32 ms windows of 8 or 16 kHz audio.

The plugin only turns audio into per-window probabilities; core's
:class:`~livekit.agents.vad.SpeechSegmenter` applies the thresholds and durations, so events
look like those of every VAD. Audio at any rate and channel count is converted to the model
rate; the frames carried by the events keep the rate and channels they were pushed with.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from livekit import rtc

from livekit.agents import vad as agents_vad
from livekit.agents.metrics import VADMetrics

from ._input import WindowCounter, window_samples
from ._model import SUPPORTED_SAMPLE_RATES, InferenceRunner, StreamState, get_runner

if TYPE_CHECKING:
    from livekit.agents.worker.job import JobProcess

__all__ = ["VAD", "VADStream", "prewarm"]

logger = logging.getLogger("livekit.plugins.silero")

#: seconds of audio between two VADMetrics reports of a stream
_METRICS_INTERVAL = 1.0
#: a window whose model run took longer than this is reported (the host is overloaded)
_SLOW_INFERENCE = 0.2
#: queued frames are taken together up to this many windows (about 1 s of audio) per trip to
#: the inference thread, so that a backlog still gives its events progressively
_MAX_WINDOWS_PER_TRIP = 32


@dataclass
class _VADOptions:
    min_speech_duration: float
    min_silence_duration: float
    prefix_padding_duration: float
    max_buffered_speech: float
    activation_threshold: float
    deactivation_threshold: float | None
    sample_rate: int


class VAD(agents_vad.VAD):
    """Silero voice activity detection (the model ships inside this package).

    The model is loaded once per process and shared by every stream; each stream keeps its
    own state. Inference runs on a dedicated thread, never on the event loop.
    """

    def __init__(
        self,
        *,
        min_speech_duration: float = 0.05,
        min_silence_duration: float = 0.55,
        prefix_padding_duration: float = 0.5,
        max_buffered_speech: float = 60.0,
        activation_threshold: float = 0.5,
        deactivation_threshold: float | None = None,
        sample_rate: int = 16000,
        onnx_file_path: str | None = None,
    ) -> None:
        """
        Args:
            min_speech_duration: seconds of speech before START_OF_SPEECH.
            min_silence_duration: seconds of silence after speech before END_OF_SPEECH.
            prefix_padding_duration: seconds of audio before the start kept in the events.
            max_buffered_speech: at most this many seconds of an utterance are kept.
            activation_threshold: probability at or above which a window is speech.
            deactivation_threshold: probability under which speech ends
                (default: ``activation_threshold - 0.15``, at least 0.01).
            sample_rate: rate the model runs at, 8000 or 16000 (input is resampled).
            onnx_file_path: another Silero VAD v5/v6 ONNX file instead of the bundled one.
        """
        if sample_rate not in SUPPORTED_SAMPLE_RATES:
            raise ValueError(
                f"Silero VAD runs at 8000 or 16000 Hz, got sample_rate={sample_rate}; "
                "audio at any rate is resampled to it"
            )
        if onnx_file_path is not None:
            from pathlib import Path

            if not Path(onnx_file_path).is_file():
                raise FileNotFoundError(f"Silero VAD model file not found: {onnx_file_path}")
        opts = _VADOptions(
            min_speech_duration=min_speech_duration,
            min_silence_duration=min_silence_duration,
            prefix_padding_duration=prefix_padding_duration,
            max_buffered_speech=max_buffered_speech,
            activation_threshold=activation_threshold,
            deactivation_threshold=deactivation_threshold,
            sample_rate=sample_rate,
        )
        _segmenter(opts)  # validates the options now rather than in the first stream
        super().__init__(
            capabilities=agents_vad.VADCapabilities(
                update_interval=window_samples(sample_rate) / sample_rate
            )
        )
        self._opts = opts
        self._onnx_file_path = onnx_file_path
        self._streams: weakref.WeakSet[VADStream] = weakref.WeakSet()

    @classmethod
    def load(cls, **kwargs: Any) -> VAD:
        """Create a VAD and load the model now, blocking (for a worker's prewarm hook).

        Takes the same arguments as the constructor. Later ``VAD(...)`` objects and
        ``AgentSession(vad="silero")`` in this process reuse the loaded model.
        """
        vad = cls(**kwargs)
        get_runner(vad._onnx_file_path).load()
        return vad

    def prewarm(self) -> None:
        """Start loading the model in the background (returns at once)."""
        get_runner(self._onnx_file_path).load_in_background()

    @property
    def model(self) -> str:
        return "silero-vad"

    @property
    def provider(self) -> str:
        return "silero"

    @property
    def sample_rate(self) -> int:
        return self._opts.sample_rate

    def stream(self) -> VADStream:
        stream = VADStream(self, replace(self._opts))
        self._streams.add(stream)
        return stream

    def update_options(
        self,
        *,
        min_speech_duration: float | None = None,
        min_silence_duration: float | None = None,
        prefix_padding_duration: float | None = None,
        max_buffered_speech: float | None = None,
        activation_threshold: float | None = None,
        deactivation_threshold: float | None = None,
    ) -> None:
        """Change options; running streams apply them from their next window."""
        changes: dict[str, Any] = {
            k: v
            for k, v in dict(
                min_speech_duration=min_speech_duration,
                min_silence_duration=min_silence_duration,
                prefix_padding_duration=prefix_padding_duration,
                max_buffered_speech=max_buffered_speech,
                activation_threshold=activation_threshold,
                deactivation_threshold=deactivation_threshold,
            ).items()
            if v is not None
        }
        opts = replace(self._opts, **changes)
        _segmenter(opts)  # validate before applying anything
        self._opts = opts
        for stream in list(self._streams):
            stream._update_options(opts)

    def __repr__(self) -> str:
        return f"silero.VAD(sample_rate={self._opts.sample_rate})"


class VADStream(agents_vad.VADStream):
    """One audio stream: push frames, iterate VAD events."""

    def __init__(self, vad: VAD, opts: _VADOptions) -> None:
        super().__init__(vad)
        self._silero = vad
        self._opts = opts
        self._segmenter = _segmenter(opts)

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue a frame of 16-bit PCM at any positive rate and channel count."""
        if frame.sample_rate <= 0 or frame.num_channels <= 0:
            raise ValueError(
                "Silero VAD needs audio with a positive sample rate and channel count, got "
                f"sample_rate={frame.sample_rate}, num_channels={frame.num_channels}"
            )
        super().push_frame(frame)

    def _update_options(self, opts: _VADOptions) -> None:
        opts = replace(opts, sample_rate=self._opts.sample_rate)
        self._opts = opts
        fresh = _segmenter(opts)
        seg = self._segmenter
        seg.min_speech_duration = fresh.min_speech_duration
        seg.min_silence_duration = fresh.min_silence_duration
        seg.prefix_padding_duration = fresh.prefix_padding_duration
        seg.max_buffered_speech = fresh.max_buffered_speech
        seg.activation_threshold = fresh.activation_threshold
        seg.deactivation_threshold = fresh.deactivation_threshold

    async def _main_task(self) -> None:
        runner = get_runner(self._silero._onnx_file_path)
        runner.attach()
        try:
            await self._analyse(runner)
        finally:
            runner.detach()

    async def _analyse(self, runner: InferenceRunner) -> None:
        rate = self._opts.sample_rate
        window = window_samples(rate)
        state = StreamState(rate)
        counter = WindowCounter(rate)
        source = _SourceAudio(rate)
        metrics = _MetricsWindow()
        slow_reported = False
        input_ch = self._input_ch

        async for first in input_ch:
            # frames already queued behind this one (large frames, or a loop that fell
            # behind) go to the inference thread together: one trip for all their windows
            spans: list[rtc.AudioFrame] = []
            flush = False
            item = first
            while True:
                if isinstance(item, self._FlushSentinel):
                    flush = True
                    break
                data = item.data.cast("B")
                source.push(item, data)
                for _ in range(counter.push(item, data)):
                    spans.append(source.take(window))
                if not input_ch.qsize() or len(spans) >= _MAX_WINDOWS_PER_TRIP:
                    break
                item = input_ch.recv_nowait()
            if spans:
                results = await runner.infer(state, counter.take(), len(spans))
                for frame, (probability, inference) in zip(spans, results, strict=True):
                    if inference > _SLOW_INFERENCE and not slow_reported:
                        slow_reported = True
                        logger.warning(
                            "Silero VAD inference took %.0f ms for a 32 ms window: the host is "
                            "overloaded, speech events will lag", inference * 1000
                        )
                    self._send(
                        self._segmenter.push(frame, probability, inference_duration=inference)
                    )
                    if metrics.add(frame.duration, inference):
                        self._silero.emit("metrics_collected", metrics.report(self._silero.label))
            if flush:
                self._send(self._segmenter.flush())

    def _send(self, events: list[agents_vad.VADEvent]) -> None:
        for ev in events:
            self._event_ch.send_nowait(ev)


def _segmenter(opts: _VADOptions) -> agents_vad.SpeechSegmenter:
    return agents_vad.SpeechSegmenter(
        min_speech_duration=opts.min_speech_duration,
        min_silence_duration=opts.min_silence_duration,
        prefix_padding_duration=opts.prefix_padding_duration,
        activation_threshold=opts.activation_threshold,
        deactivation_threshold=opts.deactivation_threshold,
        max_buffered_speech=opts.max_buffered_speech,
    )


class _SourceAudio:
    """The pushed audio, in its own format, cut into the spans of the model's windows.

    Events carry the audio as it was pushed (e.g. 48 kHz stereo), not the 16 kHz mono the
    model reads; a running fraction keeps the spans aligned over any rate ratio.
    """

    def __init__(self, model_rate: int) -> None:
        self._model_rate = model_rate
        self._rate = 0
        self._channels = 0
        self._buf = bytearray()
        self._owed = 0.0

    def push(self, frame: rtc.AudioFrame, data: memoryview) -> None:
        """Add a frame (``data``: its bytes)."""
        if frame.sample_rate != self._rate or frame.num_channels != self._channels:
            self._rate, self._channels = frame.sample_rate, frame.num_channels
            self._buf.clear()
            self._owed = 0.0
        self._buf += data

    def take(self, model_samples: int) -> rtc.AudioFrame:
        self._owed += model_samples * self._rate / self._model_rate
        samples = int(self._owed)
        self._owed -= samples
        size = samples * 2 * self._channels
        data = bytes(self._buf[:size])
        del self._buf[:size]
        samples = len(data) // (2 * self._channels)
        return rtc.AudioFrame(data, self._rate, self._channels, samples)


class _MetricsWindow:
    """Inference totals of one stream between two VADMetrics reports."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._audio = 0.0
        self._inference = 0.0
        self._count = 0
        self._started = time.perf_counter()

    def add(self, audio: float, inference: float) -> bool:
        self._audio += audio
        self._inference += inference
        self._count += 1
        return self._audio >= _METRICS_INTERVAL

    def report(self, label: str) -> VADMetrics:
        elapsed = time.perf_counter() - self._started
        metrics = VADMetrics(
            label=label,
            idle_time=max(0.0, elapsed - self._inference),
            inference_duration_total=self._inference,
            inference_count=self._count,
        )
        self._reset()
        return metrics


def prewarm(proc: JobProcess | None = None) -> VAD:
    """Load the model in this process; usable as (or from) a worker's prewarm function.

    With a ``JobProcess``, the VAD is also stored in ``proc.userdata["vad"]``.
    """
    vad = VAD.load()
    if proc is not None:
        proc.userdata["vad"] = vad
    return vad
