"""chat: a conversation turn with a model, and what it cost.

Owns ChatService (service.py: plan a chat from the catalogue and the keys, then call the
gateway), prices (pricing.py), the usage ledger and budgets (usage.py, sql_usage.py).
May import: the kernel, providers, keys, catalog.
"""
