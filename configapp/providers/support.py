"""The provider support table: which providers Settings offers, and how each is reached.

Only providers whose chat (JSON and stream), key test and model listing are verified end to
end through the provider stand-in (tests/integration/test_provider_support.py) are offered;
docs/providers.md is the same table in words. Every offered provider honours a saved base
URL: chat, key test and listing go to that base and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

# The Azure OpenAI data-plane API version sent with every Azure call (chat and listing).
AZURE_API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class ProviderSupport:
    """How configapp reaches one provider.

    wire: the format it speaks (openai, anthropic, gemini, azure).
    public_base: where its keys go when saved without a base URL (None: one is required).
    client: what litellm's path for it takes as `client`: "openai" (an OpenAI SDK client),
    "azure" (an AzureOpenAI client) or "http" (litellm's own HTTPHandler).
    """

    name: str
    label: str
    wire: str
    public_base: str | None
    client: str

    @property
    def key_test(self) -> str:
        """How a key is tested: the models endpoint of its wire format (free)."""
        return {
            "openai": "GET {base}/models, Bearer key",
            "anthropic": "GET {base}/v1/models, x-api-key and anthropic-version",
            "gemini": "GET {base}/models, x-goog-api-key",
            "azure": f"GET {{base}}/openai/models?api-version={AZURE_API_VERSION}, api-key",
        }[self.wire]


def _table(*rows: ProviderSupport) -> dict[str, ProviderSupport]:
    return {row.name: row for row in rows}


P = ProviderSupport
SUPPORTED: dict[str, ProviderSupport] = _table(
    P("openai", "OpenAI", "openai", "https://api.openai.com/v1", "openai"),
    P("anthropic", "Anthropic", "anthropic", "https://api.anthropic.com", "http"),
    P("gemini", "Google (Gemini)", "gemini",
      "https://generativelanguage.googleapis.com/v1beta", "http"),
    P("azure", "Azure OpenAI", "azure", None, "azure"),
    # OpenAI-compatible providers litellm routes through its own HTTP handler.
    P("groq", "Groq", "openai", "https://api.groq.com/openai/v1", "http"),
    P("mistral", "Mistral", "openai", "https://api.mistral.ai/v1", "http"),
    P("deepseek", "DeepSeek", "openai", "https://api.deepseek.com/v1", "http"),
    P("xai", "xAI", "openai", "https://api.x.ai/v1", "http"),
    P("together_ai", "Together AI", "openai", "https://api.together.xyz/v1", "http"),
    P("fireworks_ai", "Fireworks AI", "openai", "https://api.fireworks.ai/inference/v1", "http"),
    P("openrouter", "OpenRouter", "openai", "https://openrouter.ai/api/v1", "http"),
    P("hosted_vllm", "vLLM", "openai", None, "http"),
    # OpenAI-compatible providers litellm routes through the OpenAI SDK.
    P("perplexity", "Perplexity", "openai", "https://api.perplexity.ai", "openai"),
    P("cerebras", "Cerebras", "openai", "https://api.cerebras.ai/v1", "openai"),
    P("deepinfra", "DeepInfra", "openai", "https://api.deepinfra.com/v1/openai", "openai"),
    P("nebius", "Nebius AI Studio", "openai", "https://api.studio.nebius.ai/v1", "openai"),
    P("sambanova", "SambaNova", "openai", "https://api.sambanova.ai/v1", "openai"),
    P("moonshot", "Moonshot AI", "openai", "https://api.moonshot.ai/v1", "openai"),
    P("dashscope", "Alibaba DashScope (Qwen)", "openai",
      "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "openai"),
    P("zai", "Z.AI", "openai", "https://api.z.ai/api/paas/v4", "openai"),
    P("novita", "Novita AI", "openai", "https://api.novita.ai/v3/openai", "openai"),
    P("lm_studio", "LM Studio", "openai", None, "openai"),
    P("llamafile", "llamafile", "openai", None, "openai"),
)

# Why some providers litellm knows are not offered (the rest: not verified here).
NOT_OFFERED = {
    "replicate": "its litellm path sends the key to Replicate's public host whatever the "
                 "base URL",
    "gigachat": "its litellm path sends the key to Sber's public host whatever the base URL",
    "microsoft_365_copilot": "its litellm path sends the key to Microsoft's public host "
                             "whatever the base URL",
    "sagemaker": "it signs requests with the server's own cloud credentials, not a key",
    "bedrock": "it signs requests with the server's own cloud credentials, not a key",
    "vertex_ai": "it uses the server's own Google Cloud credentials, not a key",
    "github_copilot": "it starts a device login instead of using a key",
    "cohere_chat": "its litellm path follows redirects with the key",
    "cloudflare": "its litellm path follows redirects with the key",
    "gradient_ai": "its litellm path follows redirects with the key",
    "amazon_nova": "its litellm path follows redirects with the key",
    "nlp_cloud": "its litellm path follows redirects with the key",
    "ollama": "use provider openai (or hosted_vllm) with the base URL "
              "http://localhost:11434/v1: Ollama speaks the OpenAI format there",
    "ollama_chat": "use provider openai (or hosted_vllm) with the base URL "
                   "http://localhost:11434/v1: Ollama speaks the OpenAI format there",
}
ALIASES = {"google": "gemini"}


def support(provider: str) -> ProviderSupport | None:
    return SUPPORTED.get(provider)


def unsupported_reason(provider: str) -> str:
    """Why a provider is refused, for a person."""
    reason = NOT_OFFERED.get(provider, "its chat, key test and model listing are not "
                                       "verified by configapp's provider tests")
    return (f"Provider '{provider[:64]}' is not offered: {reason}. "
            "See docs/providers.md for the providers that are.")
