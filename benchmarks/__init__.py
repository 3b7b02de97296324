"""Benchmarks for bbws-mail; run with ``nox -s bench`` or ``python -m benchmarks``."""
