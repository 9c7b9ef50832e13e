"""The skill catalogue: codes, their bit in Volunteer.skill_mask, and names in kk, ru and en."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .errors import ValidationFailed
from .extensions import db
from .models import Skill


class UnknownSkill(ValidationFailed):
    """A skill code that is not in the catalogue; `field` names the input that carried it."""

    def __init__(self, code: str, field: str):
        super().__init__(
            f"Unknown skill {code!r}; GET /api/v1/skills lists them.", {"fields": {field: "unknown skill"}}
        )
        self.skill, self.field = code, field


@dataclass(frozen=True)
class SkillCatalogue:
    bits: dict[str, int]  # code -> bit
    names: dict[str, dict[str, str]]  # code -> {language: name}

    @classmethod
    def load(cls) -> SkillCatalogue:
        """The catalogue, read once per transaction: a reply read it three times (which need
        to fill, the confirmation, the wave top-up), one query each, inside the incident's lock."""
        memo = db.session.info.get("skill_catalogue")
        transaction = db.session().get_transaction()
        if memo is not None and transaction is not None and memo[0] is transaction:
            return memo[1]
        skills = db.session.scalars(select(Skill).order_by(Skill.bit)).all()
        catalogue = cls(
            bits={s.code: s.bit for s in skills},
            names={s.code: {"en": s.name_en, "ru": s.name_ru, "kk": s.name_kk} for s in skills},
        )
        db.session.info["skill_catalogue"] = (db.session().get_transaction(), catalogue)
        return catalogue

    def unknown(self, codes: list[str]) -> list[str]:
        return [code for code in codes if code not in self.bits]

    def bit(self, code: str | None, field: str) -> int | None:
        """The bit of a skill code (None for "any skill"); an unknown code is an UnknownSkill."""
        if code is None:
            return None
        if code not in self.bits:
            raise UnknownSkill(code, field)
        return self.bits[code]

    def mask_of(self, codes: list[str]) -> int:
        """The bit set of known codes; callers check `unknown()` first."""
        mask = 0
        for code in codes:
            mask |= 1 << self.bits[code]
        return mask

    def codes_of(self, mask: int) -> list[str]:
        return [code for code, bit in self.bits.items() if mask >> bit & 1]

    def name(self, code: str, language: str) -> str:
        return self.names[code].get(language) or self.names[code]["en"]
