import pytest
from django.core.cache import cache
from django.core.management import call_command

from delays import dashboard


@pytest.mark.django_db
def test_warm_dashboard_command_puts_the_unfiltered_figures_in_the_cache(
        settings, make_request, django_capture_on_commit_callbacks):
    settings.HDH_DASHBOARD_CACHE_SECONDS = 600
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the delay recompute runs on commit
        make_request("delivered")
    key = dashboard._cache_key(dashboard.DashboardFilters(), dashboard.LIST_LIMIT)
    assert cache.get(key) is None
    call_command("warm_dashboard")
    cached = cache.get(key)
    fresh = dashboard.build_dashboard(dashboard.DashboardFilters(), list_limit=dashboard.LIST_LIMIT)
    cached.pop("computed_at"), fresh.pop("computed_at")
    assert cached == fresh
    assert cached["summary"]["delivered"] == 1
