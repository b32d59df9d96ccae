"""Benchmarks (``python3 dev.py bench``) and the soak test (``python3 dev.py soak``).

Every figure is a ratio measured in the same run (virtual seconds per wall second, a share of
a ceiling measured beside it, a makespan over the single-conversation time), because absolute
timings on a shared machine are noise. Loopback only; every loop is bounded.
"""
