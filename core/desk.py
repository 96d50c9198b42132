"""A desk: work that arrives while one batch is handled goes in the next. One task per desk handles what
waits, at most `batch` at a time, and answers each caller with its own outcome once the batch is done. A burst
(every member's ballot in a vote, a thousand sign-ins at once) then costs a transaction per batch, not one per
request.

The caller's wait is shielded: work taken is done even if its caller goes away, and is then simply not
answered. A failure of the handler as a whole fails each item of its batch.
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
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        answer: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        return await asyncio.shield(answer)

    async def _work(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
            outcomes: Sequence[Outcome | BaseException]
            try:
                outcomes = await self._handle([item for item, _ in batch])
            except Exception as failed:  # nothing of the batch was done
                outcomes = [failed] * len(batch)
            for (_, answer), outcome in zip(batch, outcomes, strict=True):
                _settle(answer, outcome)


def _settle(answer: asyncio.Future[Outcome], outcome: Outcome | BaseException) -> None:
    if answer.done():
        return
    if isinstance(outcome, BaseException):
        answer.set_exception(outcome)
        with contextlib.suppress(Exception):
            answer.exception()  # retrieved: nobody may be waiting any more
    else:
        answer.set_result(outcome)
