"""Provider base URLs: argument, then environment variable, then default; bad values named."""

from __future__ import annotations

import pytest

from livekit.agents.utils.base_url import HTTP_OR_WS, check_base_url, http_and_ws, resolve_base_url

EXPECTED = "an http(s) URL such as 'https://api.example.com'"


def resolve(base_url: str | None = None, **kwargs: object) -> str:
    return resolve_base_url(base_url, env_var="ACME_BASE_URL", default="https://api.example.com",
                            expected=EXPECTED, **kwargs)  # type: ignore[arg-type]


def test_argument_then_variable_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_BASE_URL", raising=False)
    assert resolve() == "https://api.example.com"
    monkeypatch.setenv("ACME_BASE_URL", "  HTTP://127.0.0.1:8080/ ")
    assert resolve() == "http://127.0.0.1:8080"
    assert resolve("https://proxy.local/acme/") == "https://proxy.local/acme"
    monkeypatch.setenv("ACME_BASE_URL", "   ")  # blank counts as unset
    assert resolve() == "https://api.example.com"
    monkeypatch.setenv("ACME_BASE_URL", "not a url")
    assert resolve("https://given.local") == "https://given.local"  # the variable is not read


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sk-secret-key", "it does not start with http:// or https://"),
        ("https://", "it has no host"),
        ("http://host:port", "its port is not a number between 0 and 65535"),
    ],
)
def test_a_bad_variable_is_named_and_never_echoed(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("ACME_BASE_URL", value)
    with pytest.raises(ValueError) as info:
        resolve()
    message = str(info.value)
    assert message == (f"ACME_BASE_URL must be {EXPECTED}, but {problem} "
                       "(read when base_url= is not given)")
    assert value not in message or value == "https://"


def test_schemes_suffixes_and_transports() -> None:
    url = check_base_url("wss://api.example.com/v1/listen", expected="x", schemes=HTTP_OR_WS,
                         strip_suffixes=("/v1/listen", "/v1"))
    assert url == "wss://api.example.com"
    assert http_and_ws(url) == ("https://api.example.com", "wss://api.example.com")
    with pytest.raises(ValueError, match=r"base_url must be x, but it does not start with "
                                         r"http://, https://, ws:// or wss://"):
        check_base_url("ftp://host", expected="x", schemes=HTTP_OR_WS)
