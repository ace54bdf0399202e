"""The README's main command, end to end: a spoken question through the fully offline agent.

Runs ``examples/offline_agent.py console --input examples/assets/question.wav`` with the real
local models (Silero VAD, Whisper, the semantic turn detector, SmolLM2, Piper) and checks the
user's transcript (by word error rate) and that the reply is non-silent speech.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What is the weather in Paris today?"

pytestmark = pytest.mark.slow

_NEEDED = ("faster_whisper", "llama_cpp", "piper", "onnxruntime")


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(1, len(ref))


def test_word_error_rate() -> None:
    assert word_error_rate(QUESTION, "what is the weather in paris today") == 0
    assert word_error_rate(QUESTION, "what is the weather in rome today") == pytest.approx(1 / 7)
    assert word_error_rate("a b", "") == 1


def test_offline_agent_answers_a_spoken_question(tmp_path: Path) -> None:
    missing = [m for m in _NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"local model runtimes not installed: {', '.join(missing)}")
    reply, transcript = tmp_path / "reply.wav", tmp_path / "turn.jsonl"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "offline_agent.py"), "console",
         "--input", str(ROOT / "examples" / "assets" / "question.wav"),
         "--output", str(reply), "--transcript", str(transcript)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    said = [e for e in events if e["type"] == "conversation_item_added"]
    user = [e["text"] for e in said if e["role"] == "user"]
    agent = [e["text"] for e in said if e["role"] == "assistant"]
    assert user, proc.stdout
    assert word_error_rate(QUESTION, user[0]) <= 0.2, user[0]
    assert agent and agent[0].strip()
    assert "you: " in proc.stdout and "agent: " in proc.stdout and f"reply audio: {reply}" in proc.stdout

    with wave.open(str(reply), "rb") as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    assert rate == 22050 and audio.size / rate > 0.5
    # speech, not silence: loud enough overall, with the energy varying like syllables do
    frames = audio[: audio.size // 441 * 441].reshape(-1, 441)
    energy = np.sqrt((frames**2).mean(axis=1))
    assert energy.mean() > 0.01
    assert (energy > 0.02).mean() > 0.3 and (energy < 0.5 * energy.max()).mean() > 0.1
