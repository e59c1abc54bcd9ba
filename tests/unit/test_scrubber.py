"""The scrubber: a key echoed by a provider, in any form it names, never comes back."""

from __future__ import annotations

import html
import json
import random
import string
import time
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from configapp.domain import mask_key
from configapp.providers.scrubber import GRAM, scrub
from tests.key_echoes import ECHOES

KEYS = ["sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "8c5f1e0a9b7d4c3e2f1a0b9c8d7e6f5a", "k3y/w1th+odd=chars&more%20\"quotes\""]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("echo", list(ECHOES))
def test_every_echo_of_the_key_is_masked(echo, key):
    echoed = ECHOES[echo](key, "", "")
    cleaned = scrub(f'{{"error": "bad key: {echoed} (check it)"}}', key)
    assert echoed not in cleaned, cleaned
    assert mask_key(key) in cleaned and cleaned.startswith('{"error": "bad key: ')
    assert cleaned.endswith(' (check it)"}')


def test_any_run_of_eight_characters_of_the_key_is_masked_and_seven_are_not():
    key = KEYS[0]
    for start in range(1, len(key) - GRAM + 1):  # sk-proj- alone is public
        assert key[start:start + GRAM] not in scrub(f"x {key[start:start + GRAM]} y", key)
    assert scrub("near Ab3dEf6 miss", key) == "near Ab3dEf6 miss"


def test_the_public_prefix_alone_is_not_masked():
    assert scrub("keys look like sk-proj-...", KEYS[0]) == "keys look like sk-proj-..."


def test_text_without_the_key_is_left_as_it_is():
    text = "Incorrect API key provided. See https://platform.openai.com/account/api-keys %41 &#65;"
    assert scrub(text, KEYS[0]) == text
    assert scrub("nothing", None, "", "abc") == "nothing"


def test_two_keys_are_both_masked():
    cleaned = scrub(f"{KEYS[0]} and {KEYS[1][::-1]}", KEYS[0], KEYS[1])
    assert cleaned == f"{mask_key(KEYS[0])} and {mask_key(KEYS[1])}"


def test_the_cost_grows_linearly_with_the_text():
    """No quadratic blow-up: 16 times the text costs about 16 times the time (generously
    bounded for a loaded machine), on text that is neither the key nor free of its pieces."""
    key = KEYS[0]
    rng = random.Random(25)
    unit = "".join(rng.choice(string.printable) for _ in range(1000)) + key[3:12] + "%41&#66;"

    def cost(copies: int) -> float:
        text = unit * copies
        started = time.perf_counter()
        scrub(text, key)
        return time.perf_counter() - started

    cost(1)
    small = min(cost(2) for _ in range(3))
    large = min(cost(32) for _ in range(3))
    assert large < 16 * 4 * small, (small, large)


ASCII_KEYS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                     min_size=8, max_size=60)
AROUND = st.text(max_size=4)


@settings(max_examples=300, deadline=None)
@given(ASCII_KEYS, st.sampled_from(sorted(ECHOES)), AROUND, AROUND, AROUND, AROUND)
def test_no_echo_of_a_random_key_survives_wherever_it_stands(key, echo, before, left, right,
                                                             after):
    if echo.startswith("all but"):  # what is left must be a run of GRAM, not all public
        assume(len(key) - 1 > max(GRAM - 1, len(mask_key(key).partition("***")[0])))
    echoed = ECHOES[echo](key, left, right)
    cleaned = scrub(f"{before}{echoed}{after}", key)
    assert echoed not in cleaned, (echoed, cleaned)


@settings(max_examples=300, deadline=None)
@given(ASCII_KEYS, st.data(), AROUND, AROUND)
def test_no_run_of_eight_characters_of_a_random_key_survives(key, data, before, after):
    prefix = len(mask_key(key).partition("***")[0])
    assume(len(key) > prefix)
    start = data.draw(st.integers(max(0, prefix - GRAM + 1), len(key) - GRAM))
    length = data.draw(st.integers(GRAM, len(key) - start))
    run = key[start:start + length]
    assert run not in scrub(f"{before}{run}{after}", key)


@pytest.mark.parametrize("key", ["0000<%00", "ab%41cd&amp;ef", "k\\u0041ey<>%2F12"])
def test_a_key_holding_what_looks_like_an_escape_is_caught_in_each_encoding(key):
    """Found by hypothesis: "0000<%00" HTML-escaped is "0000&lt;%00", and decoding every
    escape at once turned the key's own "%00" into a NUL, so nothing matched."""
    for form in (html.escape(key), quote(key, safe=""), json.dumps(key)[1:-1]):
        assert form not in scrub(f"the key was <{form}> here", key), form
