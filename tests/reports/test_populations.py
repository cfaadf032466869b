"""Neighborhood populations: admins enter or import figures (census counts), every row checked
before any is written, audited; the equity dashboard compares the base with them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from organizer.extensions import db


@pytest.fixture
def places(app):
    from organizer.settings.models import Neighborhood

    with app.app_context():
        rows = [Neighborhood(name="Pilsen"), Neighborhood(name="Little Village")]
        db.session.add_all(rows)
        db.session.commit()
        return {n.name: n.id for n in rows}


def _upload(client, text: str):
    return client.post("/reports/populations/import",
                       {"file": (io.BytesIO(text.encode("utf-8")), "census.csv")},
                       content_type="multipart/form-data")


CENSUS = ("neighborhood,race_ethnicity,population,source\n"
          "Pilsen,total,10000,ACS 2023\n"
          "Pilsen,hispanic_latino,8000,ACS 2023\n"
          "Pilsen,white,1500,ACS 2023\n"
          "Little Village,hispanic_latino,\"12,000\",ACS 2023\n"
          "Little Village,black_african_american,3000,ACS 2023\n")


def test_an_admin_imports_census_figures_listed_in_the_readers_language_and_audited(
        app, places, make_user, login_as):
    from organizer.audit.models import AuditEvent
    from organizer.reports.models import NeighborhoodPopulation

    admin = login_as(make_user("admin"))
    response = _upload(admin, CENSUS)
    assert response.status_code == 302
    with app.app_context():
        figures = {(r.neighborhood_id, r.race_ethnicity): r.population
                   for r in db.session.scalars(select(NeighborhoodPopulation))}
        assert figures == {(places["Pilsen"], "total"): 10000, (places["Pilsen"], "hispanic_latino"): 8000,
                           (places["Pilsen"], "white"): 1500, (places["Little Village"], "hispanic_latino"): 12000,
                           (places["Little Village"], "black_african_american"): 3000}
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type == "neighborhood_populations")) == 5
    page = admin.client.get("/reports/populations").get_data(as_text=True)
    assert "12,000" in page and "ACS 2023" in page
    spanish = admin.client.get("/reports/populations", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "12.000" in spanish  # not "12,000": a Spanish reader's thousands
    # The same file again changes nothing.
    _upload(admin, CENSUS)
    assert "0 figures imported." in admin.client.get("/reports/populations").get_data(as_text=True)


def test_a_bad_row_names_itself_and_nothing_is_written(app, places, make_user, login_as):
    from organizer.reports.models import NeighborhoodPopulation

    admin = login_as(make_user("admin"))
    page = _upload(admin, "neighborhood,race_ethnicity,population\nPilsen,white,1500\nHumboldt Park,white,20\n")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Row 3: no neighborhood is named “Humboldt Park”." in html
    with app.app_context():
        assert db.session.scalars(select(NeighborhoodPopulation)).all() == []


def test_population_shares_weigh_each_neighborhood_by_its_own_total_or_its_rows(app, places, make_user):
    """Pilsen entered a total (10,000, of whom 9,500 in the groups given); Little Village did
    not, so its people are its rows (15,000). Together 25,000 people."""
    from organizer.reports.services import import_populations, population_shares

    with app.app_context():
        from organizer.auth.models import User

        import_populations(CENSUS, db.session.get(User, make_user("admin").id))
        shares = population_shares()
        pilsen, village = str(places["Pilsen"]), str(places["Little Village"])
        assert shares[(pilsen, "hispanic_latino")] == pytest.approx(0.8)
        assert shares[(village, "hispanic_latino")] == pytest.approx(0.8)
        assert shares[("*", "hispanic_latino")] == pytest.approx(20000 / 25000)
        assert shares[("*", "black_african_american")] == pytest.approx(3000 / 25000)
        assert shares[("nb", pilsen)] == pytest.approx(10000 / 25000)
        assert shares[("nb", village)] == pytest.approx(15000 / 25000)
        assert all(0 <= share <= 1 for share in shares.values())
