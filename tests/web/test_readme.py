"""The README's API examples, run as written (bash, curl, python3) against the app on a loopback
port: they work, and they act only on what they create, never on an id that belongs to someone
else's incident or to the demo volunteer the next example answers as."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from config import PROJECT_ROOT
from dispatch.extensions import db
from dispatch.models import Incident, Volunteer
from dispatch.users import create_user
from tests.dispatch.factories import incident, volunteer

README = PROJECT_ROOT / "README.md"


def api_examples() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("With `make run` going, in another terminal")
    block = re.search(r"```bash\n(.*?)```", text[start:], re.DOTALL)
    assert block, "the README's API examples are gone"
    return block.group(1)


@pytest.fixture
def curl() -> str:
    found = shutil.which("curl")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("curl is missing")
        pytest.skip("curl is missing")
    return found


def test_the_api_examples_work_and_touch_only_what_they_make(live_server, app, curl):
    # Made first, so they hold the low ids a copied example with a fixed id would hit.
    theirs = incident(code="901", title="Someone else's incident")
    demo = volunteer(1, phone="+77010000000", name="Demo volunteer")
    theirs_id, demo_id = theirs.id, demo.id
    _user, token = create_user("readme@test.local", "coordinator")
    db.session.commit()  # SQLite: hold no transaction while the server works

    script = api_examples()
    assert script.count("TOKEN=...") == 1
    script = script.replace("TOKEN=...", f"TOKEN={token}")
    env = {
        **os.environ,
        "PORT": str(urlsplit(live_server.url).port),
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"code": "DUPLICATE_PHONE"' not in done.stderr and "Traceback" not in done.stderr

    db.session.expire_all()
    assert db.session.get(Incident, theirs_id).status == "dispatching"
    kept = db.session.get(Volunteer, demo_id)
    assert (kept.status, kept.phone, kept.name) == ("active", "+77010000000", "Demo volunteer")
    theirs_too = db.session.scalars(select(Incident).where(Incident.title == "Ishim embankment flooding")).all()
    assert [i.status for i in theirs_too] == ["closed"]
    registered = db.session.scalar(select(Volunteer).where(Volunteer.name.is_(None), Volunteer.status == "inactive"))
    assert registered is not None and registered.id != demo_id  # the example's volunteer, erased
    assert db.session.scalar(select(Volunteer.phone).where(Volunteer.name == "Нурлан Садыков")) == "+77011112233"
    db.session.commit()


def test_the_readme_points_only_inside_the_repository():
    text = README.read_text(encoding="utf-8")
    assert not re.findall(r"\.\./|/work/", text)
