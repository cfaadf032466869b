"""One search box: people, institutions, campaigns and actions by name, accents and case aside,
with the access rules applied (a leader finds only their own people)."""

import pytest

from organizer.campaigns.models import Campaign
from organizer.extensions import db


@pytest.fixture
def two_leaders(make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="María José", last_name="Núñez")
    theirs = make_person(owner=other, first_name="Maria", last_name="Nunez Ortiz")
    return leader, other, mine, theirs


def test_search_ignores_accents_case_and_word_order(login_as, make_user, two_leaders):
    _leader, _other, mine, theirs = two_leaders
    client = login_as(make_user("organizer")).client
    page = client.get("/search/?q=NUNEZ maria").get_data(as_text=True)
    assert f"/people/{mine.id}\"" in page and f"/people/{theirs.id}\"" in page
    page = client.get("/search/?q=núñez").get_data(as_text=True)
    assert f"/people/{mine.id}\"" in page


def test_leader_finds_only_their_own_people(login_as, two_leaders):
    leader, _other, mine, theirs = two_leaders
    client = login_as(leader).client
    page = client.get("/search/?q=nunez").get_data(as_text=True)
    assert f"/people/{mine.id}\"" in page
    assert f"/people/{theirs.id}\"" not in page and "Ortiz" not in page
    suggested = client.get("/search/suggest?q=nunez").get_json()["results"]
    assert [hit["url"] for hit in suggested] == [f"/people/{mine.id}"]
    # the other leader's person by their very own name: still nothing
    assert client.get("/search/suggest?q=ortiz").get_json()["results"] == []


def test_finds_institutions_campaigns_and_actions_by_name(app, login_as, make_user, make_institution,
                                                          make_action):
    institution = make_institution(name="Iglesia San José Obrero")
    action = make_action(title="Audiencia pública sobre el autobús")
    with app.app_context():
        campaign = Campaign(name="Campaña de vivienda digna")
        db.session.add(campaign)
        db.session.commit()
        campaign_id = campaign.id
    client = login_as(make_user("leader")).client
    kinds = {hit["kind"]: hit["url"] for hit in client.get("/search/suggest?q=jose").get_json()["results"]}
    assert kinds == {"institutions": f"/institutions/{institution.id}"}
    urls = [hit["url"] for hit in client.get("/search/suggest?q=PUBLICA").get_json()["results"]]
    assert urls == [f"/actions/{action.id}"]
    urls = [hit["url"] for hit in client.get("/search/suggest?q=campana").get_json()["results"]]
    assert urls == [f"/campaigns/{campaign_id}"]


def test_short_or_empty_query_answers_nothing(login_as, make_user, make_person):
    make_person(first_name="Al")
    client = login_as(make_user("organizer")).client
    assert client.get("/search/suggest?q=a").get_json()["results"] == []
    assert "Type at least two letters" in client.get("/search/").get_data(as_text=True)


def test_top_bar_has_a_search_box_that_works_without_javascript(login_as, make_user):
    page = login_as(make_user("leader")).client.get("/").get_data(as_text=True)
    assert 'action="/search/"' in page and 'name="q"' in page
    assert "js/search.js" in page


def test_search_asks_a_fixed_number_of_queries(login_as, make_user, make_person, count_queries):
    client = login_as(make_user("organizer")).client
    for n in range(3):
        make_person(first_name="Rosa", last_name=f"Ramírez{n}")
    client.get("/search/?q=rosa")  # warm up (the user, the organization)
    with count_queries() as few:
        client.get("/search/?q=rosa")
    for n in range(15):
        make_person(first_name="Rosa", last_name=f"Ramírez{n + 3}")
    with count_queries() as many:
        client.get("/search/?q=rosa")
    assert few.count == many.count


def test_the_query_shown_back_is_escaped(login_as, make_user):
    page = login_as(make_user("organizer")).client.get("/search/?q=<b>zzq</b>").get_data(as_text=True)
    assert "<b>zzq</b>" not in page and "&lt;b&gt;zzq" in page
