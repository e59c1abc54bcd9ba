"""serving: running the standalone app under gunicorn.

Owns gunicorn's settings (gunicorn_config.py), the worker class (worker.py), the
`configapp` command (console.py) and the thread-safe ast.parse guard (ast_guard.py).
May import: the kernel, and `configapp.create_app`.
"""
