"""Concurrent writes from several threads keep the database's invariants."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from configapp.records import ApiKeyRecord, ModelConfigRecord, db

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
          "openai/gpt-4o"]


def test_concurrent_selects_end_with_exactly_one_default(app):
    def select_model(i: int) -> int:
        with app.test_client() as client:
            return client.post(f"/api/config/models/{MODELS[i % len(MODELS)]}/select").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(select_model, range(80)))
    assert statuses == [200] * 80
    with app.app_context():
        defaults = db.session.scalar(select(func.count()).select_from(ModelConfigRecord)
                                     .where(ModelConfigRecord.is_default))
        assert defaults == 1


def test_concurrent_adds_and_activations_keep_one_active_key_per_provider(app):
    def add_and_flip(i: int) -> tuple[int, int]:
        with app.test_client() as client:
            created = client.post("/api/config/api-keys", json={
                "provider": ["openai", "anthropic"][i % 2], "api_key": f"sk-race-{i:08d}"})
            flipped = client.patch(f"/api/config/api-keys/{created.get_json()['id']}",
                                   json={"is_active": True})
            return created.status_code, flipped.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(add_and_flip, range(40)))
    assert results == [(201, 200)] * 40
    with app.app_context():
        rows = db.session.execute(select(ApiKeyRecord.provider, func.count())
                                  .where(ApiKeyRecord.is_active)
                                  .group_by(ApiKeyRecord.provider)).all()
        assert sorted(rows) == [("anthropic", 1), ("openai", 1)]
        assert db.session.scalar(select(func.count()).select_from(ApiKeyRecord)) == 40
