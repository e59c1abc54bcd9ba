"""The secret watch's search (tests/secret_watch.py): one pass for every needle must find
exactly what looking for each needle in turn finds."""

import random
import string
import sys
import threading

from tests.secret_watch import REBUILD_AFTER, Watch

ALPHABET = string.ascii_letters + string.digits + "-_"


def learn(watch: Watch, chance: random.Random, count: int) -> None:
    for _ in range(count):
        watch.add("".join(chance.choices(ALPHABET, k=chance.randint(8, 40))), "a key")


def test_one_pass_finds_what_a_search_per_needle_finds():
    chance = random.Random(7)
    watch = Watch()
    learn(watch, chance, REBUILD_AFTER + 50)
    watch.found_in("")  # the automaton holds these
    watch.add(watch.order[3][:10], "a needle inside another")
    learn(watch, chance, REBUILD_AFTER // 2)  # these are looked for one by one
    built = watch.search[1]
    text = "".join(chance.choices(ALPHABET + " \n", k=20_000))
    planted = [watch.order[0], watch.order[3], watch.order[built - 1], watch.order[built],
               watch.order[-1]]
    for needle in planted:
        at = chance.randrange(len(text))
        text = text[:at] + needle + text[at:]
    text = watch.order[1] + text + watch.order[2]  # at both ends

    for start in (0, 1, 4, built - 1, built, built + 1, len(watch.order)):
        expected = [needle for needle in watch.order[start:] if needle in text]
        assert watch.found_in(text, start) == expected
    assert watch.search[1] == built < len(watch.order)
    assert set(planted) | {watch.order[1], watch.order[2]} <= set(watch.found_in(text))

    learn(watch, chance, REBUILD_AFTER)  # past REBUILD_AFTER: built again, with them all
    assert watch.found_in(text) == [needle for needle in watch.order if needle in text]
    assert watch.search[1] == len(watch.order)



def test_a_thread_scanning_while_another_learns_never_meets_a_half_built_search():
    """Log records are scanned on the threads that log them, while the test's thread learns
    keys, and so builds the automaton again."""
    chance = random.Random(11)
    watch = Watch()
    learn(watch, chance, REBUILD_AFTER + 1)
    first, last = watch.order[0], watch.order[-1]
    text = f"{first} a log line {last}"
    failures: list[BaseException] = []
    done = threading.Event()

    def scan_on_and_on() -> None:
        while not done.is_set():
            try:
                assert watch.found_in(text) == [first, last]
            except BaseException as failure:
                failures.append(failure)
                return

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    scanner = threading.Thread(target=scan_on_and_on)
    scanner.start()
    try:
        for _ in range(20):
            learn(watch, chance, REBUILD_AFTER + 1)
            watch.found_in("")  # built again
    finally:
        done.set()
        scanner.join()
        sys.setswitchinterval(previous)
    assert failures == []


def test_a_client_token_is_allowed_only_in_the_answer_that_made_it():
    watch = Watch()
    token = "cfgc_" + "Zx9_Kq2mWv7LpR4t" * 2
    watch.add(token, "a client token")
    watch.scan("the answer that made it", f'{{"token": "{token}"}}', allowed=frozenset({token}))
    assert watch.leaks == []
    watch.scan("the list", f'[{{"name": "ide", "token": "{token}"}}]')
    assert watch.leaks == ["(outside a test): a client token in the list"]
