"""The dashboard page shows the headline figure (delays.statistics): by delivery quarter, a
quarter whose deliveries were all late at 0 %, a quarter without delivery as "aucune livraison"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.delays.test_headline import headline_history  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("headline_history")


def test_the_share_chart_is_by_delivery_quarter_with_every_quarter(client, personas):
    client.force_login(personas["management"])
    response = client.get(reverse("backoffice:delays"))
    html = response.content.decode()

    shares = response.context["charts"]["shares"]
    assert shares["labels"] == ["T3 2024", "T4 2024", "T1 2025", "T2 2025"]
    assert shares["share"] == [100.0, None, 0.0, 100.0]  # 0 % stays; no delivery is no bar
    assert shares["delivered"] == [1, 0, 2, 2]
    assert "livrées dans les 7 mois (hors temps du demandeur), par trimestre de livraison" in html
    table = html[html.index('<table id="table-shares">'):]
    table = table[:table.index("</table>")]
    assert "<th scope=\"row\">T4 2024</th><td>0</td><td>0</td><td>aucune livraison</td>" in table
    assert "<th scope=\"row\">T1 2025</th><td>2</td><td>0</td><td>0 %</td>" in table
    assert "60 %" in html  # the headline: 3 of 5 delivered within the target


def test_in_english_the_page_says_no_deliveries(client, personas):
    profile = personas["management"].profile
    profile.language = "en"
    profile.save()
    client.force_login(personas["management"])
    html = client.get(reverse("backoffice:delays"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "delivered within 7 months (applicant time excluded), by quarter of delivery" in html
    assert "no deliveries" in html
