"""Exports in the header layouts the tools really write (each header row copied from the public
source named above it), imported as an organizer would: upload, press Import. The tool is
recognized and phones (the mobile texted), emails, names, ZIPs, tags and consent arrive with no
column chosen by hand."""

from __future__ import annotations

import csv
import io

import pytest

from organizer.people.models import SmsConsent
from tests.people.test_import import confirm, people_count, stored, upload
from tests.people.test_import_presets import selected_preset


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path):
    app.config["PEOPLE_IMPORT_DIR"] = str(tmp_path / "imports")


def _csv(header: list[str], *rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        assert set(row) <= set(header), set(row) - set(header)
        writer.writerow([row.get(name, "") for name in header])
    return out.getvalue().encode()


def _import(actions, data: bytes) -> str:
    """Upload, check nothing needs a hand (no errors, every column recognized), press Import."""
    preview = upload(actions, data).get_data(as_text=True)
    assert 'data-testid="errors">0<' in preview, preview
    assert confirm(actions, preview).status_code == 302
    return preview


def _person(app, first_name):
    [person] = stored(app, first_name=first_name)
    return person


# StateVoicesNational/Spoke, __test__/extensions/contact-loaders/ngpvan/ngpvan.test.js: the CSV
# of a VAN saved list as VAN's export job (api.securevan.com v4/exportJobs) returns it.
VAN_HEADER = ("CanvassFileRequestID,VanID,Address,FirstName,LastName,StreetAddress,City,State,ZipOrPostal,County,"
              "Employer,Occupation,Email,HomePhone,IsHomePhoneACellExchange,CellPhone,WorkPhone,"
              "IsWorkPhoneACellExchange,Phone,OptInPhone,OptInStatus,OptInPhoneType,CongressionalDistrict,"
              "StateHouse,StateSenate,Party,PollingLocation,PollingAddress,PollingCity").split(",")


def test_van_export_job_layout(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = _import(actions, _csv(
        VAN_HEADER,
        {"CanvassFileRequestID": "1286", "VanID": "6455083", "Address": "627 W Cermak Rd, Chicago, IL 60616",
         "FirstName": "Larry", "LastName": "Foster", "StreetAddress": "627 W Cermak Rd", "City": "Chicago",
         "State": "IL", "County": "Cook", "Email": "larry@example.org", "CellPhone": "3125550201",
         "Phone": "(773) 555-0202", "Party": "D"},
        {"CanvassFileRequestID": "1286", "VanID": "6475967", "Address": "902 W 18th St, Chicago, IL 60608",
         "FirstName": "Cordelia", "LastName": "Gagliardi", "StreetAddress": "902 W 18th St", "City": "Chicago",
         "State": "IL", "ZipOrPostal": "60608", "HomePhone": "(773) 555-0203", "IsHomePhoneACellExchange": "0",
         "CellPhone": "(312) 555-0204", "OptInPhone": "(312) 555-0204", "OptInStatus": "Opt-Out",
         "OptInPhoneType": "Cell"},
        {"CanvassFileRequestID": "1286", "VanID": "6740265", "Address": "1864 S Blue Island Ave, Chicago, IL 60608",
         "FirstName": "Francis", "LastName": "Anderson", "StreetAddress": "1864 S Blue Island Ave",
         "City": "Chicago", "State": "IL", "HomePhone": "(773) 555-0205", "IsHomePhoneACellExchange": "0"},
    ))
    assert selected_preset(preview) == "van"
    larry = _person(app, "Larry")
    assert (larry.last_name, larry.phone, larry.other_phones, larry.email) == (
        "Foster", "+13125550201", "+17735550202", "larry@example.org")
    assert (larry.address, larry.city, larry.postal_code) == ("627 W Cermak Rd", "Chicago", "60616")  # ZIP from Address
    cordelia = _person(app, "Cordelia")
    assert cordelia.phone == "+13125550204" and cordelia.sms_consent is SmsConsent.OPTED_OUT
    francis = _person(app, "Francis")
    assert francis.phone is None and francis.other_phones == "+17735550205"  # a landline is never texted
    assert larry.sms_consent is SmsConsent.UNKNOWN


# janet-shen's Action Network volunteer import: the columns of a report downloaded from
# admin.actionnetwork.org ("Phone Number" is the group's custom field).
ACTION_NETWORK_HEADER = ["uuid", "first_name", "last_name", "email", "Phone Number", "can2_user_address",
                         "can2_user_city", "can2_user_state", "zip_code", "County", "can2_user_tags",
                         "can2_subscription_status", "can2_sms_status"]


def test_action_network_report_layout(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = _import(actions, _csv(
        ACTION_NETWORK_HEADER,
        {"uuid": "a1b2", "first_name": "Imani", "last_name": "Brooks", "email": "imani@example.org",
         "Phone Number": "312-555-0211", "can2_user_address": "5500 S Halsted St", "can2_user_city": "Chicago",
         "can2_user_state": "IL", "zip_code": "60621", "County": "Cook", "can2_user_tags": "Tenants, Youth team",
         "can2_subscription_status": "subscribed", "can2_sms_status": "subscribed"},
        {"uuid": "c3d4", "first_name": "Wei", "last_name": "Chen", "email": "wei@example.org",
         "Phone Number": "312-555-0212", "zip_code": "60616", "can2_subscription_status": "unsubscribed",
         "can2_sms_status": "unsubscribed"},
    ))
    assert selected_preset(preview) == "action_network"
    imani = _person(app, "Imani")
    assert (imani.phone, imani.address, imani.city, imani.postal_code) == (
        "+13125550211", "5500 S Halsted St", "Chicago", "60621")
    assert sorted(t.name for t in imani.tags) == ["Tenants", "Youth team"]
    assert imani.sms_consent is SmsConsent.OPTED_IN
    assert _person(app, "Wei").sms_consent is SmsConsent.OPTED_OUT


def test_action_network_texts_can2_phone_when_there_is_also_a_phone_number_field(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    _import(actions, _csv(["uuid", "first_name", "last_name", "email", "Phone Number", "can2_phone", "zip_code",
                           "can2_sms_status"],
                          {"uuid": "e5", "first_name": "Rita", "last_name": "Moreno", "email": "rita@example.org",
                           "Phone Number": "773-555-0213", "can2_phone": "312-555-0214", "zip_code": "60623",
                           "can2_sms_status": "subscribed"}))
    rita = _person(app, "Rita")
    assert (rita.phone, rita.other_phones) == ("+13125550214", "+17735550213")


# A field-team database's loader of NationBuilder's people export (LOAD DATA of the whole file,
# every column in order: vnpftdb php_code, "Nation Builder tbl load program").
NATIONBUILDER_HEADER = """nationbuilder_id external_id civicrm_id salesforce_id nbec_guid state_file_id county_file_id
dw_id van_id ngp_id rnc_id rnc_regid datatrust_id pf_strat_id prefix first_name middle_name last_name suffix full_name
legal_name email email_opt_in email1 email1_is_bad email2 email2_is_bad email3 email3_is_bad email4 email4_is_bad
unsubscribed_at phone_number work_phone_number mobile_number mobile_opt_in is_mobile_bad fax_number do_not_call
do_not_contact federal_donotcall website facebook_username twitter_login meetup_id primary_address1 primary_address2
primary_address3 primary_city primary_county primary_state primary_zip primary_country_code primary_country
primary_fips primary_submitted_address address_address1 address_address2 address_address3 address_city
address_county address_state address_zip address_country_code address_country address_fips address_submitted_address
registered_address1 registered_address2 registered_address3 registered_city registered_county registered_state
registered_zip registered_country_code registered_country registered_street_number registered_street_prefix
registered_street_name registered_street_type registered_street_suffix registered_unit_number registered_zip5
registered_zip4 registered_fips registered_sort_sequence registered_delivery_point registered_lot
registered_carrier_route registered_submitted_address billing_address1 billing_address2 billing_address3 billing_city
billing_county billing_state billing_zip billing_country_code billing_country billing_fips billing_submitted_address
work_address1 work_address2 work_address3 work_city work_county work_state work_zip work_country_code work_country
work_fips work_submitted_address mailing_address1 mailing_address2 mailing_address3 mailing_city mailing_county
mailing_state mailing_zip mailing_country_code mailing_country mailing_street_number mailing_street_prefix
mailing_street_name mailing_street_type mailing_street_suffix mailing_unit_number mailing_zip5 mailing_zip4
mailing_fips mailing_sort_sequence mailing_delivery_point mailing_lot mailing_carrier_route mailing_submitted_address
user_submitted_address1 user_submitted_address2 user_submitted_address3 user_submitted_city user_submitted_county
user_submitted_state user_submitted_zip user_submitted_country_code user_submitted_country user_submitted_fips
user_submitted_submitted_address supranational_district federal_district state_upper_district state_lower_district
county_district city_district city_sub_district village_district judicial_district school_district
school_sub_district fire_district precinct_name precinct_code media_market_name signup_type tag_list note employer
occupation marital_status sex demo ethnicity language religion church born_at is_deceased is_prospect is_supporter
support_level inferred_support_level priority_level created_at updated_at recruiter_name_or_email recruiter_id
point_person_name_or_email parent_id capital_amount spent_capital_amount received_capital_amount party previous_party
inferred_party party_member registered_at is_active_voter is_early_voter is_absentee_voter
is_permanent_absentee_voter support_probability_score turnout_probability_score is_volunteer availability
membership_names county city experience agree_vetting""".split()


def test_nationbuilder_full_people_export_layout(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = _import(actions, _csv(
        NATIONBUILDER_HEADER,
        {"nationbuilder_id": "101", "external_id": "X-9", "van_id": "6455083", "first_name": "Rosa",
         "last_name": "Martínez", "full_name": "Rosa Martínez", "email": "rosa@example.org", "email_opt_in": "true",
         "email1": "rosa@example.org", "phone_number": "(773) 555-0221", "mobile_number": "(312) 555-0222",
         "mobile_opt_in": "true", "is_mobile_bad": "false", "do_not_call": "false", "do_not_contact": "false",
         "primary_address1": "2400 S Kedzie Ave", "primary_address2": "Apt 2", "primary_city": "Chicago",
         "primary_county": "Cook", "primary_state": "IL", "primary_zip": "60623", "primary_country_code": "US",
         "tag_list": "volunteer, Housing", "note": "Met at the fair", "ethnicity": "Mexican American",
         "language": "Spanish", "county": "Cook", "city": "Chicago", "is_volunteer": "true"},
        {"nationbuilder_id": "102", "first_name": "Luis", "last_name": "Ortega", "email": "luis@example.org",
         "phone_number": "(773) 555-0223", "work_phone_number": "(312) 555-0224", "mobile_number": "(312) 555-0225",
         "mobile_opt_in": "false", "do_not_contact": "false", "primary_zip": "60608", "tag_list": "volunteer"},
        {"nationbuilder_id": "103", "first_name": "Grace", "last_name": "Kim", "mobile_number": "(312) 555-0226",
         "mobile_opt_in": "true", "do_not_contact": "true", "primary_zip": "60616"},
    ))
    assert selected_preset(preview) == "nationbuilder"
    rosa = _person(app, "Rosa")
    assert (rosa.last_name, rosa.phone, rosa.other_phones, rosa.email) == (
        "Martínez", "+13125550222", "+17735550221", "rosa@example.org")
    assert (rosa.address, rosa.city, rosa.postal_code, rosa.preferred_language) == (
        "2400 S Kedzie Ave, Apt 2", "Chicago", "60623", "es")
    assert sorted(t.name for t in rosa.tags) == ["Housing", "volunteer"]
    assert rosa.sms_consent is SmsConsent.OPTED_IN and rosa.notes is None
    luis = _person(app, "Luis")
    assert luis.phone == "+13125550225" and luis.other_phones == "+17735550223;+13125550224"
    assert luis.sms_consent is SmsConsent.OPTED_OUT
    assert _person(app, "Grace").sms_consent is SmsConsent.OPTED_OUT  # do_not_contact


# mobilizeamerica/api README: an attendance's person (user_id, given_name, family_name,
# email_address, phone_number, postal_code, sms_opt_in_status: OPT_IN / OPT_OUT / UNSPECIFIED),
# its event, timeslot, status and attended, flattened one column per field as exports write them.
MOBILIZE_API_HEADER = ["id", "person.user_id", "person.given_name", "person.family_name", "person.email_address",
                       "person.phone_number", "person.postal_code", "person.sms_opt_in_status", "event.id",
                       "event.title", "timeslot.id", "status", "attended"]


def test_mobilize_attendances_in_the_apis_names(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = _import(actions, _csv(
        MOBILIZE_API_HEADER,
        {"id": "198", "person.user_id": "57", "person.given_name": "Sofía", "person.family_name": "Reyes",
         "person.email_address": "sofia@example.org", "person.phone_number": "3125550231",
         "person.postal_code": "60608", "person.sms_opt_in_status": "OPT_IN", "event.id": "345",
         "event.title": "Housing town hall", "timeslot.id": "1", "status": "REGISTERED", "attended": "true"},
        {"id": "199", "person.user_id": "58", "person.given_name": "Peter", "person.family_name": "Walsh",
         "person.email_address": "peter@example.org", "person.phone_number": "3125550232",
         "person.postal_code": "60607", "person.sms_opt_in_status": "UNSPECIFIED", "event.id": "345",
         "event.title": "Housing town hall", "timeslot.id": "1", "status": "CANCELLED"},
        {"id": "200", "person.user_id": "59", "person.given_name": "Ana", "person.family_name": "Lopez",
         "person.email_address": "ana@example.org", "person.phone_number": "3125550233",
         "person.postal_code": "60623", "person.sms_opt_in_status": "OPT_OUT", "event.id": "345",
         "event.title": "Housing town hall", "timeslot.id": "1", "status": "CONFIRMED"},
    ))
    assert selected_preset(preview) == "mobilize"
    assert people_count(app) == 3
    sofia = _person(app, "Sofía")
    assert (sofia.last_name, sofia.phone, sofia.email, sofia.postal_code, sofia.sms_consent) == (
        "Reyes", "+13125550231", "sofia@example.org", "60608", SmsConsent.OPTED_IN)
    assert _person(app, "Peter").sms_consent is SmsConsent.UNKNOWN  # never asked: not opted out
    assert _person(app, "Ana").sms_consent is SmsConsent.OPTED_OUT
