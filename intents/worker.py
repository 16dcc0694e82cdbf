"""Reading messages in a child process, so the bot's event loop keeps serving meanwhile.

Reading one message (n-gram features, the linear model, the out-of-scope check, the
knowledge base, the mood) is a millisecond or two of pure CPU work that holds the GIL. On
the bot's event loop it holds up every other chat, the long poll and the dispatcher. A
child process holding the same model does it instead. The engine asks as soon as an
event arrives (:meth:`UnderstandingWorker.read_ahead`) and collects the answer when its
turn needs it. On a machine with a second core, the reading then overlaps the turn's
database work and other chats' turns.

Anything unusual falls back to reading the message in the bot's own process: the child
not started yet or dead, too much in flight, an answer slower than ``timeout``, an error
in the child. A dead child is started again, at most once a minute.

The child is a fresh interpreter (``python -m intents.worker``), not a fork: it shares
nothing with the bot's threads, sockets or database connections, and imports nothing of
the program that started it. It gets the understander pickled on its standard input (a
few MB for the shop domain), answers length-prefixed pickles on its standard output, and
exits when its standard input closes, which is also what happens when the bot dies.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from intents.base import Understander
from intents.types import Emotion, IntentInfo, Understanding

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 64
"""Requests waiting for the child; beyond that a message is quicker read in-process."""
RESTART_AFTER_SECONDS = 60.0
_LENGTH = struct.Struct("!I")


def _frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _read_frame(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child: read the understander, then answer ``(id, text, language)`` requests
    with ``(id, ok, understanding or error)`` until ``requests`` ends."""
    understander: Understander = _read_frame(requests)
    answers.write(_frame(("ready", True, None)))
    answers.flush()
    while True:
        try:
            request_id, text, language = _read_frame(requests)
        except EOFError:
            return
        try:
            understanding = understander.understand(text, language)
            answer: tuple[Any, bool, Any] = (request_id, True, understanding)
        except Exception as exc:  # the bot reads the message itself instead
            answer = (request_id, False, f"{type(exc).__name__}: {exc}")
        answers.write(_frame(answer))
        answers.flush()


@dataclass
class _Child:
    process: asyncio.subprocess.Process
    ready: asyncio.Future[bool]
    waiting: dict[int, asyncio.Future[Understanding | None]] = field(default_factory=dict)
    alive: bool = True
    reader: asyncio.Task[None] | None = None


class UnderstandingWorker:
    """An :class:`~intents.base.Understander` that can also read ahead in a child process.

    ``understand``, ``mood`` and the lookups run in-process, as the wrapped understander's
    do; only :meth:`read_ahead` uses the child.
    """

    def __init__(self, understander: Understander, *, timeout: float = 2.0) -> None:
        self.inner = understander
        self.timeout = timeout
        self._child: _Child | None = None
        self._ids = itertools.count(1)
        self._started_at = 0.0
        self._starting: asyncio.Task[bool] | None = None
        self.answered = 0  # answers the child gave (for tests and the benchmark)

    # The Understander protocol: in-process ------------------------------------------
    def understand(self, text: str, language: str | None = None) -> Understanding:
        """Read one message here and now."""
        return self.inner.understand(text, language)

    def mood(self, text: str, language: str | None = None) -> Emotion:
        """Only the mood, in-process (it is cheap)."""
        return self.inner.mood(text, language)

    def intent_info(self, name: str) -> IntentInfo | None:
        """The domain's intent ``name``."""
        return self.inner.intent_info(name)

    def knowledge_entry(self, entry_id: str) -> str | None:
        """A knowledge-base answer template by id."""
        return self.inner.knowledge_entry(entry_id)

    def __getattr__(self, name: str) -> Any:  # the wrapped one's other attributes
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # The child ------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """True while a started child takes requests."""
        child = self._child
        return child is not None and child.alive and child.ready.done() and child.ready.result()

    async def start(self, *, wait: float = 30.0) -> bool:
        """Start the child and wait until it has the model (at most ``wait`` seconds);
        True if it is ready. Until then, and if it never is, messages are read here."""
        if self._child is not None and self._child.alive:
            await asyncio.wait([self._child.ready], timeout=wait)
            return self.ready
        self._started_at = time.monotonic()
        model = _frame(self.inner)
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "intents.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=environment,
            )
        except OSError:
            log.exception("could not start the understanding process; reading in-process")
            return False
        child = _Child(process, asyncio.get_running_loop().create_future())
        self._child = child
        assert process.stdin is not None
        process.stdin.write(model)
        child.reader = asyncio.create_task(self._read_answers(child), name="understanding-answers")
        await asyncio.wait([child.ready], timeout=wait)
        return self.ready

    async def wait_ready(self, within: float = 30.0) -> bool:
        """Wait until the child (being started, or started again) takes requests, at
        most ``within`` seconds; False if it does not."""
        deadline = time.monotonic() + within
        while not self.ready and (left := deadline - time.monotonic()) > 0:
            child = self._child
            if self._starting is not None:
                await asyncio.wait([self._starting], timeout=left)
            elif child is not None and child.alive:
                await asyncio.wait([child.ready], timeout=left)
            elif child is not None:
                break  # dead, and not being started again
            else:
                await asyncio.sleep(0.01)  # start() not called yet
        return self.ready

    async def stop(self) -> None:
        """Close the child's input (it exits) and wait for it, briefly."""
        child, self._child = self._child, None
        if self._starting is not None:
            self._starting.cancel()
        if child is None:
            return
        self._dead(child)
        process = child.process
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()
        if child.reader is not None:
            await asyncio.wait([child.reader], timeout=1)

    def read_ahead(self, text: str, language: str | None) -> asyncio.Future[Understanding | None]:
        """Start reading ``text`` in the child; the future gives the understanding, or
        ``None`` if the caller should read it itself (no child, too busy, a failure)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Understanding | None] = loop.create_future()
        child = self._child
        if child is None or not child.alive:
            self._restart_later()
            future.set_result(None)
            return future
        stdin = child.process.stdin
        if not self.ready or len(child.waiting) >= MAX_IN_FLIGHT or stdin is None:
            future.set_result(None)
            return future
        request_id = next(self._ids)
        stdin.write(_frame((request_id, text, language)))  # buffered: never blocks
        child.waiting[request_id] = future
        loop.call_later(self.timeout, self._give_up, child, request_id)
        return future

    async def _read_answers(self, child: _Child) -> None:
        stdout = child.process.stdout
        assert stdout is not None
        try:
            while True:
                (size,) = _LENGTH.unpack(await stdout.readexactly(_LENGTH.size))
                request_id, ok, result = pickle.loads(await stdout.readexactly(size))
                if request_id == "ready":
                    if not child.ready.done():
                        child.ready.set_result(True)
                    continue
                future = child.waiting.pop(request_id, None)
                if not ok:
                    log.warning("the understanding process failed on a message: %s", result)
                if future is not None and not future.done():
                    future.set_result(result if ok else None)
                    self.answered += ok
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError):
            if child.alive:
                log.warning("the understanding process ended; reading messages in-process")
        finally:
            self._dead(child)

    def _give_up(self, child: _Child, request_id: int) -> None:
        future = child.waiting.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    def _dead(self, child: _Child) -> None:
        if not child.alive:
            return
        child.alive = False
        if not child.ready.done():
            child.ready.set_result(False)
        for future in child.waiting.values():
            if not future.done():
                future.set_result(None)
        child.waiting.clear()

    def _restart_later(self) -> None:
        if self._child is None or self._starting is not None:
            return  # never started, or stopped: stay in-process
        if time.monotonic() - self._started_at < RESTART_AFTER_SECONDS:
            return

        async def restart() -> bool:
            try:
                return await self.start()
            finally:
                self._starting = None

        self._starting = asyncio.get_running_loop().create_task(restart())


def main() -> None:
    """``python -m intents.worker``: the child's side, on its standard input and output."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a stray print() must not break the answers' framing
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
