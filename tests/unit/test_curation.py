"""The curation rules that need no storage: visibility, alias chains, purpose names."""

import pytest

from configapp.catalog.curation import AliasError, check_purpose_name, follow
from configapp.domain import Alias, ConfigurationError, Visibility


def test_a_provider_under_only_chosen_hides_all_but_its_shown_models():
    visibility = Visibility(only_chosen=frozenset({"openai"}),
                            shown=frozenset({"openai/gpt-4o-mini"}),
                            hidden=frozenset({"anthropic/claude-opus-4"}))
    assert not visibility.hides("openai/gpt-4o-mini", "openai")
    assert visibility.hides("openai/gpt-4o", "openai")
    assert visibility.hides("anthropic/claude-opus-4", "anthropic")
    assert not visibility.hides("anthropic/claude-sonnet-4-5", "anthropic")


def test_an_alias_chain_comes_to_a_model_and_the_first_alias_parameters_win():
    aliases = {"quick": Alias("quick", "fast", {"max_tokens": 30}),
               "fast": Alias("fast", "openai/gpt-4o-mini",
                             {"temperature": 0.3, "max_tokens": 100})}
    assert follow("quick", aliases) == ("openai/gpt-4o-mini",
                                        {"temperature": 0.3, "max_tokens": 30},
                                        ("quick", "fast"))
    assert follow("openai/gpt-4o", aliases) == ("openai/gpt-4o", {}, ())


def test_alias_loops_and_long_chains_are_refused():
    loop = {"a": Alias("a", "b"), "b": Alias("b", "a")}
    with pytest.raises(AliasError, match="a -> b -> a"):
        follow("a", loop)
    chain = {f"a{i}": Alias(f"a{i}", f"a{i + 1}") for i in range(9)}
    with pytest.raises(AliasError, match="at most 8"):
        follow("a0", chain)


@pytest.mark.parametrize("name", ["title", "code-review", "a1_b2", "x" * 40])
def test_slug_purpose_names_are_accepted(name):
    assert check_purpose_name(name) == name


@pytest.mark.parametrize("name", ["Title", "two words", "-lead", "trail-", "a--b", "",
                                  "x" * 41, "é"])
def test_other_purpose_names_are_refused(name):
    with pytest.raises(ConfigurationError, match="not a purpose name"):
        check_purpose_name(name)
