"""Templates draw what their view computed: on every page (filled with a little of everything), as
an admin and as a leader, not one statement runs while a template renders. A query from a
template is one nobody counts: it hides in a loop, runs again for each row, and escapes the
view's fixed number of queries."""

from __future__ import annotations

from tests.support.pages import page_urls, queries_while_rendering


def test_no_page_runs_a_query_while_its_template_renders(app, login_as, make_user, rows):
    admin, ids = rows
    ran, seen = {}, 0
    for user in (admin, make_user("leader")):
        client = login_as(user).client
        for url in page_urls(app, ids):
            client.get(url, follow_redirects=True)  # once first: what a process reads once is not counted
            with queries_while_rendering(app) as statements:
                answer = client.get(url, follow_redirects=True)
            assert answer.status_code in (200, 403, 404), (user.role, url)  # a leader: staff pages, others' rows
            seen += answer.status_code == 200
            if statements:
                ran[f"{user.role.value} {url}"] = [" ".join(s.split())[:120] for s in statements]
    assert ran == {}
    assert seen > 80
