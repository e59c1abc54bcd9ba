"""A thread that reads the database directly while a load runs, checking its invariants."""

from __future__ import annotations

import threading

from tests.reliability.store import Store


class Sampler(threading.Thread):
    """Samples the number of default models until stopped: once a default model has been
    seen, there must be one at every sample (a swap of the default is one transaction).

    "At most one default" and "at most one active key per provider" are not sampled: the
    unique indexes make them impossible to see broken, so they are tested where they are
    enforced (tests/integration/test_storage_rules.py).
    """

    def __init__(self, store: Store, interval_s: float = 0.01) -> None:
        super().__init__(name="invariant-sampler", daemon=True)
        self.store = store
        self.interval_s = interval_s
        self.samples = 0
        self.violations: list[str] = []
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._seen_default = False

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                defaults = self.store.default_models()
            except Exception as error:  # a reader that fails is reported, not fatal
                self.errors.append(f"{type(error).__name__}: {error}"[:200])
            else:
                self.check(defaults)
            self._halt.wait(self.interval_s)

    def check(self, defaults: int) -> None:
        self.samples += 1
        if self._seen_default and defaults == 0:
            self.violations.append(f"sample {self.samples}: no default model")
        self._seen_default = self._seen_default or defaults == 1

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._halt.set()
        self.join(timeout=10)
        self.store.dispose()
