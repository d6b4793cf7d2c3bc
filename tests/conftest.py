import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile(os.environ.get("SYMGRAD_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def c_cache(tmp_path_factory, monkeypatch):
    """One library cache for the test run (compiles are the slow part), never the user's."""
    d = tmp_path_factory.getbasetemp() / "sg-c-cache"
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(d))
    return d
