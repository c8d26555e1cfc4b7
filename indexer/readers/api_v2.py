"""ClinicalTrials.gov API v2 study objects (`{"protocolSection": {...}}`), camelCase.

Only the protocol section is mapped; results and document sections are left out (they are large
and not searched), apart from the `hasResults` flag (`Study.has_results`), and of the derived
section only the MeSH terms are read (`Study.condition_mesh`, ...; see `MeshLayout`).
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Study
from .jsonmap import JsonLayout, MeshLayout

FORMAT = "api_v2"
# Contact field -> key, in a central contact and in a location's contact alike.
CONTACT_KEYS = {"name": "name", "role": "role", "phone": "phone", "phone_ext": "phoneExt",
                "email": "email"}

LAYOUT = JsonLayout(
    fields={
        "nct_id": "identificationModule.nctId",
        "brief_title": "identificationModule.briefTitle",
        "official_title": "identificationModule.officialTitle",
        "acronym": "identificationModule.acronym",
        "status": "statusModule.overallStatus",
        "first_posted": "statusModule.studyFirstPostDateStruct.date",
        "last_update_posted": "statusModule.lastUpdatePostDateStruct.date",
        "start_date": "statusModule.startDateStruct.date",
        "completion_date": "statusModule.completionDateStruct.date",
        "sponsor": "sponsorCollaboratorsModule.leadSponsor.name",
        "brief_summary": "descriptionModule.briefSummary",
        "detailed_description": "descriptionModule.detailedDescription",
        "study_type": "designModule.studyType",
        "enrollment": "designModule.enrollmentInfo.count",
        "eligibility_criteria": "eligibilityModule.eligibilityCriteria",
        "sex": "eligibilityModule.sex",
        "minimum_age": "eligibilityModule.minimumAge",
        "maximum_age": "eligibilityModule.maximumAge",
        "healthy_volunteers": "eligibilityModule.healthyVolunteers",
    },
    lists={
        "collaborators": "sponsorCollaboratorsModule.collaborators.name",
        "conditions": "conditionsModule.conditions",
        "keywords": "conditionsModule.keywords",
        "phases": "designModule.phases",
        "std_ages": "eligibilityModule.stdAges",
    },
    interventions=("armsInterventionsModule.interventions", "type", "name"),
    sites=("contactsLocationsModule.locations", {
        "facility": "facility", "city": "city", "state": "state", "zip": "zip",
        "country": "country", "status": "status", "lat": "geoPoint.lat", "lon": "geoPoint.lon"}),
    contacts=("contactsLocationsModule.centralContacts", CONTACT_KEYS),
    site_contacts=("contacts", CONTACT_KEYS),
    # INDUSTRY, NIH, FED, OTHER_GOV, INDIV, NETWORK, OTHER, UNKNOWN: the class stays in extra.
    kept={"funder_type": "sponsorCollaboratorsModule.leadSponsor.class"},
)

MESH = MeshLayout(
    condition_terms="conditionBrowseModule.meshes.term",
    intervention_terms="interventionBrowseModule.meshes.term",
    condition_leaves=("conditionBrowseModule.browseLeaves", "name", "asFound", "relevance"),
)

# API v2 text is Markdown: `\<126 mg/dl`, `\[1\]`. Searchers want the plain characters.
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>&|~])")


def is_record(record: dict) -> bool:
    """True for an API v2 study object."""
    return "protocolSection" in record


def to_study(record: dict) -> Study:
    """Map one API v2 study object. Raises RecordError without a valid NCT ID."""
    return LAYOUT.to_study(record.get("protocolSection"), FORMAT, _unescape,
                           {"has_results": record.get("hasResults"),
                            **MESH.values(record.get("derivedSection"), _unescape)})


def _unescape(value: Any) -> Any:
    return _MARKDOWN_ESCAPE.sub(r"\1", value) if isinstance(value, str) else value
