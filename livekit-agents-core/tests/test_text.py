"""Sentence tokenization for TTS and the text transforms applied before speech."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from livekit.agents.tokenize.basic import SentenceTokenizer, split_sentences, split_words
from livekit.agents.voice.text_transforms import apply_text_transforms, check_transforms


@pytest.mark.parametrize(
    ("text", "sentences", "rest"),
    [
        ("Hello! How are you? I am fine", ["Hello!", "How are you?"], "I am fine"),
        ("Dr. Smith lives at 3.14 Main St. in the U.S. today. Next", ["Dr. Smith lives at 3.14 Main St. in the U.S. today."], "Next"),
        ("I met J. Doe yesterday. Ok", ["I met J. Doe yesterday."], "Ok"),
        ("Wait… what? Yes", ["Wait…", "what?"], "Yes"),
        ("Para one\n\nPara two", ["Para one"], "Para two"),
        ("你好。今天怎么样？好", ["你好。", "今天怎么样？"], "好"),
    ],
)
def test_split_sentences(text: str, sentences: list[str], rest: str) -> None:
    assert split_sentences(text) == (sentences, rest)


def test_short_sentences_are_joined() -> None:
    assert split_sentences("Hi. Ok. This one is long enough. x", min_sentence_len=20) == (
        ["Hi. Ok. This one is long enough."], "x")


async def test_stream_releases_the_first_sentence_at_once() -> None:
    stream = SentenceTokenizer(min_sentence_len=20).stream()
    stream.push_text("Sure")
    stream.push_text("! Let me check that ")
    first = await stream.__anext__()
    assert first.token == "Sure!"  # short, but first: it sets the time to first audio
    stream.push_text("for you. Ok. Done")
    stream.end_input()
    rest = [t.token async for t in stream]
    assert rest == ["Let me check that for you.", "Ok. Done"]
    with pytest.raises(RuntimeError):
        stream.push_text("late")


def test_split_words() -> None:
    assert split_words("Hello, world! It's me.") == ["Hello", "world", "It's", "me"]


async def _collect(parts: list[str], transforms: list[str]) -> str:
    async def gen() -> AsyncIterator[str]:
        for p in parts:
            yield p

    return "".join([t async for t in apply_text_transforms(gen(), transforms)])


async def test_markdown_and_emoji_are_not_spoken() -> None:
    parts = ["# Ti", "tle\nThis is **bo", "ld** and `code`. See [the ", "docs](http://x) 🎉\n- item"]
    assert await _collect(parts, ["filter_markdown", "filter_emoji"]) == "Title\nThis is bold and code. See the docs \nitem"


async def test_plain_text_streams_through_unchanged() -> None:
    assert await _collect(["Hello", " world, fine"], ["filter_markdown"]) == "Hello world, fine"


def test_unknown_transform_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown text transform 'shout'"):
        check_transforms(["shout"])
