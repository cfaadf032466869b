"""Which column of an import file fills which field of a person: the fields, the built-in
presets for other organizing tools' exports, detecting them from the headers, saved mappings.

A mapping is a list of field keys, one per column of the file (``IGNORE`` for a column left
out). ``auto_mapping`` proposes one from a preset (or the generic header names), the import page
shows it with a select per column, and ``check_import`` reads the file through it.

The presets' headers are the export layouts of each tool. Sources, as found in public code:

- Action Network (activist/report CSV): ``uuid, first_name, last_name, email, zip_code,
  can2_phone, can2_user_address, can2_user_city, can2_state_abbreviated, can2_user_tags,
  can2_subscription_status, can2_sms_status`` (SURJ Bay Area's AN → EveryAction sync script
  documents ``can2_phone`` as the mobile and ``can2_sms_status`` as the SMS subscription status;
  janet-shen's volunteer import lists ``can2_user_tags``, ``can2_sms_status``; a Nocodb sync maps
  ``can2_user_address``, ``can2_user_city``, ``can2_state_abbreviated``, ``zip_code``).
- NationBuilder (people export): ``nationbuilder_id, first_name, last_name, email, email_opt_in,
  phone_number, work_phone_number, mobile_number, mobile_opt_in, is_mobile_bad, do_not_call,
  do_not_contact, primary_address1..3, primary_city, primary_state, primary_zip, tag_list``
  (a PHP loader of NationBuilder's export columns; NationBuilder's API docs for the fields).
- VAN/EveryAction (list export): ``VANID, LastName, FirstName, MiddleName, Suffix, Address, City,
  State, Zip5, Zip4, HomePhone, CellPhone, PreferredEmail`` (headers may carry spaces,
  "Voter File VANID", "Cell Phone": headers are compared without spaces or case).
- Mobilize (event attendees export): ``Event ID, Event name, Timeslot ID, Timeslot start, User ID,
  First name, Last name, Email, Phone, Zip, Status, Attended, SMS opt-in status`` (SMS opt-in as
  "Opted in" / "Not opted in").
- Action Builder (entity export): ``Action Builder ID, First Name, Last Name, Email, Phone Number,
  Mobile Phone, Address, City, State, Zip Code, Tags, SMS Opt Out``.

The Mobilize, VAN and Action Builder layouts could not be checked against a public copy of a
real export here; they follow the field names those tools document. Whatever a file carries
beyond them is matched by the generic header names, and every column can be changed by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.extensions import db
from organizer.people.models import ImportMapping, fold

IGNORE = "ignore"

#: The fields a column may fill, in the order the select lists them.
FIELDS = {
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "full_name": _l("Full name (split into first and last)"),
    "preferred_name": _l("Preferred name"),
    "phone": _l("Mobile phone (for texts)"),
    "other_phone": _l("Other phone (never texted)"),
    "email": _l("Email"),
    "address": _l("Address"),
    "city": _l("City"),
    "postal_code": _l("ZIP / postal code"),
    "neighborhood": _l("Neighborhood"),
    "preferred_language": _l("Language"),
    "tags": _l("Tags"),
    "sms_consent": _l("Text messages: agreed or declined"),
    "sms_opt_out": _l("Do not text (yes means opted out)"),
    "race_ethnicity": _l("Race/ethnicity"),
    "notes": _l("Organizer notes"),
    "external_id": _l("Id in the other tool"),
    IGNORE: _l("Ignore this column"),
}
#: Fields several columns may fill: their values are put together.
MULTIPLE = {"other_phone", "address", "tags", IGNORE}
#: Fields only people who may see sensitive data may import.
SENSITIVE = {"notes", "race_ethnicity"}


def header_key(name: str) -> str:
    """A header as compared: ``fold``-ed, then only letters and digits ("Teléfono " -> "telefono")."""
    return "".join(ch for ch in fold(name) if ch.isalnum())


# Generic header names (English and Spanish), for files of no known tool.
HEADERS = {
    "first_name": ("firstname", "first", "givenname", "nombre", "nombres", "primernombre"),
    "last_name": ("lastname", "last", "surname", "familyname", "apellido", "apellidos"),
    "full_name": ("fullname", "name", "nombrecompleto", "nombreyapellido"),
    "preferred_name": ("preferredname", "goesby", "nickname", "nombrepreferido", "apodo"),
    "phone": ("phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "telephone",
              "telefono", "celular", "numerodetelefono", "movil", "cellno", "cellnumber"),
    "other_phone": ("otherphones", "otherphone", "homephone", "workphone", "landline", "telefonodecasa",
                    "otrostelefonos"),
    "email": ("email", "emailaddress", "mail", "correo", "correoelectronico"),
    "address": ("address", "streetaddress", "address1", "address2", "direccion", "domicilio"),
    "city": ("city", "town", "ciudad", "municipio"),
    "postal_code": ("zip", "zipcode", "zip5", "postalcode", "postcode", "codigopostal", "cp"),
    "neighborhood": ("neighborhood", "neighbourhood", "barrio", "vecindario", "colonia"),
    "preferred_language": ("preferredlanguage", "language", "idioma", "idiomapreferido", "lengua"),
    "tags": ("tags", "tag", "etiquetas", "etiqueta"),
    "sms_consent": ("smsconsent", "sms", "textconsent", "texts", "textmessages", "consentimientosms",
                    "textos", "mensajesdetexto", "aceptatextos", "smsoptin"),
    "sms_opt_out": ("donottext", "smsoptout", "notextos"),
    "race_ethnicity": ("raceethnicity", "race", "ethnicity", "razaetnia", "raza", "etnia"),
    "notes": ("notes", "note", "organizernotes", "notas", "nota"),
}
FIELD_FOR_HEADER = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
#: Among several phone columns, the one whose header says "mobile" is the one to text.
MOBILE_WORDS = ("mobile", "cell", "celular", "movil", "sms", "text")


@dataclass(frozen=True)
class Preset:
    """An export layout of another tool: its columns (as ``header_key``) and the fields they fill.

    ``signature``: columns only this tool writes; a file with at least two of them (or all,
    when fewer) is taken to be this tool's export and the preset is chosen for it.
    """

    key: str
    name: str
    columns: dict[str, str]
    signature: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


PRESETS = {preset.key: preset for preset in (
    Preset("action_network", "Action Network", {
        "uuid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "zipcode": "postal_code", "can2phone": "phone", "can2useraddress": "address", "can2usercity": "city",
        "can2usertags": "tags", "can2smsstatus": "sms_consent",
        "can2statesabbreviated": IGNORE, "can2stateabbreviated": IGNORE, "can2userstate": IGNORE,
        "can2country": IGNORE, "can2county": IGNORE, "can2subscriptionstatus": IGNORE,
    }, signature=("can2phone", "can2useraddress", "can2usercity", "can2smsstatus", "can2subscriptionstatus",
                  "can2stateabbreviated", "can2county", "can2usertags")),
    Preset("nationbuilder", "NationBuilder", {
        "nationbuilderid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "mobilenumber": "phone", "phonenumber": "other_phone", "workphonenumber": "other_phone",
        "mobileoptin": "sms_consent", "donotcontact": "sms_opt_out", "primaryaddress1": "address",
        "primaryaddress2": "address", "primaryaddress3": "address", "primarycity": "city", "primaryzip": "postal_code",
        "taglist": "tags", "emailoptin": IGNORE, "ismobilebad": IGNORE, "donotcall": IGNORE,
        "primarystate": IGNORE, "primarycountrycode": IGNORE, "primarycountry": IGNORE, "middlename": IGNORE,
    }, signature=("nationbuilderid", "mobilenumber", "mobileoptin", "taglist", "primaryzip", "primaryaddress1",
                  "ismobilebad")),
    Preset("van", "VAN / EveryAction", {
        "vanid": "external_id", "voterfilevanid": "external_id", "lastname": "last_name", "firstname": "first_name",
        "address": "address", "city": "city", "zip5": "postal_code", "cellphone": "phone", "homephone": "other_phone",
        "preferredemail": "email", "middlename": IGNORE, "suffix": IGNORE, "state": IGNORE, "zip4": IGNORE,
    }, signature=("vanid", "voterfilevanid", "zip5", "zip4", "preferredemail", "cellphone", "homephone")),
    Preset("mobilize", "Mobilize", {
        "userid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "phone": "phone", "zip": "postal_code", "smsoptinstatus": "sms_consent", "eventid": IGNORE,
        "eventname": IGNORE, "timeslotid": IGNORE, "timeslotstart": IGNORE, "status": IGNORE, "attended": IGNORE,
    }, signature=("eventid", "eventname", "timeslotid", "timeslotstart", "attended", "smsoptinstatus")),
    Preset("action_builder", "Action Builder", {
        "actionbuilderid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "mobilephone": "phone", "phonenumber": "other_phone", "address": "address", "city": "city",
        "zipcode": "postal_code", "tags": "tags", "smsoptout": "sms_opt_out", "state": IGNORE,
    }, signature=("actionbuilderid", "smsoptout")),
    # Organizer's own people export: everything it writes comes back.
    Preset("organizer", "Organizer", {
        "id": "external_id", "firstname": "first_name", "lastname": "last_name", "preferredname": "preferred_name",
        "phone": "phone", "otherphones": "other_phone", "email": "email", "address": "address", "city": "city",
        "postalcode": "postal_code", "neighborhood": "neighborhood", "language": "preferred_language", "tags": "tags",
        "smsconsent": "sms_consent", "raceethnicity": "race_ethnicity", "notes": "notes",
    }, signature=("preferredname", "otherphones", "postalcode", "smsconsent")),
)}


def detect_preset(header: list[str]) -> Preset | None:
    """The tool whose export this header looks like (most signature columns), or ``None``."""
    keys = {header_key(name) for name in header}
    best, best_score = None, 0
    for preset in PRESETS.values():
        score = len(keys & set(preset.signature))
        if score >= min(2, len(preset.signature)) and score > best_score:
            best, best_score = preset, score
    return best


def auto_mapping(header: list[str], preset: Preset | None = None,
                 saved: dict[str, str] | None = None) -> list[str]:
    """A field for each column: from a saved mapping (by header), else the preset, else the
    generic names; a column nobody recognizes is ignored. Where several columns would fill the
    same single field, the first keeps it (for phones: the one whose header says mobile) and the
    others are ignored, or kept as other phones."""
    by_key = {header_key(k): v for k, v in (saved or {}).items()}
    mapping = []
    for name in header:
        key = header_key(name)
        target = by_key.get(key) or (preset.columns.get(key) if preset else None) or FIELD_FOR_HEADER.get(key)
        mapping.append(target if target in FIELDS else IGNORE)
    phones = [i for i, target in enumerate(mapping) if target == "phone"]
    if len(phones) > 1:
        mobile = next((i for i in phones if any(w in header_key(header[i]) for w in MOBILE_WORDS)), phones[0])
        for i in phones:
            if i != mobile:
                mapping[i] = "other_phone"
    seen: set[str] = set()
    for i, target in enumerate(mapping):
        if target in MULTIPLE:
            continue
        if target in seen:
            mapping[i] = IGNORE
        seen.add(target)
    return mapping


def saved_mappings() -> list[ImportMapping]:
    """The mappings users saved, by name."""
    return list(db.session.scalars(select(ImportMapping).order_by(ImportMapping.name)))


def saved_columns(mapping: ImportMapping) -> dict[str, str]:
    """A saved mapping's ``{header: field}``; unknown fields (from an older version) left out."""
    try:
        columns = json.loads(mapping.columns)
    except ValueError:
        return {}
    return {str(k): v for k, v in columns.items() if v in FIELDS} if isinstance(columns, dict) else {}


def save_mapping(user: User, name: str, header: list[str], mapping: list[str]) -> ImportMapping:
    """Keep ``mapping`` (a field per column of ``header``) under ``name``, replacing a mapping
    of that name; the caller commits. Columns without a header are left out. Raises nothing."""
    columns = {h: m for h, m in zip(header, mapping, strict=True) if h and m in FIELDS}
    name = name.strip()[:80]
    saved = db.session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if saved is None:
        saved = ImportMapping(name=name, created_by_id=user.id)
        db.session.add(saved)
    saved.columns = json.dumps(columns, ensure_ascii=False)
    db.session.flush()
    record(user, "save", saved, {"columns": columns}, object_type="import_mapping",
           summary=f"import mapping “{name}” saved"[:255])
    return saved
