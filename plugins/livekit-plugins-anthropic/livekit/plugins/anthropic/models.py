"""Claude model names (plain data: importing this module loads no SDK).

Short names (``claude-3-5-sonnet``) map to the newest dated snapshot of that model; full ids
(``claude-3-5-sonnet-20240620``), ``-latest`` aliases and any other string pass through unchanged.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MODEL", "MODEL_ALIASES", "MODELS", "NO_PREFILL_MODELS", "model_id"]

MODEL_ALIASES: dict[str, str] = {
    "claude-3-haiku": "claude-3-haiku-20240307",
    "claude-3-opus": "claude-3-opus-20240229",
    "claude-3-5-sonnet": "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku": "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet": "claude-3-7-sonnet-20250219",
    "claude-sonnet-4": "claude-sonnet-4-20250514",
    "claude-opus-4": "claude-opus-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}

#: well-known names, for documentation and ``plugins --check``
MODELS: tuple[str, ...] = (*MODEL_ALIASES, "claude-sonnet-4-6", "claude-opus-4-6")

DEFAULT_MODEL = "claude-sonnet-4-6"

#: models that do not accept a conversation ending with an assistant turn (no prefill)
NO_PREFILL_MODELS: frozenset[str] = frozenset({"claude-sonnet-4-6", "claude-opus-4-6"})


def model_id(name: str) -> str:
    """The API id for ``name`` (a short name is expanded; anything else is kept)."""
    return MODEL_ALIASES.get(name, name)
