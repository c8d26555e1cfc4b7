"""Legacy ClinicalTrials.gov XML (`<clinical_study>`, the retired AllPublicXML download).

Documents that declare a DOCTYPE or entities are refused: ElementTree expands internal
entities, so such a file could blow up memory ("billion laughs"), and study records never need
them. `<topics>` files (TREC topics) are ignored as non-records.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from ..model import Problem, Study
from .records import Found, RecordError, Where, build_study, intervention_label
from .sources import Document

FORMAT = "xml"

_UNSAFE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.I)

# Study field -> element paths, the first present wins (older files use the *_date names).
_FIELDS = {
    "nct_id": ("id_info/nct_id",),
    "brief_title": ("brief_title",),
    "official_title": ("official_title",),
    "acronym": ("acronym",),
    "status": ("overall_status",),
    "brief_summary": ("brief_summary/textblock",),
    "detailed_description": ("detailed_description/textblock",),
    "phases": ("phase",),
    "study_type": ("study_type",),
    "sponsor": ("sponsors/lead_sponsor/agency",),
    "eligibility_criteria": ("eligibility/criteria/textblock",),
    "sex": ("eligibility/gender",),
    "minimum_age": ("eligibility/minimum_age",),
    "maximum_age": ("eligibility/maximum_age",),
    "healthy_volunteers": ("eligibility/healthy_volunteers",),
    "enrollment": ("enrollment",),
    "first_posted": ("study_first_posted", "firstreceived_date"),
    "last_update_posted": ("last_update_posted", "lastchanged_date"),
    "start_date": ("start_date",),
    "completion_date": ("completion_date",),
}
_LISTS = {
    "conditions": "condition",
    "keywords": "keyword",
    "collaborators": "sponsors/collaborator/agency",
    # The registry's MeSH terms (no as-found words in this format).
    "condition_mesh": "condition_browse/mesh_term",
    "intervention_mesh": "intervention_browse/mesh_term",
}
_INTERVENTION = ("intervention", "intervention_type", "intervention_name")
# Site field -> path under <location>. Legacy XML has no coordinates.
_LOCATION = ("location", {"facility": "facility/name", "city": "facility/address/city",
                          "state": "facility/address/state", "zip": "facility/address/zip",
                          "country": "facility/address/country", "status": "status"})
# Contacts: the element -> its role, for the study's (under the root) and a site's (under
# <location>). Legacy XML names a backup where API v2 lists a second contact.
_CONTACTS = {"overall_contact": "CONTACT", "overall_contact_backup": "BACKUP_CONTACT"}
_SITE_CONTACTS = {"contact": "CONTACT", "contact_backup": "BACKUP_CONTACT"}
# Read for Study.funder_type ("Industry", "NIH", "U.S. Fed", "Other"); also kept in extra.
_SPONSOR_CLASS = "sponsors/lead_sponsor/agency_class"
# Results are bulky and not searched (their presence is Study.has_results); everything else
# unmapped goes to Study.extra.
_NOT_EXTRA = frozenset({
    *(path for paths in _FIELDS.values() for path in paths), *_LISTS.values(),
    *(f"{_INTERVENTION[0]}/{key}" for key in _INTERVENTION[1:]),
    *(f"{_LOCATION[0]}/{key}" for key in _LOCATION[1].values()),
    *_CONTACTS, *(f"{_LOCATION[0]}/{tag}" for tag in _SITE_CONTACTS),
    "clinical_results",
})


def read(doc: Document) -> Iterator[Found | Problem]:
    """Yield the `<clinical_study>` records in an XML document (one per file, or several
    under a wrapper element)."""
    text = doc.text()
    if _UNSAFE.search(text):
        yield doc.problem("XML with a DOCTYPE or ENTITY declaration refused "
                          "(entity expansion is unsafe and study records do not need it)")
        return
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        message = str(exc).split(": line ")[0]  # the position goes in the location instead
        yield doc.problem(f"malformed XML: {message} (column {column})", f"line {line}")
        return
    if root.tag == "clinical_study":
        studies = [(Where(doc.name), root)]
    else:
        studies = [(Where(doc.name, record=n), element)
                   for n, element in enumerate(root.iter("clinical_study"), 1)]
    if not studies:
        yield (doc.ignored("TREC topics") if root.tag == "topics"
               else doc.problem(f"XML, but not a <clinical_study> record (root <{root.tag}>)"))
        return
    for where, element in studies:
        try:
            yield Found(where, to_study(element))
        except RecordError as exc:
            yield where.problem(str(exc))


def to_study(element: ET.Element) -> Study:
    """Map one `<clinical_study>` element. Raises RecordError without a valid NCT ID."""
    values: dict[str, object] = {
        name: next((found for path in paths if (found := element.findtext(path))), None)
        for name, paths in _FIELDS.items()
    }
    values["eligibility_criteria"] = _unwrap(values["eligibility_criteria"])
    values.update({name: [e.text for e in element.iterfind(path)]
                   for name, path in _LISTS.items()})
    tag, type_path, name_path = _INTERVENTION
    values["interventions"] = [intervention_label(e.findtext(type_path), e.findtext(name_path))
                               for e in element.iterfind(tag)]
    tag, place_paths = _LOCATION
    values["sites"] = [{**{name: e.findtext(path) for name, path in place_paths.items()},
                        "contacts": _contacts(e, _SITE_CONTACTS)}
                       for e in element.iterfind(tag)]
    values["contacts"] = _contacts(element, _CONTACTS)
    values["funder_type"] = element.findtext(_SPONSOR_CLASS)
    values["has_results"] = element.find("clinical_results") is not None
    study = build_study(values, FORMAT)
    for key, value in _leaves(element):
        study.add_extra(key, value)
    return study


def _contacts(parent: ET.Element, roles: dict[str, str]) -> list[dict[str, str | None]]:
    """The contacts among `parent`'s children, in document order. A contact is a name in parts
    (older files: first, middle, last name and degrees; later ones the whole name in
    <last_name>), a phone, its extension and an email."""
    found = []
    for child in parent:
        if child.tag in roles:
            name = " ".join(part for part in (child.findtext(tag) for tag in (
                "first_name", "middle_name", "last_name")) if part and part.strip())
            degrees = (child.findtext("degrees") or "").strip()
            found.append({"name": f"{name}, {degrees}" if name and degrees else name or degrees,
                          "role": roles[child.tag], "phone": child.findtext("phone"),
                          "phone_ext": child.findtext("phone_ext"),
                          "email": child.findtext("email")})
    return found


def _unwrap(text: str | None) -> str | None:
    """A textblock's paragraphs, one line each. The AllPublicXML download wraps every line at
    about 100 characters (indenting the continuations) and separates paragraphs and list items
    by blank lines, so the lines between two blank lines are one item as the registry holds
    it."""
    if text is None:
        return None
    paragraphs = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _leaves(root: ET.Element) -> Iterator[tuple[str, str]]:
    """`(path, text)` for every unmapped element with text, and `path@attr` for attributes.
    Iterative, so a deeply nested document cannot exhaust the stack."""
    stack = [(child.tag, child) for child in reversed(root)]
    while stack:
        path, element = stack.pop()
        if path in _NOT_EXTRA:
            continue
        for attribute, value in element.attrib.items():
            yield f"{path}@{attribute}", value
        if element.text and element.text.strip():
            yield path, element.text
        stack.extend((f"{path}/{child.tag}", child) for child in reversed(element))
