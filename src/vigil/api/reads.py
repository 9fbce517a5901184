"""``/api/v1/status``, ``/api/v1/simulate`` and ``/metrics``: the cluster as it is, and what comes next."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from vigil.admin import commands
from vigil.admin.commands import Admin
from vigil.api.context import ControllerView
from vigil.api.convert import controller_figures, controller_info, stored_controller_info
from vigil.output.crm_mon_xml import DEFAULT_REQUEST, render_crm_mon_xml
from vigil.output.metrics import CONTENT_TYPE, render_metrics
from vigil.output.report import StatusReport
from vigil.output.status_text import render_status

# The longest command line a caller may name in the XML (crm_mon's request attribute).
MAX_REQUEST_TEXT = 4096


def read_routes(admin: Admin, controller: ControllerView) -> APIRouter:
    router = APIRouter(tags=["status"])

    @router.get("/api/v1/status", summary="The cluster as crm_mon -1 shows it", response_model=StatusReport,
                responses={200: {"content": {"text/plain": {}, "application/xml": {}}}})
    async def status(format: Literal["json", "text", "xml"] = "json",
                     request: Annotated[str, Query(max_length=MAX_REQUEST_TEXT,
                                                   description="xml: the command line the document names "
                                                   "(crm_mon's request attribute)")] = DEFAULT_REQUEST,
                     ) -> StatusReport | Response:
        # The transitions as the store keeps them: the same on every node of a cluster.
        info = await stored_controller_info(admin.store, controller)
        if format == "xml":
            report, cluster = await commands.status_and_cluster(admin, info)
            # times in the machine's local time, as crm_mon writes them
            return Response(render_crm_mon_xml(report, cluster, request, zone=None),
                            media_type="application/xml")
        report = await commands.status(admin, info)
        if format == "text":
            return PlainTextResponse(render_status(report))
        return report

    @router.get("/api/v1/simulate", summary="What the scheduler would do now, without doing it "
                "(crm_simulate -L)", response_class=PlainTextResponse,
                responses={200: {"content": {"text/plain": {}, "application/json": {}}}})
    async def simulate(format: Literal["text", "pacemaker", "json"] = "text") -> Response:
        text = await commands.simulate_live(admin, format)
        if format == "json":
            return Response(text, media_type="application/json")
        return PlainTextResponse(text)

    @router.get("/metrics", tags=["metrics"], summary="Prometheus metrics (text format 0.0.4)",
                response_class=PlainTextResponse)
    async def metrics() -> Response:
        report = await commands.status(admin, controller_info(controller))
        counts = await commands.all_failcounts(admin)
        text = render_metrics(report, counts, controller_figures(controller))
        return Response(text, media_type=CONTENT_TYPE)

    return router
