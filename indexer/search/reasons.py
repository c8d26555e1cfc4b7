"""Why a study was found for a patient, from its stored record: the conditions it shares with
the patient (its own conditions and the registry's MeSH terms for them), whether the patient's
age and sex fit its limits, and the lines of its eligibility criteria that mention the patient's
conditions or the description's key terms, an exclusion line flagged (it may rule the patient
out). Plain text throughout: the page escapes it, the API returns it as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..eligibility import EXCLUSION, INCLUSION, parse_criteria
from ..index.analysis import analyze
from ..model import Study
from .patient import Patient
from .patient_conditions import NOT_CONDITIONS

LINES_SHOWN = 3  # criteria lines of each kind (inclusion, exclusion) a study's reasons list
MAX_LINE = 300  # characters of a criteria line shown; longer ones are cut at a word
PREGNANCY = tuple(analyze("pregnant pregnancy"))  # the words of criteria about pregnancy
# The words for a cancer, one word when conditions are compared: MeSH says "Carcinoma,
# Non-Small-Cell Lung" and "Lung Neoplasms" where a study or a description says "non-small cell
# lung cancer" and "lung cancer".
_CANCER = frozenset(analyze("cancer carcinoma neoplasm tumor tumour malignancy"))


@dataclass
class CriterionLine:
    """A line of a study's criteria that mentions the patient: its `kind` (inclusion, exclusion,
    or other for criteria under no heading), its text, what of the patient it `mentions` (a
    condition's name, a key term as the description wrote it, "pregnancy"), and whether it is
    `flagged`: an exclusion that may rule the patient out."""

    kind: str
    text: str
    mentions: list[str]
    flagged: bool


@dataclass
class Reasons:
    """Why a study fits a patient (see the module docstring). `age_fits` and `sex_fits` are
    None when the description does not give the age or sex; `age_limits` says the study's
    limits in words ("18 to 65 years", "no age limits"); `sex` whom it enrols (ALL, FEMALE,
    MALE; "" when the record does not say)."""

    conditions: list[str] = field(default_factory=list)
    age_fits: bool | None = None
    age_limits: str = ""
    sex_fits: bool | None = None
    sex: str = ""
    criteria: list[CriterionLine] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form, as the API gives each hit's `reasons`."""
        return asdict(self)


def age_range(minimum: str, maximum: str) -> str:
    """Age limits as written ("18 Years", "64 Years") as words: "18 to 64 years", "18 years
    and older", "up to 17 years"; "" when neither is given."""
    low, high = (" ".join(limit.lower().split()) for limit in (minimum, maximum))
    if low and high:
        number, _, unit = low.partition(" ")
        return f"{number} to {high}" if high.endswith(unit) else f"{low} to {high}"
    return f"{low} and older" if low else f"up to {high}" if high else ""


def reasons_for(study: Study, patient: Patient, terms: dict[str, str]) -> Reasons:
    """Why `study` fits `patient`; `terms` are the description's key terms to look for in the
    criteria (analyzed word -> as the description wrote it)."""
    age = patient.age_years
    low, high = study.minimum_age_years, study.maximum_age_years
    return Reasons(
        conditions=_shared_conditions(study, patient),
        age_fits=None if age is None else (low is None or age >= low) and (high is None or age <= high),
        age_limits=age_range(study.minimum_age, study.maximum_age) or "no age limits",
        sex_fits=None if patient.sex is None else study.sex in ("", "ALL", patient.sex),
        sex=study.sex,
        criteria=_criteria_lines(study, patient, terms),
    )


def _shared_conditions(study: Study, patient: Patient) -> list[str]:
    """The study's conditions and MeSH condition terms that are one of the patient's: all the
    words of one inside the other ("Type 2 Diabetes" and diabetes; "Carcinoma, Ductal, Breast"
    and ductal breast cancer)."""
    forms = [_words(form) for condition in patient.conditions for form in condition.forms]
    shared = []
    for name in dict.fromkeys([*study.conditions, *study.condition_mesh]):
        words = _words(analyze(name)) - NOT_CONDITIONS
        if words and any(form <= words or words <= form for form in forms):
            shared.append(name)
    return shared


def _words(words) -> set[str]:
    """Analyzed words as conditions are compared: every word for a cancer as one."""
    return {"cancer" if word in _CANCER else word for word in words}


def _criteria_lines(study: Study, patient: Patient, terms: dict[str, str]) -> list[CriterionLine]:
    """The criteria lines that mention the patient, those mentioning most first (a condition
    counts twice a key term), at most LINES_SHOWN of each kind, in the registry's order within
    a kind."""
    if not study.eligibility_criteria:
        return []
    sought = [(condition.name, form, 2) for condition in patient.conditions for form in condition.forms]
    covered = {word for _, form, _ in sought for word in form}
    sought += [(written, (word,), 1) for word, written in terms.items() if word not in covered]
    if patient.pregnant:
        sought += [("pregnancy", (word,), 2) for word in PREGNANCY]
    lines = []
    for order, section in enumerate(parse_criteria(study.eligibility_criteria).sections):
        for position, item in enumerate(section.items):
            words = analyze(item)
            mentions: dict[str, int] = {}
            for name, form, weight in sought:
                if _contains(words, form):
                    mentions[name] = max(mentions.get(name, 0), weight)
            if mentions:
                kind = section.kind if section.kind in (INCLUSION, EXCLUSION) else "other"
                lines.append((-sum(mentions.values()), (order, position), kind, item, list(mentions)))
    shown: list[tuple] = []
    for kind in (INCLUSION, EXCLUSION, "other"):
        shown += sorted(line for line in lines if line[2] == kind)[:LINES_SHOWN]
    return [CriterionLine(kind, _clip(item), mentions, kind == EXCLUSION)
            for _, _, kind, item, mentions in sorted(shown, key=lambda line: line[1])]


def _contains(words: list[str], form: tuple[str, ...]) -> bool:
    """Whether `form`'s words stand in a row in `words`."""
    size = len(form)
    return any(tuple(words[i:i + size]) == form for i in range(len(words) - size + 1)
               if words[i] == form[0])


def _clip(text: str) -> str:
    if len(text) <= MAX_LINE:
        return text
    return text[:MAX_LINE].rsplit(" ", 1)[0] + " …"
