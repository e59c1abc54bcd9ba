"""Mixed load on gunicorn with 4 workers: 2,000 requests from 8 clients at once, on SQLite
and on PostgreSQL. No 5xx, no "database is locked", the invariants at every sample of the
database, and every write answered 2xx there at the end (CONFIGAPP_LOAD_REQUESTS and
CONFIGAPP_LOAD_CLIENTS scale it: `make reliability`)."""

from __future__ import annotations

import os
import time

from tests.reliability.load import MIXED, check_ledgers, owned_models, run_clients, summary
from tests.reliability.sampler import Sampler

REQUESTS = int(os.environ.get("CONFIGAPP_LOAD_REQUESTS", "2000"))
CLIENTS = int(os.environ.get("CONFIGAPP_LOAD_CLIENTS", "8"))
WORKERS = 4
SEED = os.environ.get("CONFIGAPP_LOAD_SEED", "configapp")


def test_mixed_load_keeps_the_invariants_and_every_acknowledged_write(database, launch):
    server = launch(database, workers=WORKERS)
    models = owned_models(server.url, CLIENTS)
    before = database.store.revision()
    started = time.monotonic()
    with Sampler(database.store) as sampler:
        team = run_clients(server.url, CLIENTS, REQUESTS, SEED, MIXED, models)
    seconds = time.monotonic() - started
    figures = summary(team)
    log = server.log()
    print(f"\nload: {figures['requests']} requests from {CLIENTS} clients on {WORKERS} "
          f"workers in {seconds:.1f} s; statuses {figures['by_status']}; 5xx "
          f"{figures['5xx']}; no answer {figures['no_answer']}; acknowledged writes "
          f"{figures['acknowledged_writes']}; 'database is locked' "
          f"{log.count('database is locked')}; {sampler.samples} samples, "
          f"{len(sampler.violations)} violations")
    assert figures["requests"] == REQUESTS
    assert figures["5xx"] == 0 and figures["no_answer"] == 0
    assert figures["unexpected"] == []
    assert log.count("database is locked") == 0
    assert "Traceback" not in log
    assert sampler.errors == [] and sampler.violations == []
    assert sampler.samples > 0
    assert check_ledgers(database.store, team, before) == []
    assert database.store.integrity() in ("ok", "n/a")
