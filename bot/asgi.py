"""The ASGI app: health, readiness and the channels' webhook routes, on one server.

``create_app()`` is also the factory that ``uvicorn --factory`` and ``carebot serve
--workers N`` start in every worker; each worker builds its own Carebot from the
environment and shares only the database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app import Carebot, assemble_carebot, settle_heap
from bot.config import Settings, load_settings
from bot.core import metrics
from bot.errors import SchemaError
from storage.migrate import SchemaTooNewError, upgrade_database

log = logging.getLogger(__name__)


async def healthz(_request: Request) -> PlainTextResponse:
    """Liveness: the process answers."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers."""
    carebot: Carebot | None = getattr(request.app.state, "carebot", None)
    if carebot is None:
        return JSONResponse({"ready": False, "reason": "starting"}, status_code=503)
    try:
        async with carebot.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"ready": False, "reason": type(exc).__name__}, status_code=503)
    return JSONResponse({"ready": True})


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics; shared-state gauges are read from the database now."""
    carebot: Carebot | None = getattr(request.app.state, "carebot", None)
    if carebot is not None:
        try:
            await metrics.refresh_gauges(carebot.db)
        except Exception:
            log.exception("could not refresh gauges")
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


def build_asgi(carebot: Carebot, *, manage_lifecycle: bool = False) -> Starlette:
    """An app serving ``carebot``'s routes; with ``manage_lifecycle`` it starts/stops it."""
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
    ]
    for channel in carebot.channels:
        routes.extend(channel.routes())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            try:
                await upgrade_database(carebot.db)
            except SchemaTooNewError as exc:
                log.error("refusing to serve: %s", exc)
                raise SchemaError(str(exc)) from None
            await carebot.start()
            settle_heap()
        app.state.carebot = carebot
        try:
            yield
        finally:
            if manage_lifecycle:
                await carebot.stop()

    return Starlette(routes=routes, lifespan=lifespan)


def create_app(settings: Settings | None = None) -> Starlette:
    """The worker factory: settings from the environment; migrates and starts on start-up."""
    carebot = assemble_carebot(settings or load_settings())
    return build_asgi(carebot, manage_lifecycle=True)
