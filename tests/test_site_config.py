"""The DSFR site configuration (the admin's notice banner, mourning mode) is read from the cache on
every page (hdh_access.context_processors.site_config) and forgotten when the admin changes it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from dsfr.models import DsfrConfig

pytestmark = pytest.mark.django_db


def test_notice_shows_changes_and_goes_with_the_configuration(client, django_assert_max_num_queries):
    cache.clear()
    client.get("/")
    with django_assert_max_num_queries(0):  # cached, even when there is no configuration
        assert "Maintenance" not in client.get("/").content.decode()

    config = DsfrConfig.objects.create(language="fr", notice_title="Maintenance ce soir à 20 h")
    assert "Maintenance ce soir à 20 h" in client.get("/").content.decode()

    config.notice_title = "Maintenance demain à 20 h"
    config.save()
    page = client.get("/").content.decode()
    assert "Maintenance demain à 20 h" in page and "ce soir" not in page

    config.delete()
    assert "Maintenance" not in client.get("/").content.decode()
