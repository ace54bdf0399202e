"""Microphone and speakers for console audio mode (sounddevice, imported only here).

Audio runs at 24 kHz mono in 10 ms blocks; WebRTC's audio processing (echo cancellation, noise
suppression, gain control) cleans the microphone using what the speakers play, so the agent does
not hear, and interrupt, itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from ..voice.io import AudioOutput, QueueAudioInput

__all__ = ["DeviceAudio"]

SAMPLE_RATE = 24000
BLOCK = SAMPLE_RATE // 100  # 10 ms
_BYTES_PER_BLOCK = BLOCK * 2


def _device(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    import sounddevice as sd

    for i, dev in enumerate(sd.query_devices()):
        if value.lower() in dev["name"].lower() and dev[f"max_{kind}_channels"] > 0:
            return i
    raise ValueError(f"no {kind} device matches {value!r} (see --list-devices)")


class _SpeakerOutput(AudioOutput):
    """Plays agent audio through the speakers; the device callback drains a byte buffer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, apm: Any) -> None:
        super().__init__(label="speakers", sample_rate=SAMPLE_RATE, can_pause=True)
        self._loop = loop
        self._apm = apm
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._playing = False
        self._flushed = False
        self._paused = False
        self._played_bytes = 0
        self._background = bytearray()

    def mix_background(self, pcm: bytes) -> None:
        """Queue 24 kHz mono int16 background audio, mixed under the agent's voice.

        At most half a second is kept: a producer that runs ahead loses its oldest audio
        instead of delaying what plays.
        """
        with self._lock:
            self._background.extend(pcm)
            excess = len(self._background) - SAMPLE_RATE  # 0.5 s of 16-bit samples
            if excess > 0:
                del self._background[:excess]

    @property
    def playback_position(self) -> float:
        return self._played_bytes / 2 / SAMPLE_RATE

    async def capture_frame(self, frame: Any) -> None:
        await super().capture_frame(frame)
        with self._lock:
            if not self._playing:
                self._playing = True
                self._flushed = False
                self._played_bytes = 0
                self.on_playback_started(created_at=time.time())
            self._buf.extend(frame.data)

    def flush(self) -> None:
        super().flush()
        with self._lock:
            self._flushed = True

    def clear_buffer(self) -> None:
        with self._lock:
            if not self._playing:
                return
            self._buf.clear()
            self._playing = False
        self.on_playback_finished(playback_position=self.playback_position, interrupted=True)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def fill(self, out: bytearray) -> None:
        """Device thread: write the next block to ``out`` (silence when idle or paused)."""
        finished = False
        with self._lock:
            n = 0
            if self._playing and not self._paused:
                n = min(len(self._buf), len(out))
                out[:n] = self._buf[:n]
                del self._buf[:n]
                self._played_bytes += n
                if self._flushed and not self._buf:
                    self._playing = False
                    finished = True
            out[n:] = bytes(len(out) - n)
            m = min(len(self._background), len(out))
            if m:
                _mix_into(out, self._background[:m])
                del self._background[:m]
        if self._apm is not None:
            from livekit import rtc

            self._apm.process_reverse_stream(rtc.AudioFrame(bytes(out), SAMPLE_RATE, 1, BLOCK))
        if finished:
            position = self.playback_position
            self._loop.call_soon_threadsafe(
                lambda: self.on_playback_finished(playback_position=position, interrupted=False)
            )


def _mix_into(out: bytearray, pcm: bytes | bytearray) -> None:
    """Add int16 samples ``pcm`` to the start of ``out``, clipping to 16 bits."""
    import numpy as np

    n = len(pcm) // 2
    mixed = np.frombuffer(out, dtype=np.int16, count=n).astype(np.int32)
    mixed += np.frombuffer(pcm, dtype=np.int16, count=n)
    out[: n * 2] = np.clip(mixed, -32768, 32767).astype(np.int16).tobytes()


class DeviceAudio:
    def __init__(self, *, input_device: str | None, output_device: str | None) -> None:
        from livekit import rtc

        self._loop = asyncio.get_running_loop()
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=True, high_pass_filter=True, auto_gain_control=True
        )
        self.input = QueueAudioInput()
        self.output = _SpeakerOutput(self._loop, self._apm)
        self._in_dev = _device(input_device, "input")
        self._out_dev = _device(output_device, "output")
        self._streams: list[Any] = []

    def start(self) -> None:
        import sounddevice as sd
        from livekit import rtc

        def on_input(indata: Any, frames: int, _time: Any, _status: Any) -> None:
            frame = rtc.AudioFrame(bytes(indata), SAMPLE_RATE, 1, frames)
            self._apm.process_stream(frame)
            self._loop.call_soon_threadsafe(self.input.push_frame, frame)

        def on_output(outdata: Any, frames: int, _time: Any, _status: Any) -> None:
            block = bytearray(frames * 2)
            self.output.fill(block)
            outdata[:] = bytes(block)

        mic = sd.RawInputStream(samplerate=SAMPLE_RATE, blocksize=BLOCK, channels=1, dtype="int16",
                                device=self._in_dev, callback=on_input)
        speaker = sd.RawOutputStream(samplerate=SAMPLE_RATE, blocksize=BLOCK, channels=1, dtype="int16",
                                     device=self._out_dev, callback=on_output)
        latency_ms = int((mic.latency + speaker.latency) * 1000)
        self._apm.set_stream_delay_ms(latency_ms)
        for s in (mic, speaker):
            s.start()
            self._streams.append(s)

    def stop(self) -> None:
        for s in self._streams:
            try:
                s.stop()
                s.close()
            except Exception:
                pass
        self._streams.clear()
        self.input.close()
