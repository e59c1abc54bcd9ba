// Provider names as people know them, and the order they are offered in.

export const POPULAR_PROVIDERS = ["openai", "anthropic", "gemini"];

const LABELS = {
  openai: "OpenAI",
  anthropic: "Anthropic",
  gemini: "Google (Gemini)",
  azure: "Azure OpenAI",
  groq: "Groq",
  mistral: "Mistral",
  deepseek: "DeepSeek",
  xai: "xAI",
  together_ai: "Together AI",
  fireworks_ai: "Fireworks AI",
  openrouter: "OpenRouter",
  hosted_vllm: "vLLM",
  perplexity: "Perplexity",
  cerebras: "Cerebras",
  deepinfra: "DeepInfra",
  nebius: "Nebius AI Studio",
  sambanova: "SambaNova",
  moonshot: "Moonshot AI",
  dashscope: "Alibaba DashScope (Qwen)",
  zai: "Z.AI",
  novita: "Novita AI",
  lm_studio: "LM Studio",
  llamafile: "llamafile",
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
