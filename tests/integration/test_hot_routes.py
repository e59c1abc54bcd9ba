"""The two hot routes (the catalogue and the extension's sync) are served by plain Flask
views for their common requests (issue 10); every answer must be the documented view's."""

import pytest

from configapp.web.security import SECURITY_HEADERS

CATALOGUE = "/api/config/models"
# Each of these is one the plain view answers; a second, neutral argument sends the same
# request to the documented view (flask-smorest and its query schema).
PLAIN_QUERIES = ["", "configured=true", "configured=false", "configured=1", "configured=off",
                 "configured=True"]


def documented(query: str) -> str:
    return f"{CATALOGUE}?{query}&include_hidden=false" if query else (
        f"{CATALOGUE}?include_hidden=false")


@pytest.mark.parametrize("query", PLAIN_QUERIES)
def test_the_plain_catalogue_view_answers_as_the_documented_one(client, query):
    client.post("/api/config/api-keys", json={"provider": "gemini", "api_key": "AIza-hot-1234"})
    hide = client.patch("/api/config/curation/gemini", json={"hide": ["gemini/gemini-2.5-flash"]})
    assert hide.status_code == 200
    plain = client.get(f"{CATALOGUE}?{query}" if query else CATALOGUE)
    reference = client.get(documented(query))
    assert plain.status_code == reference.status_code == 200
    assert plain.get_json() == reference.get_json()
    assert sorted(plain.headers.items()) == sorted(reference.headers.items())
    providers = {model["provider"] for model in plain.get_json()["models"]}
    configured = query.split("=")[-1].lower() in {"true", "1"}
    assert (providers == {"gemini"}) is configured
    assert "gemini/gemini-2.5-flash" not in {model["id"] for model in plain.get_json()["models"]}


@pytest.mark.parametrize("query", ["configured=maybe", "configured=", "configured=yes!"])
def test_catalogue_flags_the_plain_view_does_not_know_are_refused_by_the_schema(client, query):
    answer = client.get(f"{CATALOGUE}?{query}")
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["message"]


def test_the_plain_sync_view_answers_304_as_the_documented_one_would(client):
    client.post("/api/config/api-keys", json={"provider": "openai", "api_key": "sk-hot-sync-1"})
    first = client.get("/api/config/sync")
    etag = first.headers["ETag"]
    unchanged = client.get("/api/config/sync", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    assert unchanged.headers["Cache-Control"] == "no-cache"
    assert {name for name, _lower, _value in SECURITY_HEADERS} <= set(unchanged.headers.keys())
    several = client.get("/api/config/sync", headers={"If-None-Match": f'"other", {etag}'})
    assert several.status_code == 304
    stale = client.get("/api/config/sync", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.headers["ETag"] == etag
    assert stale.get_json() == first.get_json()


def test_the_plain_views_still_need_sign_in(app):
    anonymous = app.test_client().signed_out()
    assert anonymous.get(CATALOGUE).status_code == 401
    assert anonymous.get("/api/config/sync", headers={"If-None-Match": '"x"'}).status_code == 401


def test_the_openapi_document_describes_the_hot_routes_in_full(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    catalogue = paths[CATALOGUE]["get"]
    assert {parameter["name"] for parameter in catalogue["parameters"]} == {
        "provider", "q", "configured", "live", "refresh", "include_hidden"}
    assert "200" in catalogue["responses"] and "422" in catalogue["responses"]
    assert {"200", "304"} <= set(paths["/api/config/sync"]["get"]["responses"])
