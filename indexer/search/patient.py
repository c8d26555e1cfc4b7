"""What a patient's description says about who the patient is: the age in years, the sex and
whether she is pregnant, each with the words it was read from (`read_patient`). Patient mode
(`match.py`) filters studies by the age and sex and shows all three back as chips.

The reading is a handful of regular expressions over the way case descriptions are written
("A 58-year-old woman", "48 M with", "22yo F", "a 3 month old infant", "aged 70", "the
patient ... she"), not a parser of English: what it does not find it leaves unknown, and an
unknown age or sex filters nothing. On the 124 visible TREC and SIGIR topics it reads the age
and sex of every topic that states them (tests/search/test_patient.py, against a person's
reading in tests/fixtures/patient_topics.tsv).

    read_patient("A 58-year-old woman, nonsmoker, with exertional dyspnea")
    -> Patient(age_years=58.0, age_text="58-year-old", sex="FEMALE", sex_text="woman", ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FEMALE, MALE = "FEMALE", "MALE"  # the registry's values (catalog.registry.SEX), as filters take them
# Days in a unit of age, for ages written in months, weeks or days (a 3-day-old infant).
_UNIT_YEARS = {"y": 1.0, "m": 1 / 12, "w": 7 / 365.25, "d": 1 / 365.25}
_NUMBER = r"(?P<n>\d{1,3}(?:\.\d)?)"
_UNIT = r"(?P<unit>years?|yrs?|months?|mos?|weeks?|wks?|days?)"
# The ways an age is written, strongest first: "58-year-old", "58 years of age", "58 yo",
# "58 y/o", "aged 58", and the clinical shorthand at the start of a note, "48 M", "74M".
_AGES = [
    re.compile(rf"\b{_NUMBER}[\s-]*{_UNIT}[\s-]*(?:old\b|of\s+age\b)", re.I),
    re.compile(rf"\b{_NUMBER}\s*(?:yo\b|y/o\b|y\.o\.?|yrs?\s+old\b)", re.I),
    re.compile(rf"\baged\s+{_NUMBER}\b(?:\s*{_UNIT}\b)?", re.I),
    re.compile(rf"^\W*{_NUMBER}\s?(?=[MF]\b)"),
]
# An age that dates an event in the patient's past, not the patient's age: "at age 22",
# "since the age of 12", "born at the age of 38 weeks".
_EVENT_AGE = re.compile(r"\b(?:at|since|from|by|before|until)\s+(?:the\s+)?(?:age\s+(?:of\s+)?)?$",
                        re.I)
# A sex word (case aside); and the one-letter shorthand right after an age ("48 M", "74M",
# "22yo F"), which counts nowhere else ("104F" is a temperature).
_SEX_WORD = re.compile(r"\b(?:(?P<female>woman|female|girl|lady|mrs|ms)|"
                       r"(?P<male>man|male|boy|gentleman|mr))\b", re.I)
_SHORTHAND = re.compile(r"\s*(?:(?P<female>F)|(?P<male>M))\b")
_PRONOUNS = re.compile(r"\b(?:(?P<female>she|her|hers|herself)|(?P<male>he|him|his|himself))\b", re.I)
# Where a sentence ends: a full stop, question or exclamation mark before a space or the end
# (not inside "2.5" or "y.o."), a semicolon or a line break.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[;\n]")
# Pregnancy: "pregnant", "11 weeks gestation", "second trimester", "in her second pregnancy",
# "ectopic pregnancy"; but not "negative for pregnancy", "3 prior pregnancies", "born at 34
# weeks of gestation" or "the mother had a normal pregnancy" (see _NOT_HER_PREGNANCY).
_PREGNANT = re.compile(
    r"\bpregnant\b|\b\d{1,2}\s*(?:weeks?|wks?|w)\b[\s-]*(?:of\s+)?(?:gestation|pregnan)|"
    r"\b(?:first|second|third|1st|2nd|3rd)\s+trimester\b|"
    r"\b(?:her|current|ongoing|ectopic|intrauterine|tubal|molar|twin)\s+(?:\w+\s+)?pregnancy\b",
    re.I)
_NOT_HER_PREGNANCY = re.compile(
    r"\b(?:not|no|negative|denies|denied|prior|previous|past|history|born|mother|sister|wife|"
    r"partner|girlfriend|daughter|prevent\w*|avoid\w*|trying|contracepti\w*)\b|\bnon-?pregnan", re.I)


@dataclass(frozen=True)
class Patient:
    """Who a description says the patient is. `age_years` (None: not stated) with
    `age_text`, the words it was read from ("58-year-old"); `sex` FEMALE or MALE (None: not
    stated) with `sex_text` ("woman", "she"); `pregnant` with `pregnant_text` ("11 weeks
    gestation"); `conditions`, the conditions the description names (`conditions.py`'s
    `Condition`s, read against the index's vocabulary by the caller)."""

    age_years: float | None = None
    age_text: str = ""
    sex: str | None = None
    sex_text: str = ""
    pregnant: bool = False
    pregnant_text: str = ""
    conditions: tuple = ()

    def to_dict(self) -> dict:
        """JSON-ready form, as the API returns it."""
        return {"age_years": self.age_years, "age_text": self.age_text, "sex": self.sex,
                "sex_text": self.sex_text, "pregnant": self.pregnant,
                "pregnant_text": self.pregnant_text,
                "conditions": [condition.to_dict() for condition in self.conditions]}


def read_patient(text: str) -> Patient:
    """The age, sex and pregnancy `text` states (see the module docstring); conditions are left
    to `conditions.conditions_named`, which needs the index."""
    age = _age(text)
    sex, sex_text = _sex(text, age[2] if age else 0)
    pregnant_text = _pregnancy(text)
    if pregnant_text and sex is None:  # only a woman is pregnant
        sex, sex_text = FEMALE, pregnant_text
    return Patient(age_years=age[0] if age else None, age_text=age[1] if age else "",
                   sex=sex, sex_text=sex_text, pregnant=bool(pregnant_text),
                   pregnant_text=pregnant_text)


def _age(text: str) -> tuple[float, str, int] | None:
    """The first age the text gives the patient, by the strongest way of writing one: (years,
    the words, where they end); None when it gives none."""
    for pattern in _AGES:
        for match in pattern.finditer(text):
            if _EVENT_AGE.search(text[max(0, match.start() - 30):match.start()]):
                continue
            unit = (match.groupdict().get("unit") or "y").lower()
            years = float(match.group("n")) * _UNIT_YEARS["m" if unit.startswith("mo") else unit[0]]
            if years <= 150:
                return round(years, 4), match.group(0).strip(), match.end()
    return None


def _sex(text: str, after_age: int) -> tuple[str | None, str]:
    """The sex the text gives the patient: a sex word in the sentence that gives the age (from
    the age on: "a 58-year-old woman", "48 M"), else in the first sentence, else the pronouns
    that outnumber the others ("he" and "his", or "she" and "her"), since a sex word elsewhere
    is as likely someone else's ("his wife", "her mother")."""
    if after_age and (letter := _SHORTHAND.match(text, after_age)):
        return (FEMALE if letter.group("female") else MALE), letter.group(0).strip()
    end = _SENTENCE_END.search(text, after_age)
    first_end = _SENTENCE_END.search(text)
    for start, stop in ((after_age, end.start() if end else len(text)),
                        (0, first_end.start() if first_end else len(text))):
        found = _SEX_WORD.search(text, start, stop)
        if found:
            return (FEMALE if found.group("female") else MALE), found.group(0)
    counts = {FEMALE: [], MALE: []}
    for found in _PRONOUNS.finditer(text):
        counts[FEMALE if found.group("female") else MALE].append(found.group(0))
    if len(counts[FEMALE]) == len(counts[MALE]):
        return None, ""
    sex = FEMALE if len(counts[FEMALE]) > len(counts[MALE]) else MALE
    return sex, counts[sex][0]


def _pregnancy(text: str) -> str:
    """The words that say the patient is pregnant ('' when nothing does): a pregnancy word in a
    sentence that does not deny it, date it to her past or give it to someone else."""
    for match in _PREGNANT.finditer(text):
        start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, match.start())), default=0)
        end = _SENTENCE_END.search(text, match.end())
        sentence = text[start:end.start() if end else len(text)]
        if not _NOT_HER_PREGNANCY.search(sentence):
            return match.group(0)
    return ""


# The commonest short words of the languages other than English a case note is likeliest to be
# written in (none of them an English word), and English's own: a description with more of
# another language's than of English's (and at least LANGUAGE_WORDS of them) is read as that
# language, which the English regular expressions and the index's English analysis read poorly.
_LANGUAGE_WORDS = {
    "Spanish": "el la los las del y con una por para que es años paciente mujer hombre varón "
               "sin desde tiene presenta",
    "French": "le la les des et avec une du est dans pour qui ans patiente femme homme sans depuis "
              "présente",
    "German": "der die das und mit ein eine ist von den im jahre jährige jähriger patientin frau "
              "mann seit ohne nicht",
    "Portuguese": "da do com uma os em para que anos paciente mulher homem sem desde não apresenta",
    "Italian": "il di che con una gli per del della anni paziente donna uomo senza dal presenta",
}
_ENGLISH_WORDS = frozenset("the a an and with of in on to for is was has had have he she his her "
                           "years year old who which at by from no not patient presents "
                           "history".split())
_OTHER_WORDS = {language: frozenset(words.split()) - _ENGLISH_WORDS
                for language, words in _LANGUAGE_WORDS.items()}
LANGUAGE_WORDS = 3
_WORD = re.compile(r"[^\W\d_]+")


def other_language(text: str) -> str | None:
    """The language other than English `text` seems written in ("Spanish"), or None: more of
    its words are that language's commonest than English's, and at least LANGUAGE_WORDS."""
    words = [word.lower() for word in _WORD.findall(text)]
    english = sum(word in _ENGLISH_WORDS for word in words)
    counts = {language: sum(word in own for word in words) for language, own in _OTHER_WORDS.items()}
    language, most = max(counts.items(), key=lambda item: item[1])
    return language if most >= LANGUAGE_WORDS and most > english else None
