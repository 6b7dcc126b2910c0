"""A typed ``async_slot`` over qasync's untyped ``asyncSlot``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import qasync

_S = TypeVar("_S")
_P = ParamSpec("_P")
_AsyncMethod = Callable[Concatenate[_S, _P], Coroutine[Any, Any, None]]
_SlotMethod = Callable[Concatenate[_S, _P], "asyncio.Task[None]"]


def async_slot(
    *types: type,
) -> Callable[[_AsyncMethod[_S, _P]], _SlotMethod[_S, _P]]:
    """Decorate a coroutine method so a Qt signal can start it as a task.

    qasync ships no type information, so under ``mypy --strict`` the bare decorator
    would make every slot untyped.
    """
    return cast("Callable[[_AsyncMethod[_S, _P]], _SlotMethod[_S, _P]]", qasync.asyncSlot(*types))
