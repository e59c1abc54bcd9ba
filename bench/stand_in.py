"""The provider stand-in as the benchmarks run it: tests/provider_stub's answers, served in a
process of their own by gunicorn (one gthread worker), with HTTP/1.1 keep-alive.

Providers keep connections open and both litellm and the LiteLLM Proxy reuse them. The
tests' server (Werkzeug's) closes every connection after one answer, so a benchmark on it
made each chat, on both sides, open a TCP connection and start a server thread: a cost that
no real provider adds, common to configapp and the proxy. Prints the OpenAI base URL, then
serves until SIGTERM. `python -m bench.stand_in`.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from tests.provider_stub import BASE_PATHS, ProviderStub

THREADS = 64  # bench_serving's 16 streams, its 300 s stream, and 8 clients of chat load
KEEPALIVE_SECONDS = 75


class StandIn(BaseApplication):
    """gunicorn around one ProviderStub: its state (pace, behaviour) lives in the worker,
    which also answers the stub's control routes."""

    def __init__(self) -> None:
        self.stub = ProviderStub()
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": "127.0.0.1:0", "workers": 1, "worker_class": "gthread",
            "threads": THREADS, "keepalive": KEEPALIVE_SECONDS, "accesslog": None,
            "errorlog": "-", "loglevel": "warning", "graceful_timeout": 5,
            "control_socket_disable": True, "when_ready": self.announce,
        }
        for name, value in settings.items():
            if name in self.cfg.settings:
                self.cfg.set(name, value)

    @staticmethod
    def announce(server: Any) -> None:
        port = server.LISTENERS[0].getsockname()[1]
        print(f"http://127.0.0.1:{port}{BASE_PATHS['openai']}", flush=True)

    def load(self) -> Any:
        return self.stub.wsgi


if __name__ == "__main__":
    StandIn().run()
