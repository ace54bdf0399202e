"""An energy-based VAD for tests and headless runs (no model, no dependencies beyond numpy)."""

from __future__ import annotations

from collections.abc import Sequence

from ..utils.audio import calculate_rms
from ..vad import VAD, SpeechSegmenter, VADCapabilities, VADStream

__all__ = ["FakeVAD"]


class FakeVAD(VAD):
    """Speech is audio louder than ``threshold`` (RMS), or, with ``speech=[(start, end), ...]``,
    the given spans of audio time in seconds (so a test decides exactly when the user speaks)."""

    def __init__(
        self,
        *,
        speech: Sequence[tuple[float, float]] | None = None,
        threshold: float = 0.01,
        min_speech_duration: float = 0.05,
        min_silence_duration: float = 0.3,
        prefix_padding_duration: float = 0.2,
    ) -> None:
        super().__init__(capabilities=VADCapabilities(update_interval=0.02))
        self._speech = list(speech) if speech is not None else None
        self._threshold = threshold
        self._segmenter_args = dict(
            min_speech_duration=min_speech_duration,
            min_silence_duration=min_silence_duration,
            prefix_padding_duration=prefix_padding_duration,
        )

    @property
    def model(self) -> str:
        return "scripted" if self._speech is not None else "energy"

    @property
    def provider(self) -> str:
        return "fake"

    def stream(self) -> VADStream:
        return _FakeVADStream(self)


class _FakeVADStream(VADStream):
    def __init__(self, vad: FakeVAD) -> None:
        super().__init__(vad)
        self._fake = vad
        self._segmenter = SpeechSegmenter(**vad._segmenter_args)  # type: ignore[arg-type]
        self._time = 0.0

    async def _main_task(self) -> None:
        async for item in self._input_ch:
            if isinstance(item, self._FlushSentinel):
                for ev in self._segmenter.flush():
                    self._event_ch.send_nowait(ev)
                continue
            mid = self._time + item.duration / 2
            self._time += item.duration
            if self._fake._speech is not None:
                prob = 1.0 if any(s <= mid < e for s, e in self._fake._speech) else 0.0
            else:
                prob = 1.0 if calculate_rms(item) >= self._fake._threshold else 0.0
            for ev in self._segmenter.push(item, prob):
                self._event_ch.send_nowait(ev)
