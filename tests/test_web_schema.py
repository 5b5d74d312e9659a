"""Property-based tests of the HTTP API against its own OpenAPI schema (schemathesis): whatever
parameters the schema allows — and the invalid ones schemathesis derives — no answer is a 5xx.

Driven through schemathesis's Python API with hypothesis directly (not its pytest plugin, which
depends on pytest internals that change between releases); examples are derandomized, so CI runs
the same cases every time."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.test_web_hub import ServerThread
from tests.test_web_jobs import archive  # noqa: F401 - the module-scoped archive fixture


@pytest.fixture(scope="module")
def live(archive: Path) -> Iterator[ServerThread]:  # noqa: F811 - the imported fixture
    from hf_ipfs_scraper.web.app import create_app

    with ServerThread(create_app(archive)) as running:
        yield running


def test_no_operation_answers_a_server_error(live: ServerThread) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the Hub routes of three types, jobs, the archive's API, the page
    failures: list[str] = []
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=live.url, timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.status_code}")

        check()
    assert calls >= 5 * len(operations), calls  # the examples really ran
    assert not failures, failures[:10]
