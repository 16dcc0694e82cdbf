"""A small on-disk cache for trained models, keyed by a hash of their training data.

Training the shop domain takes about a second, but every process (bot, tests, CLI) would
pay it at start; with the cache a warm start only unpickles. A cache problem of any kind
(missing, corrupt, written by another library version, read-only folder) just means
"train again", never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

import sklearn

CACHE_VERSION = "8"
"""Bump when the pickled classes change shape, so old cache files are ignored."""


def default_cache_dir() -> Path:
    """``$CAREBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/carebot``, else ``~/.cache/carebot``."""
    if env := os.environ.get("CAREBOT_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carebot"


def cache_key(*parts: str) -> str:
    """A file-name-safe key from the data hash and everything that changes the model."""
    text = "|".join((CACHE_VERSION, sklearn.__version__, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load(cache_dir: Path, key: str) -> object | None:
    """The cached object, or ``None`` on any problem."""
    path = cache_dir / f"intents-{key}.pkl"
    try:
        with path.open("rb") as handle:
            value: object = pickle.load(handle)  # our own cache folder
        return value
    except Exception:
        return None


def save(cache_dir: Path, key: str, value: object) -> None:
    """Store atomically (write a temporary file, then rename); failures are ignored."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=cache_dir, delete=False) as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        Path(handle.name).replace(cache_dir / f"intents-{key}.pkl")
    except OSError:
        return
