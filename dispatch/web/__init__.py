"""Web pages: the public status board (`/`), the coordinators' console (`/console`), the SMS
simulator (`/console/simulator`, console backend only) and signing in (`/login`).

Pages call the same use cases as the JSON API (the pre-send preview is dispatch/preview.py);
the read-only queries they need live in dispatch/dashboard.py. Templates and static files (no inline script: see security.py) are here.
"""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from . import (  # noqa: F401  (their routes attach to the console blueprint)
        activity_pages,
        organizations,
        people,
        people_dashboards,
        people_form,
        registry,
        users_admin,
    )
    from .account import register_account
    from .console import bp as console_bp
    from .errors import register_page_errors
    from .i18n import register_i18n
    from .public import register_public
    from .reply import register_reply
    from .security import register_security
    from .simulator import bp as simulator_bp
    from .simulator import enabled as simulator_enabled
    from .verify import register_verify

    register_security(app)
    register_page_errors(app)
    register_i18n(app)
    register_account(app)
    register_public(app)
    register_reply(app)
    register_verify(app)
    app.register_blueprint(console_bp)
    app.register_blueprint(simulator_bp)
    app.jinja_env.globals["simulator_enabled"] = simulator_enabled
