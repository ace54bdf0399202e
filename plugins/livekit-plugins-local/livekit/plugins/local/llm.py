"""Offline LLM: SmolLM2-135M-Instruct on llama.cpp, streamed token by token.

Generation runs in a worker thread; each token is handed to the event loop as soon as it is
sampled. The model is tiny (135M parameters): fluent small talk, but generic, and it makes
things up. It cannot call tools reliably, so tools passed to :meth:`LLM.chat` are ignored.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livekit.agents import APIConnectOptions, ChatContext
from livekit.agents._exceptions import APIError
from livekit.agents.llm import LLM as _LLM
from livekit.agents.llm import ChatChunk, ChoiceDelta, CompletionUsage, LLMStream, Tool, ToolChoice
from livekit.agents.llm.chat_context import ChatMessage
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.utils import shortuuid

from . import _smollm2_model as _model
from .log import logger

__all__ = ["LLM", "SamplingOptions"]


@dataclass(frozen=True)
class SamplingOptions:
    """How tokens are picked. The defaults keep a small model from looping or rambling:
    greedy decoding without a repeat penalty repeats itself within a few sentences, and at
    0.7 a 135M model drifts (into French, into nonsense) in about one reply in four."""

    temperature: float = 0.2
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.2
    max_tokens: int = 200
    #: a fixed seed makes replies reproducible; None picks a new one for every reply
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0 <= self.min_p < 1:
            raise ValueError(f"min_p must be in [0, 1), got {self.min_p}")
        if self.repeat_penalty < 1:
            raise ValueError(f"repeat_penalty must be >= 1, got {self.repeat_penalty}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


class LLM(_LLM):
    """SmolLM2-135M-Instruct, offline (``"local/smollm2"``).

    ``model_path`` runs another GGUF chat model instead (its own chat template is used);
    ``n_ctx`` is the context window in tokens (older turns are dropped to fit);
    ``n_threads`` bounds the CPU it takes. Sampling options are those of
    :class:`SamplingOptions`.
    """

    def __init__(
        self,
        *,
        model: str = _model.SMOLLM2,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        n_threads: int = 2,
        temperature: float = 0.2,
        top_p: float = 0.9,
        top_k: int = 40,
        min_p: float = 0.05,
        repeat_penalty: float = 1.2,
        max_tokens: int = 200,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if model_path is None and model != _model.SMOLLM2:
            raise ValueError(
                f"unknown local LLM model {model!r}; available: {_model.SMOLLM2!r} "
                f"(or pass model_path= to run another GGUF chat model)"
            )
        if n_ctx < 256:
            raise ValueError(f"n_ctx must be >= 256, got {n_ctx}")
        if n_threads < 1:
            raise ValueError(f"n_threads must be >= 1, got {n_threads}")
        self._sampling = SamplingOptions(
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            min_p=min_p,
            repeat_penalty=repeat_penalty,
            max_tokens=max_tokens,
            seed=seed,
        )
        if max_tokens >= n_ctx // 2:
            raise ValueError(f"max_tokens ({max_tokens}) must be below half of n_ctx ({n_ctx})")
        if model_path is not None:
            path = Path(model_path).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"GGUF model file not found: {path}")
            self._model_name = path.stem
        else:
            path = _model.smollm2_path()
            self._model_name = _model.SMOLLM2
        _model.require_llama_cpp()
        self._path = path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._warned_tools = False
        self._prewarm_thread: threading.Thread | None = None

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return "local"

    @property
    def sampling(self) -> SamplingOptions:
        return self._sampling

    def load(self) -> _model.Runtime:
        """Load the model (first call in the process only); blocking. Returns the shared runtime."""
        return _model.load_runtime(self._path, n_ctx=self._n_ctx, n_threads=self._n_threads)

    def prewarm(self) -> None:
        """Load the model in a background thread, ahead of the first reply."""
        if self._prewarm_thread is None:
            self._prewarm_thread = threading.Thread(
                target=self._prewarm, name="llm-prewarm", daemon=True
            )
            self._prewarm_thread.start()

    def _prewarm(self) -> None:
        try:
            self.load()
        except Exception:
            logger.exception("could not load the local LLM")

    def chat(
        self,
        *,
        chat_ctx: ChatContext,
        tools: list[Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> LLMStream:
        if tools and not self._warned_tools:
            self._warned_tools = True
            logger.warning(
                "%s cannot call tools reliably; the %d tool(s) of this agent are ignored",
                self._model_name,
                len(tools),
            )
        return _Stream(self, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)


def to_messages(chat_ctx: ChatContext) -> list[dict[str, str]]:
    """System, user and assistant text turns; tool calls, tool output and images are left out."""
    out: list[dict[str, str]] = []
    for item in chat_ctx.items:
        if not isinstance(item, ChatMessage):
            continue
        text = (item.text_content or "").strip()
        if not text:
            continue
        role = "system" if item.role in ("system", "developer") else item.role
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n" + text
        else:
            out.append({"role": role, "content": text})
    return out


class _Stream(LLMStream):
    _llm: LLM

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        request_id = shortuuid("local_")
        messages = to_messages(self.chat_ctx)
        if not messages:
            raise APIError("the chat context has no text to reply to", retryable=False)

        def forward(text: str) -> None:
            # called in the worker thread, once per token
            try:
                loop.call_soon_threadsafe(self._forward, request_id, text)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        try:
            usage = await asyncio.to_thread(self._generate, messages, forward, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
        except (ValueError, RuntimeError, OSError) as e:
            stop.set()
            raise APIError(f"local LLM generation failed: {e}", retryable=False) from e
        self._event_ch.send_nowait(ChatChunk(id=request_id, usage=usage))

    def _forward(self, request_id: str, text: str) -> None:
        if not self._event_ch.closed:
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=text))
            )

    def _generate(
        self,
        messages: list[dict[str, str]],
        forward: Callable[[str], None],
        stop: threading.Event,
    ) -> CompletionUsage:
        """Blocking: format the prompt, then sample and forward tokens until done or stopped."""
        runtime = self._llm.load()
        opts = self._llm.sampling
        while not runtime.lock.acquire(timeout=0.1):  # another generation holds the context
            if stop.is_set():
                return CompletionUsage(0, 0, 0)
        try:
            prompt, stops = _fit_prompt(runtime, messages, self._llm._n_ctx - opts.max_tokens)
            completion = 0
            chunks = runtime.llama.create_completion(
                prompt=prompt,
                max_tokens=opts.max_tokens,
                temperature=opts.temperature,
                top_p=opts.top_p,
                top_k=opts.top_k,
                min_p=opts.min_p,
                repeat_penalty=opts.repeat_penalty,
                # llama.cpp's own default seed repeats the same reply in every process
                seed=opts.seed if opts.seed is not None else random.getrandbits(31),
                stop=stops or None,
                stream=True,
            )
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    text = chunk["choices"][0].get("text") or ""
                    completion += 1
                    if text:
                        forward(text)
            finally:
                chunks.close()
            evaluated = int(getattr(runtime.llama, "n_tokens", 0)) - len(prompt)
            completion = max(completion, evaluated)
            return CompletionUsage(
                completion_tokens=completion,
                prompt_tokens=len(prompt),
                total_tokens=completion + len(prompt),
            )
        finally:
            runtime.lock.release()


def _fit_prompt(
    runtime: _model.Runtime, messages: list[dict[str, str]], budget: int
) -> tuple[list[int], list[str]]:
    """Tokenize the chat with the model's template, dropping the oldest turns to fit ``budget``."""
    msgs = list(messages)
    while True:
        tokens, stops = _tokenize_chat(runtime, msgs)
        if len(tokens) <= budget:
            return tokens, stops
        first = 1 if msgs and msgs[0]["role"] == "system" else 0
        if len(msgs) - first <= 1:
            raise ValueError(
                f"the prompt ({len(tokens)} tokens) does not fit the context window; "
                f"raise n_ctx or shorten the instructions"
            )
        del msgs[first]


def _tokenize_chat(
    runtime: _model.Runtime, messages: list[dict[str, str]]
) -> tuple[list[int], list[str]]:
    llama = runtime.llama
    if runtime.formatter is not None:
        result = runtime.formatter(messages=messages)
        text: str = result.prompt
        stops = [result.stop] if isinstance(result.stop, str) else list(result.stop or [])
        add_bos = not bool(getattr(result, "added_special", False))
    else:  # a GGUF without a chat template: plain role lines
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        stops = ["\nuser:"]
        add_bos = True
    tokens = list(llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))
    return tokens, [s for s in stops if s]
