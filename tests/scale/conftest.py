import pytest
from optional_deps import optional_import


@pytest.fixture(scope="session")
def cluster():
    """A two-worker LocalCluster in separate processes (shared by the distributed tests)."""
    distributed = optional_import("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cl:
        yield cl
