"""web: the HTTP face. The API blueprints (api/), the Playground's pages (pages.py),
sign-in (signin.py) and the safety net every request passes (security.py).

Views stay thin: they call the services of the other sub-packages, reached through
configapp.components.
May import: the kernel, providers, keys, access, catalog, chat, configapp.components.
"""
