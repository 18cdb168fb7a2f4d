"""Experiment results and planning for campaigns (admins, marketers, the operator
token). Thin: parse, authorise, call CampaignResults. Contract: docs/campaigns.md
and docs/experiments.md."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chat_server.errors import Invalid, NotFound
from chat_server.http.agent_api import parse
from chat_server.http.auth import require_analytics
from chat_server.http.errors import json_error
from chat_server.http.keys import SERVICES
from chat_server.services.experiments.results import plan
from chat_server.services.experiments.uplift import MODES

routes = web.RouteTableDef()


class PlanRequest(BaseModel):
    """``POST /api/campaigns/plan``: what the experiment is expected to see."""

    model_config = ConfigDict(extra="forbid")
    baseline: float = Field(ge=0.0001, le=0.9999, allow_inf_nan=False)
    # Relative: 0.1 = a 10 % lift over the baseline rate.
    mde: float = Field(ge=0.001, le=100, allow_inf_nan=False)
    alpha: float = Field(0.05, gt=0, lt=0.5, allow_inf_nan=False)
    power: float = Field(0.8, gt=0.5, lt=1, allow_inf_nan=False)
    arms: int = Field(2, ge=2, le=6)
    daily_visitors: float | None = Field(None, ge=1, lt=1e9, allow_inf_nan=False)


def _campaign_id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not value.isdigit() or len(value) > 9:
        raise json_error(web.HTTPNotFound, "not_found", "no such campaign")
    return int(value)


def _mode(request: web.Request) -> str:
    mode = request.query.get("mode", "sequential")
    if mode not in MODES:
        raise json_error(web.HTTPBadRequest, "invalid", f"mode must be one of {', '.join(MODES)}")
    return mode


@routes.get(r"/api/campaigns/{id}/results")
async def results(request: web.Request) -> web.Response:
    await require_analytics(request)
    campaign_id, mode = _campaign_id(request), _mode(request)
    try:
        found = await request.app[SERVICES].campaign_results.results(campaign_id, mode)
    except NotFound:
        raise json_error(web.HTTPNotFound, "not_found", "no such campaign") from None
    return web.json_response(found)


@routes.get(r"/api/campaigns/{id}/results.csv")
async def results_csv(request: web.Request) -> web.Response:
    await require_analytics(request)
    campaign_id, mode = _campaign_id(request), _mode(request)
    try:
        text = await request.app[SERVICES].campaign_results.csv(campaign_id, mode)
    except NotFound:
        raise json_error(web.HTTPNotFound, "not_found", "no such campaign") from None
    return web.Response(
        text=text,
        content_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="rapport-campaign-{campaign_id}.csv"'
        },
    )


@routes.post("/api/campaigns/plan")
async def plan_experiment(request: web.Request) -> web.Response:
    await require_analytics(request)
    body = await parse(request, PlanRequest)
    try:
        planned = plan(
            body.baseline, body.mde, body.alpha, body.power, body.arms, body.daily_visitors
        )
    except Invalid as exc:
        # Each value is valid, together they are not (a lift past 100 %, an
        # effect too small for any traffic): an answer, not a malformed request.
        return web.json_response({"feasible": False, "message": str(exc)})
    return web.json_response({"feasible": True, **planned})
