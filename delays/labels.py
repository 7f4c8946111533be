"""How the target statuses (delays.rules.STATUSES) read for the teams: the back office's filters
and badges, its downloads and the weekly report's file say the same words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from delays import rules

STATUS_LABELS = {
    rules.STATUS_ON_TRACK: _("Dans les temps"),
    rules.STATUS_AT_RISK: _("À risque"),
    rules.STATUS_LATE: _("Objectif dépassé"),
    rules.STATUS_MET: _("Objectif tenu"),
    rules.STATUS_MISSED: _("Objectif manqué"),
    rules.STATUS_CLOSED: _("Close sans mise à disposition"),
}
