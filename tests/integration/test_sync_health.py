"""Sync snapshot with ETags, health and readiness, the OpenAPI document."""

import json
import threading

import pytest


def test_sync_gives_a_snapshot_with_a_strong_etag_and_304_when_unchanged(client):
    assert client.get("/api/config/sync").get_json()["selected"] is None  # none chosen yet
    key_id = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-sync-9999", "key_name": "work",
        "api_base": "http://127.0.0.1:9/v1"}).get_json()["id"]
    client.post("/api/config/models/openai/gpt-4o-mini/select")
    response = client.get("/api/config/sync")
    assert response.status_code == 200
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    body = response.get_json()
    assert body["keys"] == {"openai": [{
        "id": key_id, "key_name": "work", "masked_key": "sk-***99",
        "api_base": "http://127.0.0.1:9/v1", "is_active": True}]}
    assert body["selected"]["model"]["id"] == "openai/gpt-4o-mini"
    assert body["revision"] == etag.strip('"')
    again = client.get("/api/config/sync", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    client.put("/api/config/models/openai/gpt-4o-mini/parameters", json={"temperature": 0.5})
    changed = client.get("/api/config/sync", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["selected"]["parameters"] == {"temperature": 0.5}


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "schema": "ok",
                                          "encryption_key": "ok"}


def test_the_openapi_document_and_docs_page(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/config/api-keys" in spec["paths"]
    assert "/api/config/models/{model_id}/select" in spec["paths"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/config/sync" in page.data


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no storage rule here
def test_the_document_is_made_at_its_first_read_not_at_the_start(app, runner):
    """The start leaves the document for later (configapp/web/api/lazy_doc.py: it was most
    of an app's start); `flask openapi print` and the route both make it when first read,
    the same document."""
    assert app.extensions["configapp"].api._spec is None
    printed = runner.invoke(args=["openapi", "print", "--config-prefix", "CONFIGAPP"])
    assert printed.exit_code == 0, printed.output
    served = app.test_client().get("/api/openapi.json").get_json()
    assert json.loads(printed.output) == served
    assert [tag["name"] for tag in served["tags"]].count("api_keys") == 1
    assert served["components"]["securitySchemes"].keys() == {"bearerAuth", "sessionCookie"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_threads_reading_the_document_at_once_make_it_once(app):
    """A server's threads may ask for it together: each gets the whole document, made
    once (made twice, apispec refuses a schema's second registration, or tags repeat)."""
    clients = [app.test_client() for _ in range(6)]
    start = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def read(place: int) -> None:
        start.wait()
        answers[place] = clients[place].get("/api/openapi.json")

    threads = [threading.Thread(target=read, args=(place,)) for place in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [answer.status_code for answer in answers] == [200] * len(clients)
    documents = [answer.get_json() for answer in answers]
    assert all(document == documents[0] for document in documents)
    names = [tag["name"] for tag in documents[0]["tags"]]
    assert len(names) == len(set(names)) == 7
