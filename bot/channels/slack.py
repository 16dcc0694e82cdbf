"""The Slack staff desk: handoff cards, Claim/Resolve/Back to bot, the thread as conversation.

Configuration alone picks the transport: Socket Mode when ``SLACK_APP_TOKEN`` is set,
otherwise HTTP events, interactions and the slash command on ``POST /slack/events`` of the
same ASGI app that serves the Telegram webhook. Outgoing calls go through the outbox
(:mod:`bot.channels.slack_sender`); inbound payloads become core staff events here.

Bolt's own middleware verifies signatures (401 for missing, forged or stale ones) and drops
the bot's own messages; :class:`~bot.channels.slack_auth.StaffOnly` lets only staff act;
retried events (``X-Slack-Retry-Num``) are dropped here and, across workers, by the
engine's inbox keyed on the Slack ``event_id``. Buttons and commands ``ack()`` first and
work afterwards, inside Slack's 3 seconds.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels import slack_blocks as kit
from bot.channels import slack_commands, slack_privacy
from bot.channels.slack_auth import StaffDirectory, StaffOnly
from bot.channels.slack_notes import classify, is_thread_reply
from bot.channels.slack_sender import SlackSender
from bot.config import Settings
from bot.core import desk
from bot.core.engine import ConversationEngine
from bot.core.events import (
    StaffClaim,
    StaffEvent,
    StaffRef,
    StaffRelease,
    StaffReply,
    StaffResolve,
    StaffTransfer,
    StaffUnclaim,
)
from bot.core.locks import KeyedLocks
from bot.core.ports import Sender
from bot.errors import ConfigError

log = logging.getLogger(__name__)
SEEN_EVENTS = 5000
_BUTTONS: dict[str, type[StaffClaim | StaffResolve | StaffRelease | StaffUnclaim]] = {
    kit.CLAIM: StaffClaim,
    kit.RESOLVE: StaffResolve,
    kit.RELEASE: StaffRelease,
    kit.UNCLAIM: StaffUnclaim,
}


class SlackChannel:
    """Bolt ``AsyncApp`` + Web API client + outbox sender for the staff side."""

    name = "slack"

    def __init__(
        self,
        settings: Settings,
        engine: ConversationEngine,
        client: AsyncWebClient,
        *,
        signing_secret: str | None,
        app_token: str | None = None,
    ) -> None:
        channel = settings.slack_handoff_channel
        if not channel:
            raise ConfigError("SLACK_HANDOFF_CHANNEL is not set (the channel id, e.g. C0123ABC)")
        self.settings = settings
        self.engine = engine
        self.client = client
        self.channel_id = channel
        self.app_token = app_token
        self.directory = StaffDirectory(client, channel, settings.slack_staff_group)
        self.sender = SlackSender(
            client,
            channel,
            settings.slack_staff_group,
            managers_channel=settings.slack_managers_channel,
        )
        self.privacy = slack_privacy.PrivacyDesk(engine, client)
        self.staff_only = StaffOnly(self.directory)
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret or "",
            process_before_response=False,
            request_verification_enabled=app_token is None,
            name="carebot",
        )
        self.handler = AsyncSlackRequestHandler(self.app)
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.threads = KeyedLocks()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._socket: Any = None
        self._register()

    @classmethod
    def from_settings(cls, settings: Settings, engine: ConversationEngine) -> SlackChannel:
        """Build from ``SLACK_*`` settings; the Web API URL is a setting for proxies and tests."""
        if not settings.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set")
        if not (settings.slack_signing_secret or settings.slack_app_token):
            raise ConfigError(
                "set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)"
            )
        base_url = settings.slack_api_url.rstrip("/") + "/"
        client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=base_url, retry_handlers=[], timeout=10
        )
        return cls(
            settings,
            engine,
            client,
            signing_secret=settings.slack_signing_secret,
            app_token=settings.slack_app_token,
        )

    # Channel protocol ------------------------------------------------------------------
    def senders(self) -> dict[str, Sender]:
        """Staff-side outbox rows go to Slack."""
        return {"slack": self.sender}

    def routes(self) -> list[Route]:
        """``POST /slack/events`` in HTTP mode; nothing in Socket Mode."""
        if self.app_token:
            return []
        return [Route("/slack/events", self._endpoint, methods=["POST"])]

    async def start(self) -> None:
        """Open the Socket Mode connection when configured (HTTP mode needs nothing)."""
        if self.app_token and self._socket is None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        """Close the Socket Mode connection."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    async def _endpoint(self, request: Request) -> Response:
        try:
            return await self.handler.handle(request)
        except ValueError:  # Bolt parses before it verifies; garbage must not become a 500
            body = await request.body()
            valid = self.verifier is not None and self.verifier.is_valid(
                body,
                request.headers.get("x-slack-request-timestamp", "0"),
                request.headers.get("x-slack-signature", ""),
            )
            return Response(status_code=400 if valid else 401, content="invalid request")

    # Wiring ----------------------------------------------------------------------------
    def _register(self) -> None:
        app = self.app
        app.use(self._drop_repeats)
        staff = [self.staff_only]
        for action_id in (*_BUTTONS, kit.TRANSFER):
            app.action(action_id, middleware=staff)(self._on_action)
        for action_id in slack_privacy.ACTIONS:
            app.action(action_id, middleware=staff)(self._on_privacy_button)
        app.command("/carebot", middleware=staff)(self._on_command)
        app.event("message", matchers=[self._in_handoff_thread], middleware=staff)(
            self._on_thread_message
        )
        app.event("message")(self._ignore)

    async def _drop_repeats(
        self, body: dict[str, Any], resp: BoltResponse, next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse:
        """Handle each Events API delivery once, whatever Slack retries."""
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            if event_id in self._seen:
                log.info("dropping repeated Slack event %s", event_id)
                return BoltResponse(status=200, body="")
            self._seen[event_id] = None
            while len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
        await next_()
        return resp

    async def _in_handoff_thread(self, event: dict[str, Any]) -> bool:
        return is_thread_reply(event) and event.get("channel") == self.channel_id

    async def _ignore(self) -> None:
        """Other messages in the channel are the team's own conversation."""

    async def _agent(self, user_id: str) -> StaffRef:
        return StaffRef("slack", user_id, await self.directory.display_name(user_id))

    async def _ephemeral(
        self, channel: str | None, user: str, text: str, thread: str | None = None
    ) -> None:
        if not channel:
            return
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread:
            kwargs["thread_ts"] = thread
        try:
            await self.client.chat_postEphemeral(**kwargs)
        except Exception:
            log.warning("ephemeral to %s failed", user, exc_info=True)

    # Listeners -------------------------------------------------------------------------
    async def _on_action(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        user, channel = str(body["user"]["id"]), _channel_of(body)
        conversation_id = conversation_of(action)
        if conversation_id is None:
            await self._ephemeral(channel, user, "That button no longer belongs to a conversation.")
            return
        agent = await self._agent(user)
        delivery_id = f"action:{body.get('trigger_id') or action.get('action_ts')}"
        event: StaffEvent
        if action["action_id"] == kit.TRANSFER:
            colleague = str(action.get("selected_user") or "")
            if not colleague or not await self.directory.is_staff(colleague):
                await self._ephemeral(channel, user, "Pick a colleague from the support channel.")
                return
            to = await self._agent(colleague)
            event = StaffTransfer(conversation_id, agent, to, delivery_id=delivery_id)
        else:
            event = _BUTTONS[action["action_id"]](conversation_id, agent, delivery_id=delivery_id)
        outcome = await self.engine.handle(event)
        if outcome.notice:
            await self._ephemeral(channel, user, outcome.notice)

    async def _on_command(
        self,
        ack: Callable[..., Awaitable[None]],
        command: dict[str, Any],
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        user, text = str(command["user_id"]), str(command.get("text") or "")
        request = slack_privacy.parse(text)
        if request is not None:
            answer = await self.privacy.command(*request, user)
        else:
            agent = await self._agent(user)
            trigger = command.get("trigger_id")
            delivery_id = f"command:{trigger}" if trigger else None
            answer = await slack_commands.run(self.engine, text, agent, delivery_id)
        await respond(**answer, response_type="ephemeral")

    async def _on_privacy_button(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        user, channel = str(body["user"]["id"]), _channel_of(body)
        await self._ephemeral(channel, user, await self.privacy.button(action, user))

    async def _on_thread_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        channel, thread, user = str(event["channel"]), str(event["thread_ts"]), str(event["user"])
        async with self.threads.hold((channel, thread)):  # keep a thread's replies in order
            found = await desk.conversation_for_thread(self.engine, channel, thread)
            if found is None:
                return  # a thread under some other message: the team talking
            note = classify(str(event.get("text") or ""))
            if not note.text:
                if event.get("files"):
                    await self._ephemeral(
                        channel, user, "Files are not sent to the customer.", thread
                    )
                return
            agent = await self._agent(user)
            outcome = await self.engine.handle(
                StaffReply(
                    found.conversation_id,
                    agent,
                    note.text,
                    internal=note.internal,
                    delivery_id=str(
                        body.get("event_id") or event.get("client_msg_id") or event["ts"]
                    ),
                )
            )
            if outcome.duplicate:
                return
            if outcome.notice:
                await self._ephemeral(channel, user, outcome.notice, thread)
            if event.get("files") and not note.internal:
                await self._ephemeral(
                    channel,
                    user,
                    "Only your text was sent; files are not sent to the customer.",
                    thread,
                )


def _channel_of(body: dict[str, Any]) -> str | None:
    """Where a button was pressed (an ephemeral answer goes there)."""
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get(
        "id"
    )
    return str(channel) if channel else None


def conversation_of(action: dict[str, Any]) -> int | None:
    """The conversation a card button belongs to (its value, or its block id's suffix)."""
    value = str(action.get("value") or action.get("block_id") or "")
    number = value.rsplit(":", 1)[-1]
    return int(number) if number.isascii() and number.isdigit() and len(number) <= 9 else None
