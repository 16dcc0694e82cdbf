"""``carebot run`` and ``carebot serve``: the long-running modes.

``run`` is everything in one process (Telegram polling or webhook, Slack Socket Mode or
HTTP, the dispatcher, the timers). With no Telegram or Slack settings it is the console.
``serve`` is the webhook app only, in one or several worker processes (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from bot.app import assemble_carebot
from bot.asgi import build_asgi
from bot.config import Settings
from bot.errors import ConfigError, SchemaError
from storage.migrate import SchemaTooNewError, upgrade_database

log = logging.getLogger(__name__)


async def run_all(settings: Settings, *, host: str, port: int) -> int:
    """Run every configured channel plus the ASGI app in this process until stopped."""
    if not (settings.telegram_enabled or settings.slack_enabled):
        from bot.chat import run_chat

        log.info("no TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN set: running the console chat")
        return await run_chat(settings)
    app = build_asgi(assemble_carebot(settings), manage_lifecycle=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    log.info(
        "Carebot running on http://%s:%s (telegram=%s, slack=%s)",
        host,
        port,
        settings.telegram_enabled,
        settings.slack_enabled,
    )
    await server.serve()
    return 0


def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Serve webhooks with ``workers`` processes (several only on PostgreSQL)."""
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if workers > 1 and settings.is_sqlite:
        raise ConfigError(
            "several workers need PostgreSQL: SQLite allows one writer; set "
            "CAREBOT_DATABASE_URL=postgresql+asyncpg://... or use --workers 1"
        )
    asyncio.run(_migrate_once(settings))  # once, before any worker; refuses a newer schema
    if workers > 1:
        uvicorn.run(
            "bot.asgi:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
        return 0
    uvicorn.run(
        build_asgi(assemble_carebot(settings), manage_lifecycle=True),
        host=host,
        port=port,
        log_level="warning",
    )
    return 0


async def _migrate_once(settings: Settings) -> None:
    from storage.db import open_database

    db = open_database(settings.database_url)
    try:
        await upgrade_database(db)
    except SchemaTooNewError as exc:
        raise SchemaError(str(exc)) from None
    finally:
        await db.dispose()
