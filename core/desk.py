"""A desk: work that arrives while one batch is handled goes in the next. A burst (every member's ballot in a
vote, a thousand sign-ins at once) then costs a transaction per batch, not one per request.

When nothing is under way, the caller handles its own item at once, in its own task: a lone request pays no
hop through another task, which on a busy event loop is a wait behind everything else that is ready. Whatever
arrives meanwhile waits, and one task per desk then handles what waits, at most `batch` at a time, and answers
each caller with its own outcome once its batch is done.

A caller that waits for the desk's task is shielded: work taken is done even if its caller goes away, and is
then simply not answered. A caller that handles its own item alone and is cancelled cancels only its own
item (for a write: rolled back, or committed and not answered, as if the answer had been lost on the way).
A failure of the handler as a whole fails each item of its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")
Handler = Callable[[list[Item]], Awaitable[Sequence[Outcome | BaseException]]]


class Desk(Generic[Item, Outcome]):
    def __init__(self, handle: Handler[Item, Outcome], *, batch: int) -> None:
        self._handle = handle
        self._batch = batch
        self._waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._busy = False  # a batch is under way: a caller's own, or the task's
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        if not self._busy:
            return await self._alone(item)
        answer: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        return await asyncio.shield(answer)

    async def _alone(self, item: Item) -> Outcome:
        self._busy = True
        try:
            (outcome,) = await self._handle([item])
        finally:
            self._busy = False
            if self._waiting:  # those that came meanwhile: together, in the desk's task
                self._start()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _start(self) -> None:
        self._busy = True
        self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
                outcomes: Sequence[Outcome | BaseException]
                try:
                    outcomes = await self._handle([item for item, _ in batch])
                except Exception as failed:  # nothing of the batch was done
                    outcomes = [failed] * len(batch)
                for (_, answer), outcome in zip(batch, outcomes, strict=True):
                    _settle(answer, outcome)
        finally:
            self._busy = False


def _settle(answer: asyncio.Future[Outcome], outcome: Outcome | BaseException) -> None:
    if answer.done():
        return
    if isinstance(outcome, BaseException):
        answer.set_exception(outcome)
        with contextlib.suppress(Exception):
            answer.exception()  # retrieved: nobody may be waiting any more
    else:
        answer.set_result(outcome)
