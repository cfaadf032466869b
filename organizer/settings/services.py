"""Reading and changing organization settings and managed lists."""

from __future__ import annotations

from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, select

from organizer.audit.services import record, record_changes, snapshot
from organizer.db import get_by_id
from organizer.extensions import db
from organizer.people.phones import parse_regions, unknown_regions
from organizer.settings.models import Neighborhood, Organization, Tag

_DEFAULT_TIMEZONE = "America/Chicago"
ListEntry = TypeVar("ListEntry")


class SettingsError(ValueError):
    """A setting or list entry that breaks a rule (unknown time zone, duplicate name)."""


#: The one organization row's id.
ORGANIZATION_ID = 1


def get_organization() -> Organization:
    """The organization row; an unsaved default when the database has none yet.

    Cached on ``g`` so that a page asks for it once (the signed-in user's statement reads it
    too: ``remember_organization``).
    """
    if has_app_context() and "organization" in g:
        return g.organization
    return remember_organization(get_by_id(db.session, Organization, ORGANIZATION_ID))


def organization_zone() -> ZoneInfo:
    """The federation's time zone (dates of one-to-ones, months of the reports, quiet hours)."""
    return ZoneInfo(get_organization().timezone)


def remember_organization(org: Organization | None) -> Organization:
    """What ``get_organization`` answers for the rest of the request (unless it already read
    the row): ``org``, the row read along with something else (``None``: there is none yet)."""
    if org is None:
        org = Organization(
            id=1, name="Our Federation", timezone=_DEFAULT_TIMEZONE, default_phone_region="US",
            sms_help_text="", going_cold_days=90, text_staff_rsvp_confirmations=False, member_phone_regions="",
        )
    if has_app_context():
        if "organization" in g:
            return g.organization
        g.organization = org
    return org


def save_organization(
    *, name: str, timezone: str, default_phone_region: str, sms_help_text: str,
    going_cold_days: int, actor, text_staff_rsvp_confirmations: bool | None = None,
    member_phone_regions: str | None = None,
) -> Organization:
    """Store the settings (the caller commits).

    ``member_phone_regions`` (``None``: unchanged) lists the countries members commonly come
    from, as ISO codes ("MX, SV"); stored upper-cased, space-separated.

    :raise SettingsError: when the time zone is not an IANA zone name, or a member country code
        names no country.
    """

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(_("Unknown time zone “%(zone)s”. Use a name such as America/Chicago.", zone=timezone)) from None
    if member_phone_regions is not None and unknown_regions(member_phone_regions):
        raise SettingsError(_("Unknown country code: %(codes)s. Use two-letter codes such as MX, SV, GT.",
                              codes=", ".join(unknown_regions(member_phone_regions))))
    org = db.session.get(Organization, 1) or Organization(id=1)
    fields = ("name", "timezone", "default_phone_region", "member_phone_regions", "sms_help_text",
              "going_cold_days", "text_staff_rsvp_confirmations")
    before = snapshot(org, fields)
    org.name = name.strip()
    org.timezone = timezone
    org.default_phone_region = default_phone_region.upper()
    if member_phone_regions is not None:
        org.member_phone_regions = " ".join(parse_regions(member_phone_regions))
    elif org.member_phone_regions is None:
        org.member_phone_regions = ""
    org.sms_help_text = sms_help_text.strip()
    org.going_cold_days = going_cold_days
    if text_staff_rsvp_confirmations is not None:  # None: a caller that does not manage it
        org.text_staff_rsvp_confirmations = text_staff_rsvp_confirmations
    db.session.add(org)
    g.pop("organization", None)
    record_changes(actor, org, before, snapshot(org, fields), summary="organization settings")
    return org


def neighborhoods() -> list[Neighborhood]:
    return list(db.session.scalars(select(Neighborhood).order_by(Neighborhood.name)))


def tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def add_list_entry(model: type[ListEntry], name: str, actor) -> ListEntry:
    """Add an entry to a managed list: a neighborhood, a tag, an issue (any model with a unique
    ``name``). The caller commits.

    :raise SettingsError: when the name is empty or already on the list (in any letter case).
    """
    name = " ".join(name.split())
    if not name:
        raise SettingsError(_("A name is required."))
    if db.session.scalar(select(model.id).where(func.lower(model.name) == name.lower())):
        raise SettingsError(_("%(name)s is already on the list.", name=name))
    entry = model(name=name)
    db.session.add(entry)
    db.session.flush()
    record(actor, "create", entry)
    return entry
