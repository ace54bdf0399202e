"""The Silero VAD model: one ONNX Runtime session per process, run on one inference thread.

Every stream of every session in the process shares the session and the thread; each stream
keeps its own recurrent state and audio context. A stream sends the raw audio that completes
one or more windows; the thread converts it to model input (see ``_input``) and runs the
windows. Windows that several streams have ready at the same moment run as one batch: the
model treats batch rows independently (results are identical to single runs) and a batch of
10 or more windows costs about half as much per window as single runs. ONNX Runtime releases
the GIL while it runs, so the event loops of the process keep going.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from ._input import Chunk, ModelInput

if TYPE_CHECKING:
    from importlib.abc import Traversable

logger = logging.getLogger("livekit.plugins.silero")

SUPPORTED_SAMPLE_RATES = (8000, 16000)
#: file name of the bundled model (Silero VAD v6.2, MIT; see resources/LICENSE.silero-vad)
MODEL_FILE = "silero_vad.onnx"
#: SHA-256 of the bundled model; ``download-files`` checks the installed file against it
MODEL_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
_STATE_SHAPE = (2, 1, 128)
#: longest wait for the windows of other streams before a model run (when several are active)
GATHER_SECONDS = 0.004


_sessions: dict[str | None, Any] = {}
_sessions_lock = threading.Lock()


def load_session(model_path: str | None = None) -> Any:
    """The process-wide ONNX Runtime session for ``model_path`` (None: the bundled model)."""
    with _sessions_lock:
        session = _sessions.get(model_path)
        if session is None:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
            source: Union[str, bytes] = model_path or _bundled_model()
            session = ort.InferenceSession(
                source, sess_options=opts, providers=["CPUExecutionProvider"]
            )
            names = {i.name for i in session.get_inputs()}
            if not {"input", "state", "sr"} <= names:
                raise ValueError(
                    f"{model_path}: not a Silero VAD v5/v6 model (inputs {sorted(names)}, "
                    "expected input, state and sr)"
                )
            _sessions[model_path] = session
        return session


def bundled_model_file() -> Traversable:
    """Where the bundled model is read from (inside the installed package)."""
    return importlib.resources.files(__package__).joinpath("resources").joinpath(MODEL_FILE)


def _bundled_model() -> bytes:
    return bundled_model_file().read_bytes()


class StreamState:
    """Recurrent state and audio conversion of one stream; only the inference thread uses
    them (a stream has at most one request in flight)."""

    __slots__ = ("input", "sample_rate", "state")

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.state = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self.input = ModelInput(sample_rate)


#: (speech probability, seconds the model run took) of one window
Result = tuple[float, float]


@dataclass(eq=False)
class _Request:
    stream: StreamState
    #: the stream's audio since its previous request
    chunks: list[Chunk]
    #: windows that audio completes
    count: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Result]]
    #: the windows, cut on the inference thread
    windows: list[np.ndarray] | None = None


class InferenceRunner:
    """Runs windows of many streams on one thread, batching those that are ready together."""

    def __init__(self, model_path: str | None) -> None:
        self._model_path = model_path
        #: windows and batches run, and CPU seconds of the inference thread (for benchmarks)
        self.windows = 0
        self.batches = 0
        self.thread_cpu = 0.0
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._streams = 0
        self._thread: threading.Thread | None = None
        self._loaded = threading.Event()

    def load(self) -> None:
        """Load the model now, in the calling thread (a prewarm hook)."""
        load_session(self._model_path)
        self._loaded.set()

    def load_in_background(self) -> None:
        """Start loading the model on the inference thread; returns at once."""
        with self._cond:
            self._start_thread()
            self._cond.notify()

    def attach(self) -> None:
        """A stream starts using the runner (the count decides whether to gather batches)."""
        with self._cond:
            self._streams += 1

    def detach(self) -> None:
        with self._cond:
            self._streams -= 1
            self._cond.notify()

    async def infer(self, stream: StreamState, chunks: list[Chunk], count: int) -> list[Result]:
        """Convert a stream's new audio on the inference thread and run the ``count``
        windows it completes, in order, in one trip."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Result]] = loop.create_future()
        with self._cond:
            self._start_thread()
            self._pending.append(_Request(stream, chunks, count, loop, future))
            if len(self._pending) == 1 or len(self._pending) >= self._streams:
                self._cond.notify()  # the first window, or the last one the runner waits for
        return await future

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run_forever, name="silero-vad-inference", daemon=True
            )
            self._thread.start()

    def _run_forever(self) -> None:
        while True:
            with self._cond:
                while not self._pending and self._loaded.is_set():
                    self._cond.wait()
                if self._pending and self._streams > 1:
                    # other streams' windows are due soon: wait a little for them, so one
                    # model run (and one wake-up of each event loop) serves several windows
                    deadline = time.monotonic() + GATHER_SECONDS
                    while len(self._pending) < self._streams:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                batch, self._pending = self._pending, []
            cpu = time.thread_time()
            self._serve(batch)
            self.thread_cpu += time.thread_time() - cpu

    def _serve(self, batch: list[_Request]) -> None:
        try:
            session = load_session(self._model_path)
        except BaseException as e:  # a bad model file: every waiting stream gets the error
            _deliver([(r, e) for r in batch])
            return
        finally:
            self._loaded.set()
        results: list[tuple[_Request, Union[list[Result], BaseException]]] = []
        ready: list[_Request] = []
        for r in batch:
            try:
                r.windows = r.stream.input.feed(r.chunks, r.count)
                ready.append(r)
            except Exception as e:
                results.append((r, e))
        if len(ready) <= 1 or all(r.stream.sample_rate == ready[0].stream.sample_rate for r in ready):
            groups = [ready] if ready else []
        else:
            by_rate: dict[int, list[_Request]] = {}
            for r in ready:
                by_rate.setdefault(r.stream.sample_rate, []).append(r)
            groups = list(by_rate.values())
        for requests in groups:
            try:
                results.extend(self._run_group(session, requests))
            except Exception as e:
                results.extend((r, e) for r in requests)
        _deliver(results)

    def _run_group(self, session: Any, requests: list[_Request]) -> list[tuple[_Request, list[Result]]]:
        """Runs requests of one sample rate: the k-th windows of all of them in one batch,
        for k = 0, 1, ... (a stream's windows depend on each other through its state)."""
        sr = _sample_rate_input(requests[0].stream.sample_rate)
        windows = [r.windows or [] for r in requests]
        out: list[list[Result]] = [[] for _ in requests]
        k = 0
        while True:
            rows = [i for i, w in enumerate(windows) if k < len(w)]
            if not rows:
                break
            if len(rows) == 1:
                audio = windows[rows[0]][k][np.newaxis, :]
                state = requests[rows[0]].stream.state
            else:
                audio = np.stack([windows[i][k] for i in rows])
                state = np.concatenate([requests[i].stream.state for i in rows], axis=1)
            start = time.perf_counter()
            probs, new_state = session.run(None, {"input": audio, "state": state, "sr": sr})
            elapsed = time.perf_counter() - start
            self.windows += len(rows)
            self.batches += 1
            if len(rows) == 1:
                requests[rows[0]].stream.state = new_state
                out[rows[0]].append((float(probs[0, 0]), elapsed))
            else:
                for j, i in enumerate(rows):
                    requests[i].stream.state = np.ascontiguousarray(new_state[:, j : j + 1, :])
                    out[i].append((float(probs[j, 0]), elapsed))
            k += 1
        return list(zip(requests, out, strict=True))


_sr_inputs: dict[int, np.ndarray] = {}


def _sample_rate_input(rate: int) -> np.ndarray:
    value = _sr_inputs.get(rate)
    if value is None:
        value = _sr_inputs[rate] = np.array(rate, dtype=np.int64)
    return value


def _deliver(results: list[tuple[_Request, Union[list[Result], BaseException]]]) -> None:
    """Resolve futures with one wake-up per event loop."""
    if len(results) == 1:
        r, value = results[0]
        try:
            r.loop.call_soon_threadsafe(_resolve, [(r.future, value)])
        except RuntimeError:  # the loop was closed while the window was running
            pass
        return
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for r, value in results:
        by_loop.setdefault(r.loop, []).append((r.future, value))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # the loop was closed while the window was running
            pass


def _resolve(items: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, value in items:
        if future.done():
            continue
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)


_runners: dict[str | None, InferenceRunner] = {}
_runners_lock = threading.Lock()


def get_runner(model_path: str | None = None) -> InferenceRunner:
    """The process-wide runner of ``model_path`` (None: the bundled model)."""
    with _runners_lock:
        runner = _runners.get(model_path)
        if runner is None:
            runner = _runners[model_path] = InferenceRunner(model_path)
        return runner


def _after_fork_in_child() -> None:
    # threads do not survive fork: the child starts its own inference thread when it first
    # needs one (loaded sessions are inherited, shared copy-on-write, and stay loaded)
    global _runners_lock, _sessions_lock
    _runners_lock = threading.Lock()
    _sessions_lock = threading.Lock()
    for runner in _runners.values():
        runner._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
