"""Shared test fixtures and hypothesis profile.

Hypothesis runs derandomized (the same examples every run) so CI is reproducible; each
distinct HTMP parameter pair costs about a second to tabulate, so example counts are small.
"""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "htmp", max_examples=12, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("htmp")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA
