"""The fake speaks the protocol of the real service: Microsoft's own Speech SDK recognizes through it.

The plugin does not use the SDK (see the README); this test only checks the fake, and is skipped
where ``azure-cognitiveservices-speech`` (a native library) is not installed.
"""

from __future__ import annotations

import asyncio
import math
import threading
from array import array
from typing import Any

import pytest
from fake_servers.azure import FakeAzureSpeech

try:
    import azure.cognitiveservices.speech as speechsdk
except ImportError:  # a native library, not a dependency of the plugin
    speechsdk = None

pytestmark = pytest.mark.skipif(
    speechsdk is None, reason="azure-cognitiveservices-speech is not installed"
)


def _pcm(pattern: list[tuple[str, float]], rate: int = 16000) -> bytes:
    out = bytearray()
    for kind, seconds in pattern:
        n = int(rate * seconds)
        if kind == "speech":
            out += array(
                "h", (int(8000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(n))
            ).tobytes()
        else:
            out += bytes(2 * n)
    return bytes(out)


async def test_official_sdk_recognizes_through_the_fake() -> None:
    async with FakeAzureSpeech(api_key="k", transcripts=["Hello there.", "Second one."]) as srv:
        endpoint = srv.base_url.replace("http://", "ws://") + (
            "/speech/recognition/conversation/cognitiveservices/v1"
        )
        config = speechsdk.SpeechConfig(endpoint=endpoint, subscription="k")
        config.output_format = speechsdk.OutputFormat.Detailed
        fmt = speechsdk.audio.AudioStreamFormat(
            samples_per_second=16000, bits_per_sample=16, channels=1
        )
        push = speechsdk.audio.PushAudioInputStream(fmt)
        recognizer = speechsdk.SpeechRecognizer(
            speech_config=config, audio_config=speechsdk.audio.AudioConfig(stream=push)
        )
        events: list[tuple[Any, ...]] = []
        stopped = threading.Event()
        recognizer.recognizing.connect(lambda e: events.append(("recognizing", e.result.text)))
        recognizer.recognized.connect(lambda e: events.append(("recognized", e.result.text)))
        recognizer.speech_start_detected.connect(lambda e: events.append(("start",)))
        recognizer.speech_end_detected.connect(lambda e: events.append(("end",)))
        recognizer.canceled.connect(
            lambda e: events.append(("canceled", str(e.cancellation_details.reason)))
        )
        recognizer.session_stopped.connect(lambda e: stopped.set())

        await asyncio.to_thread(lambda: recognizer.start_continuous_recognition_async().get())
        data = _pcm(
            [("silence", 0.2), ("speech", 0.8), ("silence", 0.5), ("speech", 0.6), ("silence", 0.2)]
        )
        for i in range(0, len(data), 3200):
            push.write(data[i : i + 3200])
        push.close()
        assert await asyncio.to_thread(stopped.wait, 20)
        await asyncio.to_thread(lambda: recognizer.stop_continuous_recognition_async().get())

    recognized = [e[1] for e in events if e[0] == "recognized"]
    assert recognized == ["Hello there.", "Second one."]
    assert events[0] == ("start",)
    assert ("recognizing", "hello") in events
    assert ("end",) in events
    assert ("canceled", "CancellationReason.EndOfStream") in events
    assert srv.violations == []
