"""configapp's benchmarks: figures as ratios to a baseline measured in the same run.

`python -m bench` (or `make bench`) runs every `bench/bench_*.py` module; each exposes
`run() -> list[dict]` with the keys name, value, unit and optionally baseline, ratio,
target and note. Benchmarks report figures; they are never timed tests.
"""
