"""The region and organisation filters of the console's incident list (?region=, ?organization_id=).
An incident belongs to an organisation's list when it is in the organisation's region (as scopes
read it: dispatch/scopes.py). Unknown values are ignored, as the other list filters do."""

from __future__ import annotations

import re

from geo.regions import REGIONS

from ..dashboard import organizations as all_organizations
from .i18n import current_language


def incident_filter(args) -> tuple[str | None, bool, dict]:
    """(region to list, whether nothing can match, the chosen values for the form and links)."""
    region = args.get("region", "") if args.get("region", "") in REGIONS else ""
    raw = args.get("organization_id", "")
    organization_id = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else None
    chosen = {"region": region, "organization_id": str(organization_id or "")}
    wanted, nothing = region or None, False
    if organization_id is not None:
        found = next((o for o in all_organizations() if o.id == organization_id), None)
        home = found.region if found is not None else None
        if home is None or (wanted is not None and wanted != home):
            nothing = True
        wanted = home
    return wanted, nothing, {k: v for k, v in chosen.items() if v}


def choices() -> dict:
    language = current_language()
    regions = sorted(((code, names.get(language)) for code, names in REGIONS.items()), key=lambda pair: pair[1])
    return {"filter_regions": regions, "filter_organizations": all_organizations()}
