"""Catalogue, selection and parameters through the API."""

import json

import pytest

from configapp.catalog.litellm_catalog import LiteLLMMetadataCatalog


def test_the_catalogue_comes_from_litellms_metadata(client):
    body = client.get("/api/config/models").get_json()
    assert body["source"] == "litellm"
    assert body["count"] == len(body["models"]) > 1000
    models = {m["id"]: m for m in body["models"]}
    mini = models["openai/gpt-4o-mini"]
    assert mini["provider"] == "openai" and mini["context_window"] == 128000
    assert mini["max_output_tokens"] == 16384
    assert mini["input_price_per_million"] == pytest.approx(0.15)
    assert "gemini/gemini-2.5-flash" in models


def test_catalogue_filters(client):
    body = client.get("/api/config/models?provider=anthropic&q=sonnet").get_json()
    assert body["models"] and all(m["provider"] == "anthropic" and "sonnet" in m["id"]
                                  for m in body["models"])
    assert client.get("/api/config/models?configured=true").get_json()["count"] == 0
    client.post("/api/config/api-keys", json={"provider": "gemini", "api_key": "AIza-gem-1234"})
    configured = client.get("/api/config/models?configured=true").get_json()["models"]
    assert configured and {m["provider"] for m in configured} == {"gemini"}
    assert client.get("/api/config/models?configured=maybe").status_code == 422
    assert client.get("/api/config/models?q=" + "x" * 300).status_code == 422


def test_selection_and_parameters_persist(client):
    assert client.get("/api/config/models/selected").status_code == 404
    response = client.post("/api/config/models/anthropic/claude-sonnet-4-5/select")
    assert response.status_code == 200
    assert response.get_json()["bounds"]["temperature"]["high"] == 1.0
    response = client.put("/api/config/models/anthropic/claude-sonnet-4-5/parameters",
                          json={"temperature": 0.3, "max_tokens": 64000, "top_p": 0.9})
    assert response.status_code == 200
    selected = client.get("/api/config/models/selected").get_json()
    assert selected["model"]["id"] == "anthropic/claude-sonnet-4-5"
    assert selected["parameters"] == {"temperature": 0.3, "max_tokens": 64000, "top_p": 0.9}
    client.post("/api/config/models/openai/gpt-4o-mini/select")
    assert client.get("/api/config/models/selected").get_json()["model"]["id"] == (
        "openai/gpt-4o-mini")
    # Tuning a model that is not the default answers with its parameters, not as default.
    tuned = client.put("/api/config/models/gemini/gemini-2.5-flash/parameters",
                       json={"temperature": 0.7}).get_json()
    assert tuned["is_default"] is False and tuned["parameters"] == {"temperature": 0.7}


@pytest.mark.parametrize("params", [
    {"temperature": 5}, {"max_tokens": 16385}, {"max_tokens": 0}, {"top_p": 2},
    {"temperature": "warm"}, {"unknown": 1}, {"max_tokens": 1.5},
])
def test_parameters_outside_the_models_limits_are_422_and_change_nothing(client, params):
    client.put("/api/config/models/openai/gpt-4o-mini/parameters", json={"temperature": 1})
    response = client.put("/api/config/models/openai/gpt-4o-mini/parameters", json=params)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == set(params)
    client.post("/api/config/models/openai/gpt-4o-mini/select")
    assert client.get("/api/config/models/selected").get_json()["parameters"] == {
        "temperature": 1.0}


def test_unknown_models_are_404(client):
    unknown = client.post("/api/config/models/openai/gpt-99/select")
    assert unknown.status_code == 404
    assert unknown.get_json()["message"] == "Unknown model 'openai/gpt-99'."
    long_id = "openai/" + "x" * 300
    refused = client.post(f"/api/config/models/{long_id}/select").get_json()["message"]
    assert refused == f"Unknown model '{long_id[:200]}'."  # not echoed without end
    assert client.put("/api/config/models/nope/parameters",
                      json={"temperature": 1}).status_code == 404


def test_the_fallback_list_answers_when_the_metadata_cannot_be_read(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    catalog = LiteLLMMetadataCatalog(metadata_path=broken).catalog()
    assert catalog.source == "fallback"
    assert "openai/gpt-4o-mini" in catalog.by_id
    assert "gemini/gemini-2.5-flash" in catalog.by_id


def test_the_catalogue_is_cached_for_its_ttl(tmp_path):
    path = tmp_path / "meta.json"
    entry = {"litellm_provider": "openai", "mode": "chat", "max_output_tokens": 10}
    path.write_text(json.dumps({"m1": entry}))
    catalog = LiteLLMMetadataCatalog(ttl_seconds=300, metadata_path=path)
    assert [m.id for m in catalog.catalog().models] == ["openai/m1"]
    path.write_text(json.dumps({"m1": entry, "m2": entry}))
    assert [m.id for m in catalog.catalog().models] == ["openai/m1"]
    fresh = LiteLLMMetadataCatalog(ttl_seconds=0, metadata_path=path)
    assert len(fresh.catalog().models) == 2


STARTS_WITHOUT_LITELLM = """
import sys, tempfile, pathlib
from configapp import create_app
from configapp.settings import SecuritySettings, Settings
from configapp.catalog.litellm_catalog import litellm_metadata_path
data = pathlib.Path(tempfile.mkdtemp())
client = create_app(Settings(data_dir=data, env_file=data / ".env",
                             config_file=data / "none.yaml",
                             security=SecuritySettings(api_token="t0ken-" + "x" * 40))
                    ).test_client()
signed = {"Authorization": "Bearer t0ken-" + "x" * 40}
assert litellm_metadata_path().is_file()
assert client.get("/api/config/models", headers=signed).status_code == 200
assert client.get("/api/config/models?live=true", headers=signed).status_code == 200
print(sorted(name for name in ("litellm", "openai") if name in sys.modules))
"""


def test_starting_and_serving_the_catalogue_do_not_import_litellm():
    """In a fresh interpreter: other tests of this process import litellm on purpose."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", STARTS_WITHOUT_LITELLM], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_cached_catalogue_follows_keys_changed_by_another_instance(make_settings, backend):
    from configapp import create_app
    from tests.conftest import upgrade_postgres

    settings = make_settings()
    if backend == "postgresql":
        upgrade_postgres(settings)
    reader, writer = (create_app(settings).test_client() for _ in range(2))
    path = "/api/config/models?configured=true"
    assert reader.get(path).get_json()["count"] == 0
    key = writer.post("/api/config/api-keys",
                      json={"provider": "anthropic", "api_key": "sk-ant-other-1234"}).get_json()
    providers = {m["provider"] for m in reader.get(path).get_json()["models"]}
    assert providers == {"anthropic"}
    writer.patch(f"/api/config/api-keys/{key['id']}", json={"is_active": False})
    assert reader.get(path).get_json()["count"] == 0
    writer.patch(f"/api/config/api-keys/{key['id']}", json={"is_active": True})
    assert reader.get(path).get_json()["count"] > 0
    writer.delete(f"/api/config/api-keys/{key['id']}")
    assert reader.get(path).get_json()["count"] == 0


def test_a_reloaded_catalogue_is_never_answered_from_an_older_ones_body():
    from configapp.domain import Catalog, ModelInfo
    from configapp.web.api.models import CatalogueBodies

    old = Catalog("litellm", (ModelInfo("openai/m1", "openai", "m1"),))
    new = Catalog("litellm", old.models)
    bodies = CatalogueBodies(ttl_seconds=300)
    bodies.put(("openai", None, None), old, b"old")
    assert bodies.get(("openai", None, None), old) == b"old"
    assert bodies.get(("openai", None, None), new) is None
    assert bodies.get(("openai", None, frozenset()), old) is None
