"""The plan cache's rule (configapp/chat/plan_cache.py): an entry is served only to a chat
that read the revision, and the catalogue, it was built under; never to another."""

from __future__ import annotations

import random
import threading

import pytest

from configapp.chat.plan_cache import Generation, PlanCache

CATALOGUE = object()


def at(revision: str, catalog: object = CATALOGUE) -> Generation:
    return Generation(revision, catalog)


def test_an_entry_is_built_once_per_revision():
    cache = PlanCache()
    builds: list[str] = []

    def build() -> str:
        builds.append("r1")
        return "plan of r1"

    assert cache.entry(at("s-1"), "default", build) == "plan of r1"
    assert cache.entry(at("s-1"), "default", build) == "plan of r1"
    assert builds == ["r1"]


def test_a_moved_revision_is_never_served_the_entry_of_the_one_before():
    cache = PlanCache()
    cache.entry(at("s-1"), "default", lambda: "old key")
    assert cache.entry(at("s-2"), "default", lambda: "new key") == "new key"
    assert cache.entry(at("s-2"), "default", lambda: "unused") == "new key"


def test_a_chat_that_read_an_older_revision_gets_no_newer_entry_and_leaves_none_behind():
    cache = PlanCache()
    cache.entry(at("s-2"), "default", lambda: "new key")
    assert cache.entry(at("s-1"), "default", lambda: "read after s-1") == "read after s-1"
    assert cache.entry(at("s-2"), "default", lambda: "read again") == "read again"


def test_a_new_catalogue_with_the_same_revision_builds_again():
    cache = PlanCache()
    cache.entry(at("s-1"), "default", lambda: "priced by the old catalogue")
    assert cache.entry(at("s-1", object()), "default", lambda: "new prices") == "new prices"


def test_a_failed_build_is_not_kept():
    cache = PlanCache()

    def refuse() -> str:
        raise LookupError("no such model")

    with pytest.raises(LookupError):
        cache.entry(at("s-1"), "missing", refuse)
    assert cache.entry(at("s-1"), "missing", lambda: "added meanwhile") == "added meanwhile"


def test_the_cache_holds_at_most_its_size_the_oldest_going_first():
    cache = PlanCache(max_entries=2)
    for name in ("a", "b", "c"):
        cache.entry(at("s-1"), name, lambda name=name: name)
    assert len(cache) == 2
    assert cache.entry(at("s-1"), "a", lambda: "built again") == "built again"
    assert cache.entry(at("s-1"), "c", lambda: "unused") == "c"


def test_its_repr_shows_no_entry():
    cache = PlanCache()
    cache.entry(at("s-1"), "key", lambda: "gAAAAA-a-fernet-token")
    assert "gAAAAA" not in repr(cache) and "s-1" in repr(cache)


def test_threads_reading_different_revisions_each_get_their_own_revisions_entry():
    """32 threads (a gthread worker's), the revision moving under them: no thread is ever
    served what was built under a revision other than the one it read."""
    cache = PlanCache(max_entries=4)
    wrong: list[tuple[str, str]] = []

    def chats(seed: int) -> None:
        pick = random.Random(seed)
        for _ in range(300):
            revision = f"s-{pick.randrange(3)}"
            key = pick.choice("abcde")
            got = cache.entry(at(revision), key, lambda r=revision, k=key: f"{r}:{k}")
            if got != f"{revision}:{key}":
                wrong.append((revision, got))

    threads = [threading.Thread(target=chats, args=(seed,)) for seed in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
