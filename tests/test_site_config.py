"""The DSFR site configuration (the admin's notice banner, mourning mode) is read from the cache on
every page (hdh_access.context_processors.site_config) and forgotten when the admin changes it."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
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


@pytest.mark.django_db(transaction=True)
def test_a_page_that_cached_the_old_configuration_during_the_change_is_forgotten_at_commit(client):
    cache.clear()
    config = DsfrConfig.objects.create(language="fr", notice_title="Maintenance ce soir à 20 h")

    def another_page():
        try:  # its own connection: it reads the configuration as committed, and caches it
            assert "ce soir" in Client().get("/").content.decode()
        finally:
            connection.close()

    with transaction.atomic():
        config.notice_title = "Maintenance demain à 20 h"
        config.save()
        reader = threading.Thread(target=another_page)
        reader.start()
        reader.join()
    page = client.get("/").content.decode()
    assert "Maintenance demain à 20 h" in page and "ce soir" not in page
