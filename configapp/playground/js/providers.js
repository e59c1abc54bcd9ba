// Provider names as people know them, and the order they are offered in.

export const POPULAR_PROVIDERS = ["openai", "anthropic", "gemini"];

const LABELS = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  gemini: "Google (Gemini)",
  mistral: "Mistral",
  groq: "Groq",
  deepseek: "DeepSeek",
  cohere_chat: "Cohere",
  xai: "xAI",
  openrouter: "OpenRouter",
  together_ai: "Together AI",
  perplexity: "Perplexity",
  fireworks_ai: "Fireworks AI",
  ollama: "Ollama",
  ollama_chat: "Ollama (chat)",
  hosted_vllm: "vLLM (hosted)",
  lm_studio: "LM Studio",
  llamafile: "llamafile",
  azure: "Azure OpenAI",
  azure_ai: "Azure AI",
  bedrock: "AWS Bedrock",
  vertex_ai: "Google Vertex AI",
};

/** "openai" -> "OpenAI"; unknown names are shown as LiteLLM spells them. */
export function providerLabel(name) {
  return LABELS[name] || name;
}

/** The popular providers first (in their order), then the others by label. */
export function sortProviders(names) {
  const rank = (name) => {
    const index = POPULAR_PROVIDERS.indexOf(name);
    return index === -1 ? POPULAR_PROVIDERS.length : index;
  };
  return [...names].sort((a, b) => rank(a) - rank(b)
    || providerLabel(a).localeCompare(providerLabel(b), undefined, { sensitivity: "base" }));
}

/** What a provider's key_source means, in words. */
export function keySourceText(provider) {
  if (provider.key_source === "database") return "stored key";
  if (provider.key_source === "environment") return `environment (${provider.env_var})`;
  return "no key";
}
