"""Send user functions (entrypoint, prewarm) to a job process by reference.

A module-level function travels as its module name, qualified name and source file. The job
process looks the module up (``__main__`` is the agent script, re-imported by multiprocessing),
imports it by name, or, when the name is not importable (a script or test file outside
``sys.path``), loads it from its file. Other callables (``functools.partial``, instances) are
pickled as they are.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["FunctionRef", "portable", "resolve"]


@dataclass(frozen=True)
class FunctionRef:
    module: str
    qualname: str
    file: str | None

    def resolve(self) -> Callable[..., Any]:
        try:
            obj = _attr_path(_load_module(self.module), self.qualname)
        except (ImportError, AttributeError):
            if self.file is None:
                raise
            obj = _attr_path(_load_file(self.module, self.file), self.qualname)
        if not callable(obj):
            raise TypeError(f"{self.module}.{self.qualname} is not callable")
        return obj  # type: ignore[no-any-return]


def portable(fn: Callable[..., Any] | None, *, what: str) -> Any:
    """What to send to the job process for ``fn`` (raises a clear error for local functions)."""
    if fn is None:
        return None
    if inspect.isfunction(fn) or inspect.isbuiltin(fn):
        qualname = fn.__qualname__
        if "<locals>" in qualname or "<lambda>" in qualname:
            raise ValueError(
                f"{what} {qualname!r} must be defined at module level to run in a job process "
                "(or use job_executor_type=JobExecutorType.THREAD)"
            )
        try:
            file: str | None = inspect.getfile(fn)
        except TypeError:
            file = None
        return FunctionRef(module=fn.__module__, qualname=qualname, file=file)
    return fn


def resolve(ref: Any) -> Callable[..., Any] | None:
    if ref is None:
        return None
    if isinstance(ref, FunctionRef):
        return ref.resolve()
    return ref  # type: ignore[no-any-return]


def _attr_path(obj: Any, qualname: str) -> Any:
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _load_module(name: str) -> ModuleType:
    module = sys.modules.get(name)
    if module is not None:
        return module
    return importlib.import_module(name)


def _load_file(name: str, file: str) -> ModuleType:
    """Load ``file`` as a module (its ``if __name__ == "__main__"`` block does not run)."""
    alias = name if name != "__main__" else "__lk_agent_main__"
    existing = sys.modules.get(alias)
    if existing is not None and getattr(existing, "__file__", None) == file:
        return existing
    spec = importlib.util.spec_from_file_location(alias, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(alias, None)
        raise
    return module
