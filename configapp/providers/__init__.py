"""providers: how configapp talks to LLM providers, and nothing else.

Owns the support table (support.py), where a key may be sent (outbound.py) and the guarded
HTTP client that enforces it (outbound_http.py), the models endpoints (apis.py), the values
and failures of a provider call (llm.py), and chat through litellm (litellm_gateway.py).
May import: the kernel (configapp.domain).
"""
