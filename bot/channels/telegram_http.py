"""Bot API calls over aiohttp: PTB's ``BaseRequest`` extension point, cheaper than httpx.

PTB makes its HTTP calls through a ``BaseRequest``; its default, ``HTTPXRequest``, spends
most of a call's CPU in httpx, httpcore, anyio and h11 (about 0.6 ms per call on loopback,
against about 0.1 ms for aiohttp, whose HTTP parser is compiled). A bot makes two calls per
message (``getUpdates`` and ``sendMessage``), so the client is a large share of its cost.
aiohttp is already a dependency (slack-bolt's async side), and certifi, for the CA bundle
httpx uses, comes with httpx: this class adds nothing to the install.

The behaviour matches ``HTTPXRequest``'s where it matters to PTB: the body is the same
``application/x-www-form-urlencoded`` form (multipart when a file is sent), the status
and body are returned as they are for PTB to interpret, a timeout raises ``TimedOut`` and
any other transport failure ``NetworkError``. ``CAREBOT_TELEGRAM_HTTP_CLIENT=httpx`` goes
back to PTB's own client (for a SOCKS proxy, say).
"""

from __future__ import annotations

import ssl
import urllib.parse
import urllib.request

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a pool of ``connection_pool_size`` keep-alive connections.

    Timeouts follow PTB's four: ``connect_timeout`` opens a connection, ``pool_timeout``
    waits for a free one, ``read_timeout`` bounds each wait for the server, and the whole
    call is bounded by the sum of all four, which is what stands in for a write timeout
    (aiohttp has none of its own). ``None`` means no limit, as in PTB.
    """

    __slots__ = ("_defaults", "_pool_size", "_proxies", "_secret", "_session")

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        *,
        secret: str | None = None,
    ) -> None:
        self._pool_size = connection_pool_size
        self._secret = secret  # the bot token: never in an error message
        self._defaults = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to ``getUpdates``' long-poll timeout)."""
        return self._defaults[0]

    async def initialize(self) -> None:
        """Open the session (inside the running loop, where aiohttp wants it)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                ssl=ssl.create_default_context(cafile=certifi.where()),
            )
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one call; PTB turns the status and body into a result or an error."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read, write, connect, pool = (
            default if isinstance(given, DefaultValue) else given
            for given, default in zip(
                (read_timeout, write_timeout, connect_timeout, pool_timeout),
                self._defaults,
                strict=True,
            )
        )
        limits = [limit for limit in (read, write, connect, pool) if limit is not None]
        timeout = aiohttp.ClientTimeout(
            total=sum(limits) if len(limits) == 4 else None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            data, headers = _body(request_data)
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy_for(url),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # The class name helps when the message is empty; the token (in ``url``) is
            # kept out of what may be logged.
            detail = str(err).replace(self._secret, "<token>") if self._secret else str(err)
            raise NetworkError(f"aiohttp.{type(err).__name__}: {detail}") from err

    def _proxy_for(self, url: str) -> str | None:
        """The proxy from ``HTTP(S)_PROXY`` / ``NO_PROXY``, as httpx honours them; looked up
        once per host (aiohttp's ``trust_env`` reads the environment on every call, which
        costs more than the call itself)."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            bypass = bool(key[1]) and urllib.request.proxy_bypass(key[1])
            self._proxies[key] = None if bypass else urllib.request.getproxies().get(key[0])
        return self._proxies[key]


def _body(
    request_data: RequestData | None,
) -> tuple[bytes | aiohttp.FormData | None, dict[str, str]]:
    """The request body as PTB's httpx client sends it: a form, multipart with files."""
    if request_data is None:
        return None, {}
    if not request_data.contains_files:
        encoded = request_data.url_encoded_parameters().encode()
        return (encoded, _FORM) if encoded else (None, {})
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, upload in request_data.multipart_data.items():
        filename, content, *mimetype = upload
        form.add_field(
            name,
            content,
            filename=filename,
            content_type=mimetype[0] if mimetype else "application/octet-stream",
        )
    return form, {}
