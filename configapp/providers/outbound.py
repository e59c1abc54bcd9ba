"""Outbound rules: where a key may be sent. Checked when a base URL is saved and again for
the address a name resolves to when the connection is made (providers/outbound_http.py).

Refused: link-local addresses (169.254.0.0/16, fe80::/10), cloud metadata addresses and
names, and addresses nothing can be served from (unspecified, multicast, reserved).
Loopback and private ranges are allowed: Ollama, vLLM and company gateways live there.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from configapp.domain import ConfigurationError

MAX_BASE_URL_LENGTH = 2048
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
    "169.254.170.2",    # AWS ECS task credentials
    "fd00:ec2::254",    # AWS IMDS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",      # Oracle Cloud (classic)
))
METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal",
    "instance-data", "instance-data.ec2.internal", "metadata.tencentyun.com",
    "metadata.platformequinix.com",
})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What inet_aton reads as IPv4: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518.
NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$",
                          re.IGNORECASE)


class OutboundRefused(ConfigurationError):
    """A base URL or an address a key must never be sent to."""


def embedded_ipv4(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_refusal(address: IpAddress) -> str | None:
    """Why a key must not go to this address; None when it may."""
    for candidate in {address, embedded_ipv4(address)}:
        if candidate in METADATA_ADDRESSES:
            return f"{candidate} is a cloud metadata address"
        if candidate.is_link_local:
            return f"{candidate} is a link-local address"
        if candidate.is_unspecified or candidate.is_multicast or (
                candidate.is_reserved and not candidate.is_private):
            return f"{candidate} is not an address a provider can answer from"
    return None


def literal_address(host: str) -> IpAddress | None:
    """The address a host names by itself, in any form a resolver accepts, else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def host_refusal(host: str) -> str | None:
    """Why a key must not go to this host name or literal address; None when it may."""
    name = host.strip().rstrip(".").lower()
    if name in METADATA_NAMES:
        return f"{name} is a cloud metadata host"
    address = literal_address(name)
    return address_refusal(address) if address is not None else None


def check_base_url(api_base: str | None) -> str | None:
    """A base URL keys may be sent to (http or https, a host, no credentials, no query or
    fragment, not link-local or metadata), without its trailing slash; None when empty."""
    if api_base is None or not api_base.strip():
        return None
    url = api_base.strip()
    if len(url) > MAX_BASE_URL_LENGTH:
        raise OutboundRefused(f"The base URL is longer than {MAX_BASE_URL_LENGTH} characters.")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise OutboundRefused("The base URL may hold only printable ASCII, no spaces.")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("The base URL must be an http:// or https:// URL with a host.")
    if "@" in parts.netloc:
        raise OutboundRefused("Put the key in the key field, not in the base URL.")
    if "?" in url or "#" in url:
        raise OutboundRefused("The base URL may not carry a query (?) or a fragment (#): "
                              "the provider's paths are added to it.")
    refusal = host_refusal(parts.hostname)
    if refusal:
        raise OutboundRefused(f"Keys are never sent there: {refusal}.")
    return url.rstrip("/")
