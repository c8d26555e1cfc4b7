"""The retired classic ClinicalTrials.gov API (`FullStudies`): a `Study` object holding a
PascalCase `ProtocolSection` where every list is wrapped (`ConditionList.Condition`), and a
`DerivedSection` whose MeSH terms are read (`Study.condition_mesh`, ...)."""

from __future__ import annotations

from ..model import Study
from .jsonmap import JsonLayout, MeshLayout

FORMAT = "api_v1"


def _contact_keys(prefix: str) -> dict[str, str]:
    """Contact field -> key in this dialect's contact objects: `CentralContactName`, ..."""
    return {"name": f"{prefix}Name", "role": f"{prefix}Role", "phone": f"{prefix}Phone",
            "phone_ext": f"{prefix}PhoneExt", "email": f"{prefix}EMail"}


LAYOUT = JsonLayout(
    fields={
        "nct_id": "IdentificationModule.NCTId",
        "brief_title": "IdentificationModule.BriefTitle",
        "official_title": "IdentificationModule.OfficialTitle",
        "acronym": "IdentificationModule.Acronym",
        "status": "StatusModule.OverallStatus",
        "first_posted": "StatusModule.StudyFirstPostDateStruct.StudyFirstPostDate",
        "last_update_posted": "StatusModule.LastUpdatePostDateStruct.LastUpdatePostDate",
        "start_date": "StatusModule.StartDateStruct.StartDate",
        "completion_date": "StatusModule.CompletionDateStruct.CompletionDate",
        "sponsor": "SponsorCollaboratorsModule.LeadSponsor.LeadSponsorName",
        "brief_summary": "DescriptionModule.BriefSummary",
        "detailed_description": "DescriptionModule.DetailedDescription",
        "study_type": "DesignModule.StudyType",
        "enrollment": "DesignModule.EnrollmentInfo.EnrollmentCount",
        "eligibility_criteria": "EligibilityModule.EligibilityCriteria",
        "sex": "EligibilityModule.Gender",
        "minimum_age": "EligibilityModule.MinimumAge",
        "maximum_age": "EligibilityModule.MaximumAge",
        "healthy_volunteers": "EligibilityModule.HealthyVolunteers",
    },
    lists={
        "collaborators": "SponsorCollaboratorsModule.CollaboratorList.Collaborator.CollaboratorName",
        "conditions": "ConditionsModule.ConditionList.Condition",
        "keywords": "ConditionsModule.KeywordList.Keyword",
        "phases": "DesignModule.PhaseList.Phase",
        "std_ages": "EligibilityModule.StdAgeList.StdAge",
    },
    interventions=("ArmsInterventionsModule.InterventionList.Intervention",
                   "InterventionType", "InterventionName"),
    sites=("ContactsLocationsModule.LocationList.Location", {
        "facility": "LocationFacility", "city": "LocationCity", "state": "LocationState",
        "zip": "LocationZip", "country": "LocationCountry", "status": "LocationStatus"}),
    contacts=("ContactsLocationsModule.CentralContactList.CentralContact",
              _contact_keys("CentralContact")),
    site_contacts=("LocationContactList.LocationContact", _contact_keys("LocationContact")),
    # The raw class (OTHER_GOV, NETWORK, ...) stays in extra.
    kept={"funder_type": "SponsorCollaboratorsModule.LeadSponsor.LeadSponsorClass"},
)

MESH = MeshLayout(
    condition_terms="ConditionBrowseModule.ConditionMeshList.ConditionMesh.ConditionMeshTerm",
    intervention_terms="InterventionBrowseModule.InterventionMeshList.InterventionMesh"
                       ".InterventionMeshTerm",
    condition_leaves=("ConditionBrowseModule.ConditionBrowseLeafList.ConditionBrowseLeaf",
                      "ConditionBrowseLeafName", "ConditionBrowseLeafAsFound",
                      "ConditionBrowseLeafRelevance"),
)


def is_record(record: dict) -> bool:
    """True for a classic-API `Study` object."""
    return "ProtocolSection" in record


def to_study(record: dict) -> Study:
    """Map one classic-API `Study` object. Raises RecordError without a valid NCT ID.

    The classic API sends a `ResultsSection` exactly when results are posted, so its absence
    means none."""
    return LAYOUT.to_study(record.get("ProtocolSection"), FORMAT,
                           more={"has_results": isinstance(record.get("ResultsSection"), dict),
                                 **MESH.values(record.get("DerivedSection"))})
