"""keys: the API key vault and the configuration rules around it.

Owns ConfigurationService (service.py: key priority, one active key per provider, the
default model and its parameters), its SQL storage (sql_storage.py), Fernet encryption
(fernet.py), the encryption key file and its rotation (key_files.py, rotation.py), the
data folder's files (data_files.py) and the one-time .env import (env_import.py).
May import: the kernel, providers.
"""
