"""The one httpx client every provider call goes through: it never follows a redirect, uses
no proxy from the environment, and checks the address a host name resolves to when the
connection is made (not only when the base URL was saved), connecting to that very address
so that a second, different DNS answer cannot slip in between.

Two bounds live here, for every provider call: an error answer's body is read to at most
MAX_ERROR_BODY_BYTES, and inside `total_deadline()` every name lookup, connect (to each of
a name's addresses in turn), write and read ends by one deadline (httpx's timeouts are per
operation: a provider sending a byte a second would otherwise hold a call as long as it
liked).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from configapp.providers.outbound import address_refusal, host_refusal

Resolver = Callable[..., list[tuple[Any, ...]]]

# Of an error answer (a status of 300 or more) at most this much is read: its message is
# all that is shown, and cut to a few hundred characters.
MAX_ERROR_BODY_BYTES = 64 * 1024
# The monotonic time by which this thread's provider call must be over (None: no deadline).
_deadline: ContextVar[float | None] = ContextVar("outbound_deadline", default=None)


@contextmanager
def total_deadline(seconds: float) -> Iterator[None]:
    """Every connect, write and read this thread makes in the block ends `seconds` from
    now: past it, httpx raises a timeout (ReadTimeout, ConnectTimeout, WriteTimeout)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _within_deadline(timeout: float | None, late: type[Exception]) -> float | None:
    """The operation's timeout, shortened to what is left of the deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the call's total deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation also ends by the thread's deadline, if any."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.start_tls(
            ssl_context, server_hostname, _within_deadline(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Any network backend, its connections made into DeadlineStreams."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[Any] | None = None,
                    ) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.connect_tcp(
            host, port, _within_deadline(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[Any] | None = None,
                            ) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.connect_unix_socket(
            path, _within_deadline(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class OutboundRefusedError(httpcore.ConnectError):
    """A connection the outbound rules refuse (link-local, metadata)."""


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, resolving names itself and refusing forbidden addresses."""

    def __init__(self, resolve: Resolver = socket.getaddrinfo) -> None:
        self._resolve = resolve

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address the host resolves to; OutboundRefusedError if any is forbidden."""
        refusal = host_refusal(host)
        if refusal:
            raise OutboundRefusedError(f"refused by the outbound rules: {refusal}")
        try:
            infos = self._resolve_in_time(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} could not be resolved ({error})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            refusal = address_refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if refusal:
                raise OutboundRefusedError(f"refused by the outbound rules: {host} resolves "
                                           f"to {refusal}")
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        return addresses

    def _resolve_in_time(self, host: str, port: int) -> list[tuple[Any, ...]]:
        """getaddrinfo, given no longer than the thread's deadline leaves (it has no
        timeout of its own): past it, ConnectTimeout; the lookup itself, in a daemon
        thread, ends when the system resolver gives up."""
        left = _within_deadline(None, httpcore.ConnectTimeout)
        if left is None:
            return self._resolve(host, port, type=socket.SOCK_STREAM)
        answer: list[Any] = []

        def lookup() -> None:
            try:
                answer.append(self._resolve(host, port, type=socket.SOCK_STREAM))
            except Exception as error:  # raised in the caller's thread, below
                answer.append(error)

        worker = threading.Thread(target=lookup, name="outbound-resolve", daemon=True)
        worker.start()
        worker.join(left)
        if not answer:
            raise httpcore.ConnectTimeout(f"resolving {host} outlasted the call's deadline")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[Any] | None = None,
                    ) -> httpcore.NetworkStream:
        """Each address in turn, each attempt given what is left of the deadline (not the
        whole of it again)."""
        last: Exception | None = None
        for address in self.addresses(host, port):
            try:
                return self.connect_address(
                    address, port, _within_deadline(timeout, httpcore.ConnectTimeout),
                    local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last

    def connect_address(self, address: str, port: int, timeout: float | None,
                        local_address: str | None,
                        socket_options: typing.Iterable[Any] | None) -> httpcore.NetworkStream:
        """One checked address: httpcore's socket connect (tests put a fake network here)."""
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The process's one TLS context for provider calls. Loading the CA bundle costs 20 to
    40 ms, once per app otherwise (each test builds an app). Safe to share: nothing changes
    it after this but httpcore's `set_alpn_protocols` at each connect, always to
    ["http/1.1"] here (no pool of ours speaks HTTP/2), which one app's threads already
    shared."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over the guarded backend (TLS still checks the host name)."""

    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        ssl_context = shared_tls_context()  # for both pools, httpx's and ours
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=100,
            max_keepalive_connections=20, keepalive_expiry=5.0,
            network_backend=DeadlineBackend(backend or GuardedBackend()))


def outbound_client(timeout: float, backend: httpcore.NetworkBackend | None = None,
                    event_hooks: dict[str, list[Any]] | None = None) -> httpx.Client:
    """The client for provider calls: no redirects, no environment proxies, guarded, and
    an error answer's body bounded before anyone (litellm, the OpenAI SDK) reads it."""
    hooks = dict(event_hooks or {})
    hooks["response"] = [bound_error_body, *hooks.get("response", [])]
    return httpx.Client(transport=GuardedTransport(backend), follow_redirects=False,
                        trust_env=False, timeout=timeout, event_hooks=hooks)


def bound_error_body(response: httpx.Response) -> None:
    """httpx's response hook: of an error answer, keep the first MAX_ERROR_BODY_BYTES
    (as sent, before any decoding) and drop the connection, so that whoever reads the body
    next reads only those."""
    if response.status_code < 300:
        return
    kept = bytearray()
    original = response.stream
    try:
        for chunk in original:  # type: ignore[union-attr]
            kept += chunk
            if len(kept) >= MAX_ERROR_BODY_BYTES:
                break
    finally:
        original.close()  # type: ignore[union-attr]
    response.stream = httpx.ByteStream(bytes(kept[:MAX_ERROR_BODY_BYTES]))


def refused_by_rules(error: BaseException) -> OutboundRefusedError | None:
    """The outbound refusal behind an error (httpx wraps httpcore's), if there is one."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 12:
        if isinstance(current, OutboundRefusedError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None
