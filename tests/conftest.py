"""Shared test fixtures and hypothesis profile.

Hypothesis runs derandomized (the same examples every run) so CI is reproducible; each distinct
HTMP parameter pair costs 0.02-0.7 s to tabulate, which bounds the example count.
"""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "htmp", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("htmp")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA
