"""The Smart Turn model: one ONNX Runtime session per process, run on one inference thread.

Every session and detector in the process shares the model and the thread; decisions are rare
(one per pause of the user) so they queue rather than batch. ONNX Runtime releases the GIL
while it runs, so the event loops of the process keep going.
"""

from __future__ import annotations

import concurrent.futures
import importlib.resources
import os
import threading
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from ._features import log_mel

if TYPE_CHECKING:
    from importlib.abc import Traversable

#: file name of the bundled model (Smart Turn v3.2, BSD-2-Clause; see resources/LICENSE.smart-turn)
MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
#: SHA-256 of the bundled model; ``download-files`` checks the installed file against it
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"

_sessions: dict[tuple[str | None, int], Any] = {}
_lock = threading.Lock()  # held while a model loads
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()  # never held for long: the event loop takes it


def load_session(model_path: str | None = None, cpu_threads: int = 1) -> Any:
    """The process-wide ONNX Runtime session for ``model_path`` (None: the bundled model)."""
    key = (model_path, cpu_threads)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = cpu_threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            source: Union[str, bytes] = model_path or _bundled_model()
            session = ort.InferenceSession(
                source, sess_options=opts, providers=["CPUExecutionProvider"]
            )
            inputs = {i.name: i.shape for i in session.get_inputs()}
            if list(inputs.get("input_features", []))[1:] != [80, 800]:
                raise ValueError(
                    f"{model_path}: not a Smart Turn v3 model (inputs {inputs}, expected "
                    "input_features of shape [batch, 80, 800])"
                )
            _sessions[key] = session
        return session


def bundled_model_file() -> Traversable:
    """Where the bundled model is read from (inside the installed package)."""
    return importlib.resources.files(__package__).joinpath("resources").joinpath(MODEL_FILE)


def _bundled_model() -> bytes:
    return bundled_model_file().read_bytes()


def executor() -> concurrent.futures.ThreadPoolExecutor:
    """The process-wide inference thread."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="smart-turn-inference"
            )
        return _executor


def predict(audio: np.ndarray, model_path: str | None, cpu_threads: int) -> float:
    """P(the turn is complete) for 16 kHz float audio (the last 8 s count)."""
    session = load_session(model_path, cpu_threads)
    features = log_mel(audio)[np.newaxis]
    (out,) = session.run(None, {"input_features": features})
    return float(np.clip(out.reshape(-1)[0], 0.0, 1.0))


def _after_fork_in_child() -> None:
    # the inference thread does not survive fork: the child starts its own when needed
    # (loaded sessions are inherited and stay shared copy-on-write)
    global _executor, _executor_lock, _lock
    _executor = None
    _executor_lock = threading.Lock()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
