"""Which column of an import file fills which field of a person: the fields, the built-in
presets for other organizing tools' exports, detecting them from the headers, saved mappings.

A mapping is a list of field keys, one per column of the file (``IGNORE`` for a column left
out). ``auto_mapping`` proposes one from a preset (or the generic header names), the import page
shows it with a select per column, and ``check_import`` reads the file through it.

The presets' headers are the export layouts of each tool, checked against real export files or
the code that reads them (the tests in ``tests/people/test_import_presets.py`` copy each header row
and name its source):

- Action Network (activist/report CSV): ``uuid, first_name, last_name, email, Phone Number,
  can2_user_address, can2_user_city, can2_user_state, zip_code, County, can2_user_tags,
  can2_subscription_status, can2_sms_status`` (janet-shen's volunteer import, from a report
  downloaded from admin.actionnetwork.org; ``can2_phone`` is the mobile and ``can2_sms_status``
  its SMS subscription in SURJ Bay Area's Action Network to EveryAction sync). "Phone Number" is
  a custom field: the texted phone unless the file also has ``can2_phone``.
- NationBuilder (people export): ``nationbuilder_id, external_id, ..., first_name, middle_name,
  last_name, suffix, full_name, ..., email, email_opt_in, email1..4, phone_number,
  work_phone_number, mobile_number, mobile_opt_in, is_mobile_bad, fax_number, do_not_call,
  do_not_contact, ..., primary_address1..3, primary_city, primary_county, primary_state,
  primary_zip, ..., tag_list, note, ..., ethnicity, language, ..., county, city`` (a loader of
  NationBuilder's whole export, 190 columns, in a field-team database's PHP code).
- VAN/EveryAction (saved list export, as VAN's export job writes it): ``CanvassFileRequestID,
  VanID, Address, FirstName, LastName, StreetAddress, City, State, ZipOrPostal, County, Employer,
  Occupation, Email, HomePhone, IsHomePhoneACellExchange, CellPhone, WorkPhone,
  IsWorkPhoneACellExchange, Phone, OptInPhone, OptInStatus, OptInPhoneType, ...`` (Spoke's NGP VAN
  contact loader test, StateVoicesNational/Spoke). "Address" is the whole address on one line
  (its ZIP is used when ZipOrPostal is blank); "OptInStatus" belongs to "OptInPhone", so only an
  opt-out is taken from it. The older "My List" layout (``VANID, ..., Zip5, Zip4, HomePhone,
  CellPhone, PreferredEmail``) is read too.
- Mobilize (attendees export): the names of Mobilize's API (mobilizeamerica/api README: a person's
  ``user_id, given_name, family_name, email_address, phone_number, postal_code,
  sms_opt_in_status`` with ``OPT_IN``, ``OPT_OUT`` or ``UNSPECIFIED``; an attendance's ``status``
  and ``attended``), as flattened by exports and Parsons, and the spreadsheet names of the
  dashboard's CSV (``Event ID, Event name, Timeslot ID, Timeslot start, User ID, First name, Last
  name, Email, Phone, Zip, Status, Attended, SMS opt-in status``).
- Action Builder (entity export): ``Action Builder ID, First Name, Last Name, Email, Phone Number,
  Mobile Phone, Address, City, State, Zip Code, Tags, SMS Opt Out``.

No public copy of a Mobilize dashboard CSV or an Action Builder export was found: those two
layouts follow the field names the tools document. Whatever a file carries beyond a preset is
matched by the generic header names, and every column can be changed by hand.
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
    "full_address": _l("Whole address on one line (street, city, ZIP)"),
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
    #: Among several phone columns, the ones to text first (this tool's mobile column).
    mobile: tuple[str, ...] = ()


PRESETS = {preset.key: preset for preset in (
    Preset("action_network", "Action Network", {
        "uuid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "zipcode": "postal_code", "can2phone": "phone", "phonenumber": "phone", "can2useraddress": "address",
        "can2usercity": "city", "can2usertags": "tags", "can2smsstatus": "sms_consent",
        "can2statesabbreviated": IGNORE, "can2stateabbreviated": IGNORE, "can2userstate": IGNORE,
        "can2country": IGNORE, "can2county": IGNORE, "county": IGNORE, "can2subscriptionstatus": IGNORE,
    }, signature=("can2phone", "can2useraddress", "can2usercity", "can2smsstatus", "can2subscriptionstatus",
                  "can2stateabbreviated", "can2userstate", "can2county", "can2usertags"), mobile=("can2phone",)),
    Preset("nationbuilder", "NationBuilder", {
        "nationbuilderid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "mobilenumber": "phone", "phonenumber": "other_phone", "workphonenumber": "other_phone",
        "mobileoptin": "sms_consent", "donotcontact": "sms_opt_out", "primaryaddress1": "address",
        "primaryaddress2": "address", "primaryaddress3": "address", "primarycity": "city", "primaryzip": "postal_code",
        "taglist": "tags", "emailoptin": IGNORE, "ismobilebad": IGNORE, "donotcall": IGNORE,
        "primarystate": IGNORE, "primarycountrycode": IGNORE, "primarycountry": IGNORE, "middlename": IGNORE,
        # Not this person's own fields, or free text Organizer would reject: left out.
        "externalid": IGNORE, "fullname": IGNORE, "legalname": IGNORE, "faxnumber": IGNORE, "city": IGNORE,
        "county": IGNORE, "ethnicity": IGNORE, "note": IGNORE, "email1": IGNORE, "email2": IGNORE,
        "email3": IGNORE, "email4": IGNORE,
    }, signature=("nationbuilderid", "mobilenumber", "mobileoptin", "taglist", "primaryzip", "primaryaddress1",
                  "ismobilebad"), mobile=("mobilenumber",)),
    Preset("van", "VAN / EveryAction", {
        "vanid": "external_id", "voterfilevanid": "external_id", "lastname": "last_name", "firstname": "first_name",
        "streetaddress": "address", "address": "full_address", "city": "city", "ziporpostal": "postal_code",
        "zip5": "postal_code", "email": "email", "preferredemail": "email", "cellphone": "phone",
        "homephone": "other_phone", "workphone": "other_phone", "phone": "other_phone", "optinphone": "other_phone",
        "optinstatus": "sms_opt_out", "middlename": IGNORE, "suffix": IGNORE, "state": IGNORE, "zip4": IGNORE,
        "canvassfilerequestid": IGNORE, "county": IGNORE, "employer": IGNORE, "occupation": IGNORE,
        "ishomephoneacellexchange": IGNORE, "isworkphoneacellexchange": IGNORE, "optinphonetype": IGNORE,
    }, signature=("vanid", "voterfilevanid", "zip5", "zip4", "preferredemail", "cellphone", "homephone",
                  "canvassfilerequestid", "ziporpostal", "ishomephoneacellexchange", "optinphone"),
        mobile=("cellphone",)),
    Preset("mobilize", "Mobilize", {
        "userid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "phone": "phone", "zip": "postal_code", "smsoptinstatus": "sms_consent", "smsoptin": "sms_consent",
        # the API's names, alone or under "person" as exports flatten them
        "personuserid": "external_id", "givenname": "first_name", "persongivenname": "first_name",
        "familyname": "last_name", "personfamilyname": "last_name", "emailaddress": "email",
        "personemailaddress": "email", "phonenumber": "phone", "personphonenumber": "phone",
        "postalcode": "postal_code", "personpostalcode": "postal_code", "personsmsoptinstatus": "sms_consent",
        "eventid": IGNORE, "eventname": IGNORE, "eventtitle": IGNORE, "timeslotid": IGNORE, "timeslotstart": IGNORE,
        "status": IGNORE, "attended": IGNORE,
    }, signature=("eventid", "eventname", "timeslotid", "timeslotstart", "attended", "smsoptinstatus",
                  "personsmsoptinstatus", "givenname", "familyname", "persongivenname")),
    Preset("action_builder", "Action Builder", {
        "actionbuilderid": "external_id", "firstname": "first_name", "lastname": "last_name", "email": "email",
        "mobilephone": "phone", "phonenumber": "other_phone", "address": "address", "city": "city",
        "zipcode": "postal_code", "tags": "tags", "smsoptout": "sms_opt_out", "state": IGNORE,
    }, signature=("actionbuilderid", "smsoptout"), mobile=("mobilephone",)),
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
        mobile = next((i for i in phones if preset and header_key(header[i]) in preset.mobile),
                      next((i for i in phones if any(w in header_key(header[i]) for w in MOBILE_WORDS)), phones[0]))
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
