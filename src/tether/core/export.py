"""Activity rows as exported: one JSON object per row (jsonl) or one CSV line, hashes included.

Shared by ``tether activity export`` and the web UI's download so both write the same format.
Pure: callers own the files and streams.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from tether.types import ActivityRecord

CSV_COLUMNS = ("seq", "at", "kind", "actor", "source", "tool", "data", "prev_hash", "hash")


def record_json(record: ActivityRecord) -> dict[str, object]:
    return {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "kind": record.kind,
        "actor": record.actor,
        "source": record.source,
        "tool": record.tool,
        "data": record.data,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def jsonl_line(record: ActivityRecord) -> str:
    return json.dumps(record_json(record), ensure_ascii=False, default=str) + "\n"


def csv_lines(records: Iterable[ActivityRecord], *, header: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            [
                r.seq,
                r.at.isoformat(),
                r.kind,
                r.actor,
                r.source or "",
                r.tool or "",
                json.dumps(r.data, ensure_ascii=False, default=str),
                r.prev_hash,
                r.hash,
            ]
        )
    return out.getvalue()
