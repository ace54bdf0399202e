"""Small shared types: the NOT_GIVEN sentinel and API connection options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeGuard, TypeVar, Union

__all__ = [
    "DEFAULT_API_CONNECT_OPTIONS",
    "NOT_GIVEN",
    "APIConnectOptions",
    "NotGiven",
    "NotGivenOr",
    "is_given",
]

_T = TypeVar("_T")


class NotGiven:
    """Sentinel for "argument not passed", distinct from ``None`` (which often means "disable")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
NotGivenOr: TypeAlias = Union[_T, NotGiven]


def is_given(value: NotGivenOr[_T]) -> TypeGuard[_T]:
    return not isinstance(value, NotGiven)


@dataclass(frozen=True)
class APIConnectOptions:
    """How a provider call is retried.

    ``max_retry`` retries follow the first attempt (so ``max_retry=3`` means up to four attempts);
    retries back off from ``retry_interval`` (the first one is quicker); each attempt may take at
    most ``timeout`` seconds to connect or to stay silent.
    """

    max_retry: int = 3
    retry_interval: float = 2.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.max_retry < 0:
            raise ValueError(f"max_retry must be >= 0, got {self.max_retry}")
        if self.retry_interval < 0:
            raise ValueError(f"retry_interval must be >= 0, got {self.retry_interval}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {self.timeout}")


DEFAULT_API_CONNECT_OPTIONS = APIConnectOptions()


def _kwargs_given(**kwargs: Any) -> dict[str, Any]:
    """Keep only the keyword arguments that were actually given."""
    return {k: v for k, v in kwargs.items() if is_given(v)}
