"""ops: what an operator runs. The `flask config ...` commands (cli.py, cli_curation.py)
and encrypted backups (backup.py, backup_file.py).

Commands are a thin twin of the API: they call the same services.
May import: the kernel, providers, keys, access, catalog, chat, configapp.components.
"""
