"""The admin's user pages: create accounts, change roles, link a leader to their person, deactivate."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import PASSWORD


def _user(app, email):
    from organizer.auth.models import User
    from organizer.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_admin_lists_every_account(login_as, make_user):
    admin = make_user("admin")
    leader = make_user("leader", name="Dolores Leader")
    page = login_as(admin).client.get("/admin/users").get_data(as_text=True)
    assert "Dolores Leader" in page and leader.email in page


def test_admin_creates_a_leader_linked_to_their_person(app, login_as, make_user, make_person):
    admin = make_user("admin")
    person = make_person(first_name="Ana", last_name="Reyes")
    response = login_as(admin).post("/admin/users/new", {
        "email": "Ana@Example.org", "name": "Ana Reyes", "role": "leader",
        "person_id": person.id, "password": "a long enough password",
    })
    assert response.status_code == 302
    user = _user(app, "ana@example.org")
    assert user.role.value == "leader" and user.person_id == person.id
    assert user.check_password("a long enough password")


def test_a_new_account_needs_a_password(app, login_as, make_user):
    response = login_as(make_user("admin")).post(
        "/admin/users/new", {"email": "x@example.org", "name": "X", "role": "leader"})
    assert response.status_code == 200
    assert "A new account needs a password." in response.get_data(as_text=True)
    assert _user(app, "x@example.org") is None


def test_duplicate_email_is_refused(app, login_as, make_user):
    existing = make_user("leader")
    response = login_as(make_user("admin")).post("/admin/users/new", {
        "email": existing.email.upper(), "name": "Copy", "role": "leader", "password": "0123456789ab"})
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)


def test_linking_an_unknown_person_is_refused(app, login_as, make_user):
    response = login_as(make_user("admin")).post("/admin/users/new", {
        "email": "new@example.org", "name": "New", "role": "leader", "person_id": 999999,
        "password": "0123456789ab"})
    assert "There is no person with id 999999." in response.get_data(as_text=True)
    assert _user(app, "new@example.org") is None


def test_a_person_is_linked_to_one_account_at_most(app, login_as, make_user, make_person):
    person = make_person()
    make_user("leader", person_id=person.id)
    response = login_as(make_user("admin")).post("/admin/users/new", {
        "email": "second@example.org", "name": "Second", "role": "leader", "person_id": person.id,
        "password": "0123456789ab"})
    assert "already linked to another account" in response.get_data(as_text=True)
    assert _user(app, "second@example.org") is None


def test_admin_changes_a_role_and_deactivates(app, login_as, make_user, client):
    from tests.conftest import AuthActions

    admin, leader = make_user("admin"), make_user("leader")
    response = login_as(admin).post(f"/admin/users/{leader.id}", {
        "name": leader.name, "role": "organizer", "active": ""})
    assert response.status_code == 302
    saved = _user(app, leader.email)
    assert saved.role.value == "organizer" and not saved.active
    assert AuthActions(client).login(leader).status_code == 401


def test_admin_cannot_deactivate_or_demote_themselves(app, login_as, make_user):
    admin = make_user("admin")
    response = login_as(admin).post(f"/admin/users/{admin.id}", {"name": admin.name, "role": "organizer"})
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    saved = _user(app, admin.email)
    assert saved.role.value == "admin" and saved.active


def test_admin_resets_a_password(app, login_as, make_user):
    admin, leader = make_user("admin"), make_user("leader")
    login_as(admin).post(f"/admin/users/{leader.id}", {
        "name": leader.name, "role": "leader", "active": "y", "password": "a brand new secret"})
    saved = _user(app, leader.email)
    assert saved.check_password("a brand new secret") and not saved.check_password(PASSWORD)


def test_account_changes_are_audited_without_the_password(app, login_as, make_user):
    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    admin, leader = make_user("admin"), make_user("leader")
    login_as(admin).post(f"/admin/users/{leader.id}", {
        "name": leader.name, "role": "leader", "active": "y", "password": "a brand new secret"})
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "users",
                                                           AuditEvent.action == "update"))
        assert event.user_id == admin.id
        assert event.details == {"changes": {"password": {"old": None, "new": "changed"}}, "sessions": "ended"}
        assert "a brand new secret" not in str(event.details)


def test_cli_creates_the_first_admin(app, runner):
    result = runner.invoke(args=["create-user", "--email", "boss@example.org", "--name", "Boss",
                                 "--role", "admin", "--password", "0123456789ab"])
    assert result.exit_code == 0, result.output
    assert _user(app, "boss@example.org").is_admin
    again = runner.invoke(args=["create-user", "--email", "boss@example.org", "--name", "Boss",
                                "--password", "0123456789ab"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_the_person_is_chosen_by_name_not_by_id(app, login_as, make_user, make_person):
    """With JavaScript the picker fills the hidden id; without it the typed name is looked up,
    and only one person may match."""
    admin = make_user("admin")
    ana = make_person(first_name="Ana", last_name="Núñez")
    make_person(first_name="José", last_name="Reyes")
    make_person(first_name="Josefina", last_name="Reyes")
    actions = login_as(admin)
    page = actions.client.get("/admin/users/new").get_data(as_text=True)
    assert 'name="person_q"' in page and 'type="hidden"' in page and "Linked person (id)" not in page

    response = actions.post("/admin/users/new", {
        "email": "ana@example.org", "name": "Ana", "role": "leader", "person_q": "ana nunez",
        "password": "a long enough password"})
    assert response.status_code == 302 and _user(app, "ana@example.org").person_id == ana.id

    response = actions.post("/admin/users/new", {
        "email": "jose@example.org", "name": "José", "role": "leader", "person_q": "reyes",
        "password": "a long enough password"})
    assert "Several people match “reyes”" in response.get_data(as_text=True)
    assert _user(app, "jose@example.org") is None
    response = actions.post("/admin/users/new", {
        "email": "nadie@example.org", "name": "Nadie", "role": "leader", "person_q": "Zacarías",
        "password": "a long enough password"})
    assert "No person is named “Zacarías”" in response.get_data(as_text=True)

    # Editing shows the linked person's name, and clearing the box unlinks.
    user = _user(app, "ana@example.org")
    page = actions.client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert 'value="Ana Núñez"' in page
    actions.post(f"/admin/users/{user.id}", {"name": "Ana", "role": "leader", "active": "y", "person_id": "",
                                               "person_q": ""})  # as the picker leaves them
    assert _user(app, "ana@example.org").person_id is None
