"""The applicant team's writes on what the public directory publishes (access_requests.publication).

No change of state, so no event row: the texts are the dossier's content, like a draft's.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from access_requests import publication
from access_requests.exceptions import InvalidInput, NotNow
from access_requests.models import AccessRequest
from access_requests.services.core import acting_role, load_for_update, text
from access_requests.workflow import Role

_URL = URLValidator(schemes=["https", "http"])


def _team_member(request: AccessRequest, actor) -> None:
    if actor is None:
        raise TypeError("an explicit actor is required")
    acting_role(request, actor, {Role.APPLICANT}, acting_as={Role.APPLICANT})


def set_public_summary(*, request_id: int, actor, public_summary: str) -> AccessRequest:
    """The applicant's team writes the summary the directory publishes, until the decision."""
    with transaction.atomic():
        request = load_for_update(request_id)
        _team_member(request, actor)
        if not publication.summary_editable(state=request.state, public=publication.is_public(request.pk)):
            raise NotNow(_("Le résumé public ne se modifie plus : il est publié tel qu'il était à l'autorisation "
                           "de la demande (ou la demande est close)."))
        request.public_summary = text(public_summary, _("résumé public"), required=False,
                                      max_length=publication.PUBLIC_SUMMARY_MAX_LENGTH)
        request.save(update_fields=["public_summary", "updated_at"])
    return request


def set_results_url(*, request_id: int, actor, results_url: str) -> AccessRequest:
    """The applicant's team adds (or changes, or removes) the link to the published results, once the
    request is public."""
    with transaction.atomic():
        request = load_for_update(request_id)
        _team_member(request, actor)
        if not publication.results_editable(public=publication.is_public(request.pk)):
            raise NotNow(_("Le lien vers les résultats s'ajoute une fois la demande autorisée."))
        url = text(results_url, _("lien vers les résultats publiés"), required=False,
                   max_length=publication.RESULTS_URL_MAX_LENGTH)
        if url:
            try:
                _URL(url)
            except ValidationError:
                raise InvalidInput(_("Le lien vers les résultats doit être une adresse web (https://…).")) from None
        request.results_url = url
        request.save(update_fields=["results_url", "updated_at"])
    return request
