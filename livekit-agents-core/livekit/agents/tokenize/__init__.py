"""Tokenizers that turn streamed LLM text into TTS-sized pieces."""

from . import basic
from .tokenizer import SentenceStream, SentenceTokenizer, TokenData, WordTokenizer

__all__ = ["SentenceStream", "SentenceTokenizer", "TokenData", "WordTokenizer", "basic"]
