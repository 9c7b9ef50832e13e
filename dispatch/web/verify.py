"""The public page that verifies a certificate, `/verify/<code>` (the QR code on the PDF points
here): name, organisation, hours and period, in the browser's language, and whether the register
behind it changed after issue. Nothing else about the volunteer (no phone, birth date or address).

The code in the URL is the credential: the page is never cached or sent on in a Referer, and an
address that tries too many unknown codes is refused for a while (dispatch/certificates.py).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _

from .. import certificates
from .i18n import remember_language

bp = Blueprint("verify", __name__, template_folder="templates")
bp.before_request(remember_language)


@bp.after_request
def private_headers(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/verify/<code>")
def verify(code: str):
    try:
        certificates.check_address(request.remote_addr)
    except certificates.TooManyUnknownCodes as exc:
        message = _("Too many unknown codes were tried from your network. Try again in 15 minutes.")
        return render_template("public/verify.html", found=None, message=message), 429, exc.headers()
    found = certificates.verify(code)
    if found is None:
        certificates.record_unknown(request.remote_addr)
        message = _("No certificate has this code. Check that it was typed exactly as printed.")
        return render_template("public/verify.html", found=None, message=message), 404
    return render_template("public/verify.html", found=found, hours=lambda h: format_decimal(h, "#,##0.##"))


def register_verify(app: Flask) -> None:
    app.register_blueprint(bp)
