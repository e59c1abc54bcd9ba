"""access: who may ask. The API token, the sessions it buys, the wrong-token limit.

Owns the token's hash and generation (auth.py, sql_auth.py) and a request's credentials,
checked (gate.py). Used by web/ (every /api call, the pages, sign-in) and ops/ (rotating
the token from the command line).
May import: the kernel, keys (the storage's transactions).
"""
