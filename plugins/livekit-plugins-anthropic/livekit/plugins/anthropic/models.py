"""Claude model names (plain data: importing this module loads no SDK).

Short names of dated models (``claude-3-5-sonnet``) map to the newest snapshot of that model;
names Anthropic serves as they are (``claude-sonnet-4-6``), full ids
(``claude-3-5-sonnet-20240620``), ``-latest`` aliases and any other string pass through unchanged.
Anthropic retires old models over time: a retired id fails with a clear 404 from the API.
"""

from __future__ import annotations

import re

__all__ = [
    "CURRENT_MODELS",
    "DEFAULT_MODEL",
    "MODELS",
    "MODEL_ALIASES",
    "model_id",
    "supports_prefill",
]

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
    "claude-opus-4-5": "claude-opus-4-5-20251101",
}

#: ids Anthropic serves without a date suffix (passed through as they are)
CURRENT_MODELS: tuple[str, ...] = (
    "claude-sonnet-4-6",
    "claude-opus-4-6",
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-sonnet-5",
    "claude-opus-5",
    "claude-haiku-5-5",
    "claude-sonnet-5-5",
    "claude-opus-5-5",
)

#: well-known names, for documentation and ``plugins --check``
MODELS: tuple[str, ...] = (*MODEL_ALIASES, *CURRENT_MODELS)

DEFAULT_MODEL = "claude-sonnet-4-6"

#: model families that can continue a conversation ending with an assistant turn (prefill)
_PREFILL = re.compile(r"^claude-(3-|(sonnet|opus|haiku)-4(-[015])?(-\d{8})?$)")


def model_id(name: str) -> str:
    """The API id for ``name`` (a short name is expanded; anything else is kept)."""
    return MODEL_ALIASES.get(name, name)


def supports_prefill(model: str) -> bool:
    """Whether ``model`` accepts a conversation that ends with an assistant turn.

    Claude 3.x and 4.0-4.5 do (they continue that turn); newer models reject it, and unknown
    names are treated like the newer ones.
    """
    return bool(_PREFILL.match(model))
