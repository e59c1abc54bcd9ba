"""A thread that reads the database directly while a load runs, checking its invariants."""

from __future__ import annotations

import threading

from tests.reliability.store import Store


class Sampler(threading.Thread):
    """Samples (default models, most active keys of a provider) until stopped.

    At every sample: at most one active key per provider, at most one default model, and,
    once a default model has been seen, exactly one.
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
                defaults, most_active = self.store.invariants()
            except Exception as error:  # a reader that fails is reported, not fatal
                self.errors.append(f"{type(error).__name__}: {error}"[:200])
            else:
                self.check(defaults, most_active)
            self._halt.wait(self.interval_s)

    def check(self, defaults: int, most_active: int) -> None:
        self.samples += 1
        if most_active > 1:
            self.violations.append(f"sample {self.samples}: {most_active} active keys "
                                   "for one provider")
        if defaults > 1 or (self._seen_default and defaults != 1):
            self.violations.append(f"sample {self.samples}: {defaults} default models")
        self._seen_default = self._seen_default or defaults == 1

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._halt.set()
        self.join(timeout=10)
        self.store.dispose()
