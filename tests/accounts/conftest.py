"""Every account email's links start with the configured SITE_URL (hdh_access.lib.urls)."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import SITE


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE
