"""The coordinators' console: incidents (list, post with a preview, the live incident page,
close / cancel / broadcast). Routes are thin: read the form, one use case, render.

Every route of this blueprint needs a signed-in coordinator (checked once, before any view).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from pydantic import ValidationError
from sqlalchemy import or_

from notifications.texts import render as render_sms

from .. import (
    channels,
    dashboard,
    gazetteer,
    geocoding,
    incident_changes,
    incidents,
    preview,
    provider_health,
    responders,
    standby,
    volunteers,
    warnings_in,
)
from ..errors import DispatchError
from ..gazetteer import region_for
from ..models import INCIDENT_KINDS, SEVERITIES
from ..presenters import alert_counts
from ..schemas import BroadcastIn, DispatchIn, IncidentIn, IncidentPatch, max_length
from ..skills import UnknownSkill
from .account import login_manager
from .i18n import current_language, error_message, field_problem, remember_language, skill_names
from .incident_edit import form_of, read_edit_form
from .incident_form import NEED_ROWS, empty_form, read_dispatch_form, read_incident_form
from .list_filters import choices as filter_choices
from .list_filters import incident_filter
from .live import conditional
from .pages import map_settings
from .scoping import manages, reader_scope, require_manage, scope_label, shown_picture

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")


@bp.before_request
def coordinators_only():
    remember_language()
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role("coordinator"):
        return render_template(
            "error.html", status=403, message=_("The console is for coordinators; your account is a viewer.")
        ), 403
    return None


@bp.errorhandler(DispatchError)
def dispatch_error(exc: DispatchError):
    return render_template("error.html", status=exc.status, message=error_message(exc.code, exc.message)), exc.status


def by() -> object:
    """The signed-in User, as the use cases take it."""
    return current_user.user


def _incident_to_manage(incident_id: int):
    """The incident, or 403 OUT_OF_SCOPE (a page in the user's language) when the signed-in user's
    scope does not hold its region: checked before anything changes."""
    return require_manage(incidents.get_incident(incident_id))


@bp.app_context_processor
def reader_scope_label() -> dict:
    """The console's header says whose data the user sees: "Whole country" or their regions."""
    if not (request.blueprint in ("console", "simulator", "account") and current_user.is_authenticated):
        return {}
    scope = reader_scope()
    return {"scope_label": scope_label(scope), "users_admin": current_user.has_role("admin") and scope.national}


def _concerns() -> list:
    """Responders in question whom this user may see: of the incidents they manage, or their own
    volunteers wherever they responded."""
    scope = reader_scope()
    if scope.national:
        return responders.concerns()
    return responders.concerns(where=or_(*_present(scope.incident_clause(), scope.volunteer_clause())))


def _present(*clauses):
    return [clause for clause in clauses if clause is not None]


@bp.get("/")
def incident_list():
    region, nothing, chosen = incident_filter(request.args)
    found, counts = dashboard.recent_incidents(region=region, nothing=nothing)
    return render_template("console/incidents.html", incidents=found, counts=counts, chosen=chosen, **filter_choices())


@bp.app_context_processor
def safety_concerns() -> dict:
    """Every console page shows responders whose safety is in question (welfare check overdue,
    HELP from the scene): the banner of base.html."""
    if not (request.blueprint in ("console", "simulator", "account") and current_user.is_authenticated):
        return {}
    if not current_user.has_role("coordinator"):
        return {}
    return {"concerns": _concerns()}


@bp.get("/concerns/live")
def concerns_live():
    return conditional(render_template("console/_concerns.html", concerns=_concerns()), "text/html")


@bp.post("/incidents/<id:incident_id>/roll-call")
def roll_call(incident_id: int):
    _incident_to_manage(incident_id)
    try:
        call = responders.start_roll_call(incident_id, by())
    except responders.NobodyOnScene as exc:
        flash(error_message(exc.code, exc.message), "error")
        return redirect(url_for("console.incident", incident_id=incident_id))
    flash(
        ngettext(
            "Roll call: %(num)d responder asked to answer SAFE.",
            "Roll call: %(num)d responders asked to answer SAFE.",
            len(call.asked),
        )
    )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.get("/live")
def incidents_live():
    region, nothing, _chosen = incident_filter(request.args)
    found, counts = dashboard.recent_incidents(region=region, nothing=nothing)
    return conditional(render_template("console/_incidents_live.html", incidents=found, counts=counts), "text/html")


def _form_page(form, preview=None, status: int = 200):
    extent = dashboard.registry_extent()
    bounds = ((extent[0], extent[1]), (extent[2], extent[3])) if extent else None
    page_data = {"map": map_settings(bounds), "places": {"url": url_for("console.places_json")}}
    limits = {name: max_length(IncidentIn, name) for name in ("title", "description")}
    return render_template(
        "console/new_incident.html",
        form=form,
        preview=preview,
        kinds=INCIDENT_KINDS,
        severities=SEVERITIES,
        skills=skill_names(),
        page_data=page_data,
        limits=limits,
    ), status


@bp.get("/places.json")
def places_json():
    """The incident form's place search: GET /api/v1/places for a signed-in page, in its language."""
    return {"items": gazetteer.find_places(request.args.get("q", ""), 8, current_language())}


@bp.get("/incidents/new")
def new_incident():
    return _form_page(empty_form())


@bp.post("/incidents/new")
def post_incident():
    form = read_incident_form(request.form)
    if form.data is None:
        return _form_page(form, status=400)
    if not reader_scope().holds_region(region_for(form.data.lat, form.data.lon, form.data.region)):
        # Posted only where the user's scope holds the point's region: nothing previewed or sent.
        form.errors["lat"] = error_message("OUT_OF_SCOPE")
        return _form_page(form, status=403)
    try:
        if request.form.get("action") != "send" or request.form.get("previewed") != form.digest:
            if request.form.get("action") == "send":
                flash(_("The form changed after the preview: check the preview again, then send."), "error")
            return _form_page(form, preview=preview.preview_incident(form.data))
        point, place = geocoding.resolve(form.data.lat, form.data.lon, None)
        placement = incidents.Placement(point.lat, point.lon, place, None)
        incident = incidents.report_incident(form.data, placement, reported_by=by())
    except UnknownSkill as exc:
        # Only a crafted form gets here: the page offers the catalogue's skills alone.
        form.errors["needs"] = _("%(code)s is not a skill in the catalogue.", code=exc.skill)
        return _form_page(form, status=exc.status)
    except DispatchError as exc:
        form.errors.update(
            {k: field_problem(v) for k, v in exc.details.get("fields", {}).items()}
            or {"lat": error_message(exc.code, exc.message)}
        )
        return _form_page(form, status=exc.status)
    flash(_("Incident posted: alerting has started. Reply code %(code)s.", code=incident.code))
    return redirect(url_for("console.incident", incident_id=incident.id))


@bp.get("/incidents/<id:incident_id>")
def incident(incident_id: int):
    return _incident_page(incident_id)


def _incident_page(incident_id: int, status: int = 200):
    picture = shown_picture(dashboard.incident_picture(incident_id))
    page_data = {
        "map": map_settings(),
        "incident": {
            "lat": picture.incident.lat,
            "lon": picture.incident.lon,
            "radius_km": picture.incident.current_radius_km,
            "area": picture.incident.area_geojson,
        },
    }
    page = render_template(
        "console/incident.html",
        p=picture,
        skills=skill_names(),
        page_data=page_data,
        max_broadcast=max_length(BroadcastIn, "body"),
        need_rows=NEED_ROWS,
        standby_notified=standby.notified_count(incident_id),
        history=incident_changes.change_history(incident_id),
        manages=manages(picture.incident),
    )
    # The page lists the alerted volunteers with their phone numbers: one audit event per view
    # (its live refreshes only redraw what this view showed, and are not counted again).
    volunteers.note_read(
        f"user:{by().id}", f"incident:{incident_id}", count=sum(1 for a in picture.alerts if a["phone"])
    )
    return page, status


@bp.get("/incidents/<id:incident_id>/live")
def incident_live(incident_id: int):
    picture = shown_picture(dashboard.incident_picture(incident_id))
    html = render_template(
        "console/_incident_live.html", p=picture, skills=skill_names(), manages=manages(picture.incident)
    )
    return conditional(html, "text/html")


@bp.route("/incidents/<id:incident_id>/close", methods=["GET", "POST"])
def close_incident(incident_id: int):
    return _end_incident(incident_id, "closed")


@bp.route("/incidents/<id:incident_id>/cancel", methods=["GET", "POST"])
def cancel_incident(incident_id: int):
    return _end_incident(incident_id, "cancelled")


def _end_incident(incident_id: int, how: str):
    """Ending texts every volunteer still involved and cannot be undone, so it takes two steps:
    a page that asks, and its button (confirm=yes). Anything else, a stray click or a crafted
    post without confirm=yes, gets the question and changes nothing."""
    _incident_to_manage(incident_id)
    if request.method == "POST" and request.form.get("confirm") == "yes":
        incidents.end_incident(incident_id, how, by())
        if how == "closed":
            flash(_("Incident closed: responders and pending volunteers are being told by SMS."))
        else:
            flash(_("Incident cancelled: responders and pending volunteers are being told by SMS."))
        return redirect(url_for("console.incident", incident_id=incident_id))
    incident = incidents.get_incident(incident_id)
    if not incident.is_open and incident.status != "draft":
        return redirect(url_for("console.incident", incident_id=incident_id))
    counts = alert_counts([incident.id])[incident.id]
    told = counts["accepted"] + counts["sent"] + counts["delivered"]
    sms = render_sms(how, current_language(), code=incident.code, title=incident.title, drill=incident.drill)
    return render_template("console/end_incident.html", i=incident, how=how, told=told, sms=sms)


@bp.post("/incidents/<id:incident_id>/broadcast")
def broadcast(incident_id: int):
    _incident_to_manage(incident_id)
    try:
        data = BroadcastIn.model_validate({"body": request.form.get("body", ""), "to": request.form.get("to", "")})
    except ValidationError:
        flash(
            _(
                "Write a message (up to %(max)d characters) and choose who gets it. Nothing was sent.",
                max=max_length(BroadcastIn, "body"),
            ),
            "error",
        )
        return _incident_page(incident_id, status=400)
    sent = incidents.broadcast(incident_id, data.body, data.to, by())
    flash(ngettext("Message queued for %(num)d volunteer.", "Message queued for %(num)d volunteers.", sent))
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.post("/incidents/<id:incident_id>/dispatch")
def dispatch_draft(incident_id: int):
    """A warning's draft goes out with needs in one step: alerting starts as for a posted incident."""
    _incident_to_manage(incident_id)
    data: DispatchIn | None = read_dispatch_form(request.form)
    if data is None:
        flash(_("Give at least one need with a whole number of people, and a radius in km. Nothing was sent."), "error")
        return _incident_page(incident_id, status=400)
    try:
        incident = warnings_in.dispatch_draft(incident_id, data, by())
    except UnknownSkill as exc:
        flash(_("%(code)s is not a skill in the catalogue.", code=exc.skill), "error")
        return _incident_page(incident_id, status=exc.status)
    flash(_("Warning dispatched: alerting has started. Reply code %(code)s.", code=incident.code))
    return redirect(url_for("console.incident", incident_id=incident.id))


def _new_region(incident, patch: IncidentPatch) -> str | None | bool:
    """The region the incident would have after the patch, or False when it keeps its own."""
    given = patch.model_fields_set
    if "region" not in given and "lat" not in given:
        return False
    lat = patch.lat if "lat" in given else incident.lat
    lon = patch.lon if "lon" in given else incident.lon
    return region_for(lat, lon, patch.region if "region" in given else None)


def _editable(incident) -> bool:
    return incident.is_open or incident.status == "draft"


def _edit_page(incident, form, status: int = 200):
    limits = {name: max_length(IncidentPatch, name) for name in ("title", "description", "meeting_point")}
    return render_template(
        "console/edit_incident.html",
        i=incident,
        form=form,
        severities=SEVERITIES,
        skills=skill_names(),
        limits=limits,
    ), status


@bp.get("/incidents/<id:incident_id>/edit")
def edit_incident(incident_id: int):
    incident = _incident_to_manage(incident_id)
    if not _editable(incident):
        raise incidents.IncidentEnded(f"Incident {incident_id} is already {incident.status}.")
    return _edit_page(incident, form_of(incident))


@bp.post("/incidents/<id:incident_id>/edit")
def save_incident(incident_id: int):
    """Only what differs from the incident is sent; waves, stand-downs and texts follow as for PATCH."""
    incident = _incident_to_manage(incident_id)
    if not _editable(incident):
        raise incidents.IncidentEnded(f"Incident {incident_id} is already {incident.status}.")
    form = read_edit_form(request.form, incident)
    if form.errors:
        return _edit_page(incident, form, status=400)
    if form.data is None:
        flash(_("Nothing was changed."))
        return redirect(url_for("console.incident", incident_id=incident_id))
    moved_to = _new_region(incident, form.data)
    if moved_to is not False and not reader_scope().holds_region(moved_to):
        # Moved (or its region set) outside the scope: refused, nothing changed.
        form.errors["lat"] = error_message("OUT_OF_SCOPE")
        return _edit_page(incident, form, status=403)
    try:
        place = geocoding.resolve(form.data.lat, form.data.lon, None)[1] if form.data.lat is not None else None
        outcome = incident_changes.change_incident(incident_id, form.data, by(), place)
    except DispatchError as exc:  # checked before anything changed: nothing did
        form.errors.update(
            {k: field_problem(v) for k, v in exc.details.get("fields", {}).items()}
            or {"title": error_message(exc.code, exc.message)}
        )
        return _edit_page(incidents.get_incident(incident_id), form, status=exc.status)
    flash(
        _(
            "Incident changed. New alerts: %(alerted)d. Stood down: %(stood_down)d. Told the new place: %(told)d.",
            alerted=outcome.alerted,
            stood_down=outcome.stood_down,
            told=outcome.told_new_place,
        )
    )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.post("/incidents/<id:incident_id>/standby")
def standby_notices(incident_id: int):
    _incident_to_manage(incident_id)
    outcome = standby.notify_standby(incident_id, by())
    flash(
        _(
            "Standby notices queued: %(notified)d. Already told: %(already)d. "
            "Not told during their quiet hours: %(skipped)d.",
            notified=outcome.notified,
            already=outcome.already,
            skipped=outcome.skipped_quiet_hours,
        )
    )
    if outcome.remaining:
        flash(
            _(
                "%(remaining)d more are yet to be told (one press tells at most %(max)d): press again to go on.",
                remaining=outcome.remaining,
                max=standby.MAX_NOTICES_PER_CALL,
            )
        )
    return redirect(url_for("console.incident", incident_id=incident_id))


@bp.get("/channels")
def channel_health():
    """Each provider's health: skipped for new call-outs or not, failures in a row, the last
    success and failure (with the error), the delivery ratio of the last hour."""
    providers = provider_health.snapshot(channels.configured(), with_errors=True)
    return render_template(
        "console/channels.html",
        providers=providers,
        failures_to_skip=provider_health.FAILURES_TO_SKIP,
        cool_down_s=provider_health.COOL_DOWN_S,
        failover_after_s=current_app.config["FAILOVER_AFTER_S"],
    )
