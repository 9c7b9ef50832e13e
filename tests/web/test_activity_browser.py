"""The register's download in a real browser: set a period on the console's activity page, press
Download CSV, and the file that arrives has the BOM, the header and the rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.users import create_user
from tests.dispatch.factories import volunteer
from tests.dispatch.test_activity_exports import record

from .conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def test_download_csv_from_the_console(open_page, tmp_path):
    person = volunteer(1, name="Әсел Құнанбаева", organization="Қызыл Жарты Ай")
    record(person, utcnow() - timedelta(days=2), 90)
    record(person, utcnow() - timedelta(days=90), 60)  # before the period chosen below
    create_user("exports@test.local", "coordinator", password=PASSWORD)
    db.session.commit()

    page, _ = open_page(locale="kk-KZ")
    page.goto("/login?lang=kk")
    page.locator("#email").fill("exports@test.local")
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    page.goto("/console/activity")
    page.locator("#f-from").fill((utcnow() - timedelta(days=30)).date().isoformat())
    page.get_by_role("button", name="Көрсету").click()
    expect(page.locator("#overall")).to_contain_text("1,5")
    screenshot(page, "activity-totals")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="CSV жүктеп алу").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".csv")
    path = tmp_path / "activity.csv"
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,volunteer_id,volunteer_name,organization,region")
    assert len(lines) == 2 and "Әсел Құнанбаева" in lines[1] and "Қызыл Жарты Ай" in lines[1]
