"""Paths of the repository's sample data and model, shared by the tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_features():
    """The sample's features as models/sample was trained on them."""
    import lookalike

    sample = ROOT / "data" / "sample"
    return lookalike.features(
        sample / "transactions.csv",
        sample / "events.csv",
        sample / "customers.csv",
        as_of="2026-01-01",
    )
