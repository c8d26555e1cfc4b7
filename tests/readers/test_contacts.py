"""Contacts on real records: the study's central contacts and each site's, from API v2, the
classic API and legacy XML; they leave `Study.extra`; stored records round-trip, and a
record stored before contacts existed still reads."""

from __future__ import annotations

import json

import pytest
from conftest import studies_in

from indexer import build_index, open_index
from indexer.model import Contact, Site, Study

CONTACT_KEY_PARTS = ("centralcontact", "locations.contacts", "locationcontact",
                     "overall_contact", "location/contact")


def contact_keys(studies: dict[str, Study]) -> list[str]:
    """The `extra` keys of every study that hold a contact (there should be none)."""
    return [key for study in studies.values() for key in study.extra
            if any(part in key.lower() for part in CONTACT_KEY_PARTS)]


def counts(studies: dict[str, Study]) -> tuple[int, int]:
    """(central contacts, site contacts) over `studies`."""
    return (sum(len(s.contacts) for s in studies.values()),
            sum(len(site.contacts) for s in studies.values() for site in s.sites))


def test_api_v2_central_and_site_contacts(v2):
    study = v2["NCT06171568"]
    assert study.contacts == [
        Contact("Camille Heslot, MD", "CONTACT", "01.49.95.81.69", "+33", "camille.heslot@aphp.fr"),
        Contact("Alexis Schnitzler, MD, PhD", "CONTACT", "01.40.05.49.58", "+33",
                "alexis.schnitzler@aphp.fr")]
    [site] = study.sites
    assert site.facility == "Neurosurgery - Lariboisière hospital" and site.contacts == (
        Contact("Camille Heslot, MD", "CONTACT", "01.49.95.81.69", "+33", "camille.heslot@aphp.fr"),
        Contact("Emmanuel Mandonnet, MD, PhD", "CONTACT", "01.49.95.81.69", "+33",
                "emmanuel.mandonnet@aphp.fr"))
    # A contact with a name only is kept: the name is something to ask for.
    assert v2["NCT03475563"].contacts[1] == Contact("Imanol Otaegui", "CONTACT")
    assert counts(v2) == (4, 5)  # counted in the file when this was written
    assert contact_keys(v2) == []
    # Officials are no contacts: they stay among the other fields.
    assert study.extra["contactsLocationsModule.overallOfficials.name"] == [
        "Emmanuel Mandonnet, MD, PhD", "Alexis Schnitzler, MD, PhD"]


def test_classic_api_central_and_site_contacts(v1):
    study = v1["NCT04780763"]
    assert study.contacts == [
        Contact("Silvia MIRET-CATALAN", "CONTACT", "+33 (0)6 15 37 21 02", "",
                "silvia.miret-catalan@danone.com"),
        Contact("Jennifer LOURENCO", "CONTACT", "+33 (0)6 29 22 03 68", "",
                "Jennifer.lourenco@danone.com")]
    leuven = next(site for site in study.sites if site.city == "Leuven")
    assert leuven.contacts == (
        Contact("Karlien Geboers", "CONTACT", "+32 16 34 52 82", "", "karlien.geboers@uzleuven.be"),
        Contact("Tim Vanuytsel, MD Prof.", "PRINCIPAL_INVESTIGATOR"))
    assert v1["NCT04963790"].contacts[0].phone_ext == "6420"
    assert counts(v1) == (171, 326)
    assert contact_keys(v1) == []


def test_legacy_xml_contacts_and_backups(xml):
    duke = xml["NCT01220531"]
    assert duke.contacts == [
        Contact("M. Louise Markert, M.D., Ph.D", "CONTACT", "919-684-6263", "", "marke001@mc.duke.edu"),
        Contact("Stephanie Gupton, RN, CPNP", "BACKUP_CONTACT", "919-684-4704", "",
                "stephanie.gupton@dm.duke.edu")]
    [site] = duke.sites
    assert [contact.role for contact in site.contacts] == ["CONTACT", "BACKUP_CONTACT"]
    # Investigators are no contacts: they stay among the other fields.
    assert duke.extra["location/investigator/last_name"] == ["M. Louise Markert, M.D., Ph.D"]
    roche = xml["NCT03424005"]  # a central line, not a person, as the registry has it
    assert roche.contacts == [Contact(
        "Reference Study ID Number: CO40115 www.roche.com/about_roche/roche_worldwide.htm",
        "CONTACT", "888-662-6728 (U.S. and Canada)", "", "global-roche-genentech-trials@gene.com")]
    assert counts(xml) == (62, 1162)
    assert contact_keys(xml) == []


def test_legacy_xml_names_in_parts(tmp_path):
    """Older files split a name into first, middle and last name and degrees."""
    (tmp_path / "NCT00000001.xml").write_text(
        "<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info>"
        "<overall_contact><first_name>Ada</first_name><middle_name>B.</middle_name>"
        "<last_name>Lovelace</last_name><degrees>MD</degrees><phone>555-0100</phone>"
        "<phone_ext>12</phone_ext></overall_contact>"
        "<overall_contact_backup><email>trials@example.org</email></overall_contact_backup>"
        "<location><facility><name>Clinic</name></facility>"
        "<contact><last_name> </last_name></contact></location></clinical_study>",
        encoding="utf-8")
    study = studies_in(tmp_path)["NCT00000001"]
    assert study.contacts == [Contact("Ada B. Lovelace, MD", "CONTACT", "555-0100", "12"),
                              Contact("", "BACKUP_CONTACT", email="trials@example.org")]
    assert study.sites == [Site("Clinic")]  # a contact with nothing to reach is none
    assert study.extra == {}


def test_contact_values_are_cleaned():
    assert Contact.from_values({"name": "  Jo   Doe ", "role": "Principal Investigator",
                                "phone": "N/A"}) == Contact("Jo Doe", "PRINCIPAL_INVESTIGATOR")
    assert Contact.from_values({"role": "CONTACT", "phone_ext": "12"}) is None


def test_contacts_round_trip_through_the_stored_json(v2, v1, xml):
    for study in (v2["NCT06171568"], v1["NCT04780763"], xml["NCT01220531"]):
        stored = json.loads(json.dumps(study.to_dict(), ensure_ascii=False))
        assert stored["contacts"][0]["email"] and stored["sites"][0]["contacts"]
        assert Study.from_dict(stored) == study


def test_a_stored_record_is_what_dataclasses_asdict_makes(shared_data):
    """`Study.to_dict` builds the stored record without asdict's deep copies: the same dict,
    key order and value types (tuples stay tuples) for every study of the shared data."""
    import dataclasses
    from datetime import date

    from indexer import SAMPLE_DATA
    from indexer.readers import read_sources

    count = 0
    for study in read_sources([shared_data, SAMPLE_DATA]):
        if isinstance(study, Study):
            expected = dataclasses.asdict(study)
            expected.update({name: value.isoformat() for name, value in expected.items()
                             if isinstance(value, date)}, title=study.title)
            assert repr(study.to_dict()) == repr(expected), study.nct_id
            count += 1
    assert count > 1000


def test_a_record_stored_before_contacts_reads(v2):
    data = v2["NCT06171568"].to_dict()
    del data["contacts"]
    for site in data["sites"]:
        del site["contacts"]
    study = Study.from_dict(json.loads(json.dumps(data)))
    assert study.contacts == [] and study.sites[0].contacts == ()
    assert study.sites[0].facility == "Neurosurgery - Lariboisière hospital"
    odd = Study.from_dict({"nct_id": "NCT00000001", "contacts": [{"name": "A"}, "B", {}, 3],
                           "sites": [{"facility": "F", "contacts": "none"}]})
    assert odd.contacts == [Contact("A")] and odd.sites == [Site("F")]


def test_an_index_keeps_the_contacts(shared_data, tmp_path):
    index = tmp_path / "index_data"
    build_index([shared_data / "ctgov" / "legacy_xml" / "NCT01220531.xml"], index)
    study = open_index(index).get("NCT01220531")
    assert [contact.name for contact in study.contacts] == [
        "M. Louise Markert, M.D., Ph.D", "Stephanie Gupton, RN, CPNP"]
    assert len(study.sites[0].contacts) == 2


@pytest.mark.parametrize("role", ["Contact", "CONTACT", "contact"])
def test_roles_are_the_registrys_enum(role):
    assert Contact.from_values({"name": "A", "role": role}).role == "CONTACT"
