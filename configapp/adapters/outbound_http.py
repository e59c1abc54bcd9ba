"""The one httpx client every provider call goes through: it never follows a redirect, uses
no proxy from the environment, and checks the address a host name resolves to when the
connection is made (not only when the base URL was saved), connecting to that very address
so that a second, different DNS answer cannot slip in between.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from collections.abc import Callable
from typing import Any

import httpcore
import httpx

from configapp.outbound import address_refusal, host_refusal

Resolver = Callable[..., list[tuple[Any, ...]]]


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
            infos = self._resolve(host, port, type=socket.SOCK_STREAM)
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

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[Any] | None = None,
                    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address,
                                           socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over the guarded backend (TLS still checks the host name)."""

    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        # One TLS context for both pools (loading the CA bundle costs about 20 ms a start).
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=100,
            max_keepalive_connections=20, keepalive_expiry=5.0,
            network_backend=backend or GuardedBackend())


def outbound_client(timeout: float, backend: httpcore.NetworkBackend | None = None,
                    event_hooks: dict[str, list[Any]] | None = None) -> httpx.Client:
    """The client for provider calls: no redirects, no environment proxies, guarded."""
    return httpx.Client(transport=GuardedTransport(backend), follow_redirects=False,
                        trust_env=False, timeout=timeout, event_hooks=event_hooks)


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
