"""Every page names its icon, and /favicon.ico (which browsers ask for anyway) is a real icon."""

from __future__ import annotations


def test_favicon_is_an_icon_and_every_page_links_it(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)
    login_page = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/img/favicon.svg"' in login_page
    with client.get("/static/img/favicon.svg") as svg:
        assert svg.mimetype == "image/svg+xml"
