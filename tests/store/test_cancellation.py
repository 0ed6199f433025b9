"""A caller cancelled in the middle of a store call leaves the store whole and nothing running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio

from tether.store import SqlStore

from .samples import insert_sealed_chain


async def test_cancelling_callers_mid_query_leaves_no_driver_task_behind(
    store: SqlStore, location: Path | str
) -> None:
    insert_sealed_chain(location, 10)
    tasks_before = asyncio.all_tasks()
    with anyio.fail_after(30):
        for step in range(400):  # cancel at many points through a query
            with anyio.move_on_after(step * 0.00001):
                await store.records()
    # A cancelled query must not leave a task behind (a worker-thread close, say) that never finishes.
    assert asyncio.all_tasks() - tasks_before == set()
    assert (await store.verify()).is_intact
