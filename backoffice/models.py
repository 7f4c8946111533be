"""What the back office keeps of its own: a reviewer's saved queue filters.

The back office owns the queue's filter form (forms.QueueFilterForm), so a saved filter lives
here, beside it: its query is that form's normalised querystring, and nothing else reads it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 100
QUERY_MAX_LENGTH = 2000


class SavedFilter(models.Model):
    """A reviewer's named set of queue filters; reopened by its link on the queue page.

    ``query`` is the querystring built from the validated filter form only (forms.normalised_query):
    the fields in the form's order, empty ones left out, never a page number. A value that no longer
    validates (a dataset removed from the catalogue) is ignored when the filter is reopened, and the
    page says so.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(_("nom"), max_length=NAME_MAX_LENGTH)
    query = models.CharField(_("filtres"), max_length=QUERY_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("enregistré le"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_filter_name_once_per_user")]
        verbose_name = _("filtre enregistré")
        verbose_name_plural = _("filtres enregistrés")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.name}"
