"""Outbound rules: where a key may never be sent, when saved and when connecting."""

import socket
import ssl
import threading
import time

import httpcore
import pytest

from configapp.providers.outbound import OutboundRefused, check_base_url
from configapp.providers.outbound_http import (
    DeadlineBackend,
    GuardedBackend,
    OutboundRefusedError,
    outbound_client,
    shared_tls_context,
    total_deadline,
)
from tests.fakes import fake_resolver

METADATA_FORMS = [
    "http://169.254.169.254/latest", "http://2852039166/", "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/", "http://169.254.43518/", "http://0xA9.0xFE.0xA9.0xFE/",
    "http://169.254.169.254./", "http://metadata.google.internal/computeMetadata/v1",
    "http://METADATA.google.internal./", "http://metadata/", "http://instance-data/",
    "http://[fd00:ec2::254]/", "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://100.100.100.200/", "http://169.254.1.1:8080/v1",
    "http://[fe80::1]/v1", "http://0.0.0.0:11434/v1", "http://224.0.0.1/",
]


@pytest.mark.parametrize("url", METADATA_FORMS)
def test_link_local_and_metadata_bases_are_refused_in_every_spelling(url):
    with pytest.raises(OutboundRefused, match="never sent there"):
        check_base_url(url)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://gw.example/v1?x=1", "query"), ("http://gw.example/v1#frag", "fragment"),
    ("http://user:pw@gw.example/v1", "key field"), ("http://@gw.example/v1", "key field"),
    ("ftp://gw.example/v1", "http"), ("http:///v1", "http"), ("http://gw example/v1", "ASCII"),
    ("http://gw.example:99999/v1", "http"), ("x" * 3000, "longer"),
])
def test_a_base_url_must_be_plain_http_with_a_host(url, reason):
    with pytest.raises(OutboundRefused, match=reason):
        check_base_url(url)


@pytest.mark.parametrize("url", [
    "http://localhost:11434/v1", "http://127.0.0.1:8000/v1/", "http://[::1]:8000/v1",
    "http://10.0.0.5/v1", "http://192.168.1.20:1234/v1", "https://172.16.0.1/openai",
    "https://api.openai.com/v1", "http://vllm.internal.company:8000/v1",
])
def test_loopback_private_and_public_bases_are_allowed(url):
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize("answer", [("169.254.169.254",), ("10.0.0.1", "169.254.169.254"),
                                    ("fe80::1",), ("::ffff:169.254.169.254",)])
def test_a_name_that_resolves_to_a_forbidden_address_is_refused_at_connect_time(answer):
    backend = GuardedBackend(fake_resolver(*answer))
    with pytest.raises(OutboundRefusedError, match="resolves to"):
        backend.connect_tcp("innocent.example", 80, timeout=1)


def test_a_metadata_name_is_refused_before_it_is_resolved():
    def resolve(*args, **kwargs):
        raise AssertionError("resolved")
    with pytest.raises(OutboundRefusedError, match="metadata host"):
        GuardedBackend(resolve).connect_tcp("metadata.google.internal", 80, timeout=1)


def test_the_connection_goes_to_the_address_that_was_checked():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        backend = GuardedBackend(fake_resolver("127.0.0.1"))
        stream = backend.connect_tcp("name.that.does.not.exist.invalid", port, timeout=2)
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        stream.close()


def test_an_unresolvable_name_is_a_connect_error():
    def resolve(*args, **kwargs):
        raise socket.gaierror("no such name")
    with pytest.raises(httpcore.ConnectError, match="could not be resolved"):
        GuardedBackend(resolve).connect_tcp("nowhere.invalid", 80, timeout=1)


class BlackholedNetwork(GuardedBackend):
    """Every address resolves, and every connect to it hangs until its timeout, as to a
    host that drops the SYN: the network port faked, the deadline's rules real."""

    def __init__(self, *addresses: str) -> None:
        super().__init__(fake_resolver(*addresses))
        self.attempts: list[float | None] = []

    def connect_address(self, address, port, timeout, local_address, socket_options):
        self.attempts.append(timeout)
        time.sleep(timeout)
        raise httpcore.ConnectTimeout(f"{address} did not answer")


def test_the_total_deadline_holds_across_every_address_a_name_has():
    network = BlackholedNetwork("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4")
    started = time.monotonic()
    with total_deadline(0.3), pytest.raises(httpcore.ConnectTimeout):
        DeadlineBackend(network).connect_tcp("many.example", 443, timeout=10)
    took = time.monotonic() - started
    assert took < 0.6, f"{took:.2f} s: each address was given the whole deadline again"
    assert network.attempts[0] == pytest.approx(0.3, abs=0.05)
    assert len(network.attempts) == 1 or network.attempts[1] < 0.05


def test_a_name_slow_to_resolve_ends_at_the_total_deadline():
    answered = threading.Event()

    def slow_resolve(*args, **kwargs):
        answered.wait(5)  # a resolver that takes its time (set free at the end)
        return fake_resolver("203.0.113.1")(*args, **kwargs)

    started = time.monotonic()
    try:
        with total_deadline(0.2), pytest.raises(httpcore.ConnectTimeout, match="resolving"):
            DeadlineBackend(GuardedBackend(slow_resolve)).connect_tcp("slow.example", 443,
                                                                       timeout=10)
        assert time.monotonic() - started < 0.5
    finally:
        answered.set()


def test_every_client_shares_one_tls_context_that_still_checks_certificates_and_names():
    """Loaded once a process (the CA bundle cost each app's start 20 to 40 ms), not
    loosened by the sharing."""
    context = shared_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    for client in (outbound_client(5.0), outbound_client(5.0)):
        assert client._transport._pool._ssl_context is context  # type: ignore[attr-defined]
        client.close()
