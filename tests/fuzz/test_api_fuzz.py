"""Schemathesis against /api/v1/openapi.json: every operation, a few thousand generated
requests (valid and invalid), as an admin; the only acceptable failure is a 4xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from dispatch.users import create_user

from ..dispatch.factories import volunteer

EXAMPLES_PER_OPERATION = 150


@pytest.mark.slow
def test_no_generated_request_makes_a_server_error(app):
    # A few volunteers so the matching and incident paths do real work under fuzzing.
    for km in (1, 3, 8):
        volunteer(km, skills=("first_aid", "water_rescue"))
    _, token = create_user("fuzz-admin@test.local", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    tried = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def no_server_error(case):
            nonlocal tried
            tried += 1
            response = case.call(headers={**(case.headers or {}), **headers})
            assert response.status_code < 500, (
                f"{operation.label}: {response.status_code} for {case.body!r} {case.query!r}\n{response.text[:500]}"
            )

        no_server_error()
    assert tried >= 1000
