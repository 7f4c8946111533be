"""Writes of the roadmap's records that the HDH secretariat keeps: new partnerships with data
infrastructures and exchanges with civil society (``delays.indicators`` counts them).

Same shape as every service: keyword-only arguments, the ``actor`` explicit, one transaction. Only
the secretariat and administrators record or delete them; anyone else is refused and nothing is
written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests.roles import staff_roles
from access_requests.workflow import Role
from delays.models import CivilSocietyExchange, ExchangeKind, Partnership
from hdh_access.lib.errors import ActionNotPermitted, InvalidInput, NotFound

TEXT_MAX_LENGTH = 200


def may_record_indicators(user: Any) -> bool:
    """The secretariat and administrators keep the roadmap's records."""
    return bool(staff_roles(user) & {Role.SECRETARIAT, Role.ADMINISTRATOR})


def _check(actor: Any) -> None:
    if not may_record_indicators(actor):
        raise ActionNotPermitted(_("Seul le secrétariat du HDH enregistre les partenariats et les échanges avec la "
                                   "société civile."))


def _text(value: str, *, label: str, required: bool = True) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise InvalidInput(_("Indiquez : %(field)s.") % {"field": label})
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidInput(_("« %(field)s » ne dépasse pas %(n)d caractères.") % {"field": label, "n": TEXT_MAX_LENGTH})
    return text


def _date(value: dt.date | None, *, label: str) -> dt.date:
    if not isinstance(value, dt.date):
        raise InvalidInput(_("Indiquez : %(field)s.") % {"field": label})
    return value


def record_partnership(*, actor: Any, name: str, partner: str, signed_on: dt.date, notes: str = "") -> Partnership:
    """Record a new partnership with a data infrastructure, signed on ``signed_on``."""
    _check(actor)
    with transaction.atomic():
        return Partnership.objects.create(
            name=_text(name, label=_("intitulé")), partner=_text(partner, label=_("partenaire")),
            signed_on=_date(signed_on, label=_("date de signature")), notes=(notes or "").strip(),
            recorded_by=actor, recorded_at=timezone.now())


def delete_partnership(*, actor: Any, partnership_id: int) -> str:
    """Delete a partnership recorded by mistake; returns its name."""
    _check(actor)
    with transaction.atomic():
        row = Partnership.objects.select_for_update().filter(pk=partnership_id).first()
        if row is None:
            raise NotFound(_("Partenariat introuvable."))
        name = row.name
        row.delete()
        return name


def record_exchange(*, actor: Any, held_on: dt.date, title: str, kind: str = ExchangeKind.MEETING,
                    audience: str = "") -> CivilSocietyExchange:
    """Record an exchange with civil society held on ``held_on``."""
    _check(actor)
    if kind not in ExchangeKind.values:
        raise InvalidInput(_("Type d'échange inconnu."))
    with transaction.atomic():
        return CivilSocietyExchange.objects.create(
            held_on=_date(held_on, label=_("date")), title=_text(title, label=_("intitulé")), kind=kind,
            audience=_text(audience, label=_("public"), required=False), recorded_by=actor,
            recorded_at=timezone.now())


def delete_exchange(*, actor: Any, exchange_id: int) -> str:
    """Delete an exchange recorded by mistake; returns its title."""
    _check(actor)
    with transaction.atomic():
        row = CivilSocietyExchange.objects.select_for_update().filter(pk=exchange_id).first()
        if row is None:
            raise NotFound(_("Échange introuvable."))
        title = row.title
        row.delete()
        return title
