"""Fixtures the hardening tests share with the measurement tests: the local streaming server and fake NVML."""

from tests.measure.conftest import fake_nvml, stub

__all__ = ["fake_nvml", "stub"]
