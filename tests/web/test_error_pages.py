"""Errors on pages are pages in the reader's language; programs keep the JSON error shape."""

from __future__ import annotations

import pytest

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("language", "heading", "text"),
    [("ru", "Не найдено", "Такой страницы или записи нет."), ("kk", "Табылмады", None), ("en", "Not found", None)],
)
def test_a_missing_page_is_a_page_in_the_language(client, language, heading, text):
    response = client.get(f"/console/no-such-page?lang={language}", headers=HTML)
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert heading in page
    if text:
        assert text in page
    assert '"error"' not in page


def test_a_body_too_large_for_a_page_is_a_page(client):
    response = client.post(
        "/login?lang=ru",
        data="x" * (2 * 1024 * 1024),
        headers={**HTML, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "слишком" in response.get_data(as_text=True).lower()


def test_a_wrong_method_on_a_page_is_a_page_with_allow(client):
    response = client.delete("/login", headers=HTML)
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/sms/no-such-hook", "/healthz/x"])
def test_programs_keep_the_json_error_shape(client, path):
    response = client.get(path, headers=HTML)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"


def test_a_client_that_wants_json_gets_json_anywhere(client):
    response = client.get("/console/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "NOT_FOUND"
