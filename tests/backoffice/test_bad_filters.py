"""Filter dates at the ends of the calendar are refused with a message, never a 500."""

import pytest

URLS = ["/backoffice/", "/backoffice/export.csv", "/backoffice/delays/", "/backoffice/delays.json",
        "/backoffice/delays.csv"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("query", ["submitted_to=9999-12-31", "submitted_from=0001-01-01&submitted_to=0001-01-01",
                                   "submitted_from=1999-12-31"])
def test_out_of_range_filter_dates_are_ignored_not_a_server_error(client, management, make_request, url, query):
    make_request("cesrees_review")
    client.force_login(management)
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200
