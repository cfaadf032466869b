"""Links built from a pattern kept per route (``OrganizerFlask.url_for``) are the links Flask
builds, for every route of the app, whatever the ids, the order of the arguments and the query
arguments added."""

from __future__ import annotations

import random

from flask import Flask, url_for


def _flask_url_for(app: Flask, endpoint: str, **values: object) -> str:
    return Flask.url_for(app, endpoint, **values)


def test_every_route_links_as_flask_builds_it(app):
    rng = random.Random(11)  # noqa: S311 - test data
    checked = 0
    with app.test_request_context("/"):
        for rule in app.url_map.iter_rules():
            for _round in range(3):
                values: dict[str, object] = {}
                for name in rule.arguments:
                    converter = rule._converters[name]
                    if type(converter).__name__ in {"DatabaseIntConverter", "IntegerConverter"}:
                        values[name] = rng.choice([0, 1, 7, 3347, 2**31 - 1, rng.randrange(10**6)])
                    elif hasattr(converter, "items"):  # <any(...)>: one of its words
                        values[name] = rng.choice(sorted(converter.items))
                    else:
                        values[name] = rng.choice(["a", "img/favicon.svg", "x y/é", "tok-123"])
                extras = rng.choice([{}, {"page": 3}, {"q": "María 12"}, {"status": None, "n": 5},
                                     {"campaign": 12, "prepares_for": 9}])
                values.update(extras)
                items = list(values.items())
                rng.shuffle(items)
                ordered = dict(items)
                expected = _flask_url_for(app, rule.endpoint, **ordered)
                assert url_for(rule.endpoint, **ordered) == expected, (rule.rule, ordered)
                checked += 1
    assert checked > 300


def test_the_same_route_with_other_ids_gets_its_own_ids(app):
    with app.test_request_context("/"):
        first = url_for("actions.remove_commitment", commitment_id=5, action_id=3)
        second = url_for("actions.remove_commitment", commitment_id=50, action_id=30)
        third = url_for("actions.remove_commitment", action_id=7, commitment_id=8)
    assert (first, second, third) == ("/actions/3/commitments/5/delete",
                                      "/actions/30/commitments/50/delete",
                                      "/actions/7/commitments/8/delete")


def test_values_it_does_not_pattern_go_to_flask(app):
    with app.test_request_context("/"):
        assert url_for("people.detail", person_id=3, _anchor="notes") == "/people/3#notes"
        assert url_for("people.index", flag=True) == _flask_url_for(app, "people.index", flag=True)
        assert url_for("people.index", page=-2) == _flask_url_for(app, "people.index", page=-2)
        assert url_for("people.detail", person_id=3, _external=True) == "http://localhost/people/3"


def test_links_under_a_script_root_keep_it(app):
    with app.test_request_context("/", base_url="http://localhost/org"):
        assert url_for("people.detail", person_id=3) == "/org/people/3"
    with app.test_request_context("/"):
        assert url_for("people.detail", person_id=3) == "/people/3"
