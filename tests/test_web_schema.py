"""Property-based tests of the HTTP API against its own OpenAPI schema (schemathesis): whatever
parameters the schema allows — and the invalid ones schemathesis derives — no answer is a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.test_web_hub import ServerThread
from tests.test_web_jobs import archive  # noqa: F401 - the module-scoped archive fixture

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def live(archive: Path) -> Iterator[ServerThread]:  # noqa: F811 - the imported fixture
    from hf_ipfs_scraper.web.app import create_app

    with ServerThread(create_app(archive)) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(live: ServerThread) -> Any:
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: Any, live: ServerThread) -> None:
    response = case.call(base_url=live.url, timeout=30)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} {case.query}: {response.status_code} {response.text[:300]}"
