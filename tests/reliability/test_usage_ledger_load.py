"""The usage ledger under load: two instances of four gunicorn workers each on one
database, chats (JSON and streamed) from sixteen clients at once, and not one row lost."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from sqlalchemy import text

from tests.e2e.harness import Server
from tests.provider_stub.fixtures import KEYS, MODELS

CLIENTS = 16
CHATS_EACH = 4
# A worker imports litellm at its first chat: seconds of CPU, eight at once on a busy box.
FIRST_CHAT_TIMEOUT = 300


def chat(server: Server, stream: bool) -> bool:
    body = json.dumps({"model": MODELS["openai"], "stream": stream,
                       "messages": [{"role": "user", "content": "count me"}]}).encode()
    request = urllib.request.Request(server.url + "/api/chat", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(request, timeout=FIRST_CHAT_TIMEOUT) as response:
        answer = response.read().decode()
        return response.status == 200 and (not stream or "event: done" in answer)


@pytest.mark.timeout(3 * FIRST_CHAT_TIMEOUT)
def test_no_ledger_row_is_lost_under_two_instances_of_four_workers(database, launch, stub):
    servers = [launch(database, workers=4), launch(database, workers=4)]
    status, _ = servers[0].api("POST", "/api/config/api-keys", {
        "provider": "openai", "api_key": KEYS["openai"], "api_base": stub.base("openai")})
    assert status == 201
    answered: list[bool] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        for turn in range(CHATS_EACH):
            try:
                ok = chat(servers[(number + turn) % 2], stream=bool(turn % 2))
            except OSError:
                ok = False
            with lock:
                answered.append(ok)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * FIRST_CHAT_TIMEOUT)
    assert answered.count(True) == CLIENTS * CHATS_EACH
    with database.store.engine().connect() as connection:
        count, prompt, completion = connection.execute(text(
            "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) "
            "FROM usage_records")).one()
    assert count == CLIENTS * CHATS_EACH == len(stub.usage_sent)
    assert (prompt, completion) == tuple(map(sum, zip(*stub.usage_sent, strict=True)))
    for server in servers:
        status, usage = server.api("GET", "/api/config/usage")
        assert usage["total"]["requests"] == count
