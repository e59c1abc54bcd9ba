"""catalog: which models there are, which are shown, and what names point at them.

Owns LiteLLM's model metadata (litellm_catalog.py), live listings from the providers
(discovery.py), and curation: hidden models, aliases, purposes, withdrawn models and their
warnings (curation.py, sql_curation.py).
May import: the kernel, providers, keys.
"""
