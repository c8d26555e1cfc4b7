"""`trialsearch match`: patient mode in the terminal. A patient's description from a file or
standard input in; the studies the patient could join out, each with why (what the patient
shares with it, whether the age and sex fit, the criteria lines that mention the patient,
exclusions flagged). A thin layer over `SearchIndex.match`."""

from __future__ import annotations

import json

import click

from ..search import MAX_DESCRIPTION, MAX_PER_PAGE, MODES, MatchRequest, open_index
from ..search.patient import FEMALE
from .main import FatalError, index_option, json_option, plural
from .search import filter_option

_SEX = {"female": "FEMALE", "male": "MALE"}


def read_description(source) -> str:
    """The description in `source` (an open text file), refused when it is over the limit: read
    no further than one character past it."""
    try:
        text = source.read(MAX_DESCRIPTION + 1)
    except UnicodeDecodeError as exc:
        raise FatalError(f"{source.name}: not UTF-8 text ({exc.reason})") from None
    if len(text) > MAX_DESCRIPTION:
        raise FatalError(f"{source.name}: the description is over the limit of "
                         f"{MAX_DESCRIPTION:,} characters")
    return text


@click.command(name="match")
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE|-")
@index_option
@click.option("--limit", "-n", default=MatchRequest.per_page, show_default=True,
              type=click.IntRange(1, MAX_PER_PAGE), help="Number of studies.")
@click.option("--page", default=MatchRequest.page, show_default=True, type=click.IntRange(min=1))
@click.option("--age", type=click.FloatRange(0, 150),
              help="The patient's age in years, instead of what the description says.")
@click.option("--sex", type=click.Choice(list(_SEX), case_sensitive=False),
              help="The patient's sex, instead of what the description says.")
@click.option("--condition", "conditions", multiple=True, metavar="NAME",
              help="A condition the patient has (repeatable), instead of those the description "
                   "names.")
@click.option("--age-filter/--no-age-filter", default=True, show_default=True,
              help="Keep to studies whose age limits include the patient's age.")
@click.option("--sex-filter/--no-sex-filter", default=True, show_default=True,
              help="Keep to studies that enrol the patient's sex.")
@filter_option
@click.option("--mode", type=click.Choice(MODES),
              help="How studies match (see `trialsearch search --help`). [default: hybrid where "
                   "the index has study vectors, else keyword]")
@json_option
def match(source, index_path, limit, page, age, sex, conditions, age_filter, sex_filter, filters,
          mode, as_json):
    """Find the studies a patient could join, from a description of the patient (FILE, or -
    for standard input), and say why each fits.

    The description's age (\"58-year-old\", \"aged 70\") and sex (woman, man, he, she) keep to
    the studies whose limits include them (a study that states none always stays); its key
    terms and the conditions it names rank the studies, with its meaning. The description is
    read from FILE and never written anywhere.

    \b
    Example:
        echo "A 58-year-old woman, nonsmoker, with exertional dyspnea and a left lung mass on \\
              chest x-ray." | trialsearch match -
        trialsearch match case.txt --filter status=recruiting --filter near=Boston --no-sex-filter
    """
    description = read_description(source)
    if age is not None:
        filters.setdefault("age", []).append(f"{age:g}")
    if sex is not None:
        filters.setdefault("sex", []).append(_SEX[sex.lower()])
    request = MatchRequest(description=description, filters=filters, age_filter=age_filter,
                           sex_filter=sex_filter, conditions=conditions or None, mode=mode,
                           page=page, per_page=limit)
    result = open_index(index_path).match(request)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    _print(result, (page - 1) * limit + 1)


def _print(result, first: int) -> None:
    patient = result.patient
    age = f"{patient.age_years:g} years ({patient.age_text})" if patient.age_years is not None \
        else "age not given"
    sex = f"{patient.sex.lower()} ({patient.sex_text})" if patient.sex else "sex not given"
    named = ", ".join(c.name + (f" ({c.text})" if c.text in c.synonyms else "")
                      for c in patient.conditions) or "none the index knows"
    click.echo(f"Patient: {age}, {sex}{', pregnant' if patient.pregnant else ''}; "
               f"conditions: {named}")
    applied = [f"age {result.filters['age']:g}" if result.filters["age"] is not None else "",
               f"sex {result.filters['sex'].lower()}" if result.filters["sex"] else ""]
    if any(applied):
        click.echo(f"Filtered by: {', '.join(filter(None, applied))}.")
    for notice in result.notices:
        click.echo(f"Note: {notice}", err=True)
    search = result.search
    click.echo(f"{plural(search.total, 'study matches', 'studies match')} "
               f"({search.mode}, {result.took_ms:.1f} ms).")
    for rank, (hit, why) in enumerate(zip(result.hits, result.reasons), start=first):
        click.echo()
        click.echo(f"{rank}. {hit.nct_id}  [{hit.status or 'status not given'}]  {hit.title}")
        if why.conditions:
            click.echo(f"   Shares: {'; '.join(why.conditions)}")
        click.echo(f"   Ages: {why.age_limits}{_fit(why.age_fits)}. "
                   f"Sex: {_enrols(why.sex)}{_fit(why.sex_fits)}.")
        for line in why.criteria:
            mark = "!" if line.flagged else "+" if line.kind == "inclusion" else "·"
            click.echo(f"   {mark} {line.kind.capitalize()}: {line.text}  "
                       f"[{', '.join(line.mentions)}]")


def _fit(fits: bool | None) -> str:
    return "" if fits is None else " (fits)" if fits else " (DOES NOT FIT)"


def _enrols(sex: str) -> str:
    if sex in ("", "ALL"):
        return "any sex" if sex else "sex not stated"
    return "women only" if sex == FEMALE else "men only"
