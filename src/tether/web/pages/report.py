"""The access report in the browser: per source, what ran, which paths and hosts, what runs
without asking. Built by ``core.report`` like ``tether access-report``; viewing it does not
move the "since the last report" mark (the CLI report does), so looking is free.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from tether.core.report import LAST_REPORT_SETTING, AccessReport, build_report, render_markdown
from tether.core.storage import ActivityFilter
from tether.web.context import Web, web_of
from tether.web.pages.activity import PERIODS


async def report_page(request: Request) -> Response:
    web = web_of(request)
    period = request.query_params.get("period", "7d")
    period = period if period in PERIODS or period == "all" else "7d"
    report = await access_report(web, period)
    output_format = request.query_params.get("format")
    if output_format == "md":
        return _download(render_markdown(report), "md", "text/markdown")
    if output_format == "json":
        return _download(json.dumps(dataclasses.asdict(report), indent=2), "json", "application/json")
    return await web.render(request, "report.html", {"report": report, "period": period, "periods": PERIODS})


async def access_report(web: Web, period: str) -> AccessReport:
    store = web.backend.store
    since = datetime.now(UTC) - PERIODS[period][1] if period in PERIODS else None
    previous: object = await store.get_setting(LAST_REPORT_SETTING)
    return build_report(
        await store.records(ActivityFilter(since=since)),
        configs=await store.list_sources(),
        effects=await store.all_effects(),
        since=since,
        previous_report_seq=previous if isinstance(previous, int) else 0,
    )


def _download(body: str, extension: str, media_type: str) -> Response:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="tether-access-report-{stamp}.{extension}"'},
    )
