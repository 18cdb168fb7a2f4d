"""`make run` starts with one running demo campaign on the demo store (DEMO_CAMPAIGN)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import Campaign
from chat_server.services.campaigns.rules import CampaignDraft
from dev.devstack import local_config
from tests.integration.conftest import base, start_server
from tests.support.campaigns import assignments
from tests.support.visitor import Visitor


def test_make_run_asks_for_the_demo_campaign(tmp_path: Path) -> None:
    config = local_config(tmp_path, tmp_path / "model.tar.gz", {})
    assert config.extra_env["DEMO_CAMPAIGN"] == "true"
    assert local_config(tmp_path, tmp_path / "m", {"DEMO_CAMPAIGN": "false"}).extra_env[
        "DEMO_CAMPAIGN"
    ] == ("false")


async def test_the_demo_campaign_is_created_once_and_watched_on_the_store(
    database_url: str,
) -> None:
    for _ in range(2):  # a restart creates no second one
        srv = await start_server(database_url, demo_campaign=True)
        visitor = Visitor(rapport=True)
        await visitor.connect(base(srv))
        try:
            await visitor.sio.emit("page_view", {"url": base(srv) + "/"})
            watch = await visitor.wait_for("campaign_watch", timeout=10)
        finally:
            await visitor.close()
            await srv.close()
        assert watch["campaign_id"] == 1
        assert watch["when"] == {"active_seconds": 10}
    assert await assignments(database_url) == []
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        statuses = list(await conn.scalars(select(Campaign.status)))
    await engine.dispose()
    assert statuses == ["running"]


def test_the_demo_campaign_is_a_valid_draft() -> None:
    from chat_server.services.campaigns import demo

    draft = CampaignDraft.model_validate(
        {
            "name": demo.DEMO_NAME,
            "kind": "bot",
            "rules": demo.DEMO_RULES,
            "variants": demo.DEMO_VARIANTS,
            "holdout": 0.1,
            "goal": {"type": "conversion", "name": "purchase", "window_hours": 72},
        }
    )
    assert [v.key for v in draft.variants] == ["HELP", "PICKS"]


def test_make_run_catches_mail_locally_unless_a_relay_is_given(tmp_path: Path) -> None:
    env = local_config(tmp_path, tmp_path / "m", {}).extra_env
    assert env["SMTP_URL"] == f"smtp://127.0.0.1:{env['DEV_MAIL_CATCHER_PORT']}"
    relay = local_config(tmp_path, tmp_path / "m", {"SMTP_URL": "smtps://relay.example"})
    assert relay.extra_env["SMTP_URL"] == "smtps://relay.example"
