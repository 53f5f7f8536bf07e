"""Labelled deduplication benchmark: real titles, injected duplicates and hard non-duplicates.

Base works are (title, abstract, doi, year) tuples - the real screening sets in ``../shared`` or
any other list (``synthetic_bases`` makes one for tests). Each base work gets deterministic
synthetic authors, journal, volume, pages and sometimes a PMID/DOI. Then, from a seeded RNG:

* duplicates: the same work as another database exports it, with 1-3 perturbations
  (``PERTURBATIONS``): missing DOI, case/punctuation, HTML entities, author initials, cut
  subtitle, journal abbreviation, epub/print year, whitespace/diacritics, DOI as URL, a typo,
  page format, missing abstract/journal;
* hard non-duplicates (``HARD_NEGATIVES``): the same title in another year by other authors,
  an erratum, a comment, a reply, a retraction notice, the trial's protocol, a conference abstract.

The truth is by construction: every base work is distinct (exact repeats of a normalised title
in the input are dropped, since the screening sets overlap), a duplicate belongs to its base
work, a hard non-duplicate is a work of its own. ``evaluate`` scores a ``DedupResult`` on pairs.

Run ``python eval/dedup_benchmark.py`` for the full benchmark on ../shared.
"""

from __future__ import annotations

import csv
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from math import comb
from pathlib import Path

from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from metasift.dedup import DedupResult
from metasift.dedup.normalise import STOPWORDS, split_title, title_kind, title_numbers
from metasift.records import Record

SCREENING = REPO.parent / "shared" / "data" / "screening"
Base = tuple[str, str | None, str | None, int | None]  # title, abstract, doi, year

FAMILY = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson "
    "Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker "
    "Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris "
    "Chen Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin Kim Lee Park Choi Jung Kang "
    "Nguyen Tran Pham Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura Kobayashi Sato Patel Shah "
    "Singh Kumar Gupta Sharma Reddy Iyer Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schäfer Koch Hoffmann Schröder Jäger "
    "García Martínez López González Rodríguez Fernández Pérez Sánchez Ramírez Gómez Díaz Muñoz "
    "Dubois Lefèvre Moreau Laurent Girard Bonnet François Mercier Janssen Jansen de\u00a0Vries van\u00a0Dijk "
    "Bakker Visser Smit Meijer Mulder Bos Vos Peters Hendriks Andersson Johansson Karlsson Nilsson "
    "Eriksson Larsson Olsen Hansen Sørensen Jensen Nielsen Kowalski Nowak Wiśniewski Novák Horváth "
    "Silva Santos Oliveira Souza Pereira Costa Almeida Okafor Adeyemi Mensah Cohen Levi Friedman Katz "
    "O'Brien O'Connor Murphy Kelly Byrne Ryan Walsh McCarthy Öztürk Yılmaz Kaya Demir Şahin Ivanov "
    "Petrov Smirnov Popescu Nagy Papadopoulos Georgiou Hernández Álvarez Núñez Gutiérrez Jiménez").split()
GIVEN = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia Jennifer Linda "
    "Elizabeth Barbara Susan Jessica Sarah Karen Anna Maria Peter Paul Mark Daniel Laura Emma Olivia Sophie "
    "Wei Jing Min Hui Xiao Hiroshi Yuki Kenji Priya Rahul Anil Giulia Marco Luca Hans Klaus Jürgen "
    "José Carlos Ana Lucía Pierre Marie Hélène Lars Anders Ingrid Piotr Tomasz Chidi Ngozi Yael Noam "
    "Seán Aoife Mehmet Ayşe Dmitri Olga Andrei Eleni Nikos Ángel Raúl").split()
JOURNALS = (
    ("Journal of Clinical Psychiatry", "J Clin Psychiatry"), ("American Journal of Psychiatry", "Am J Psychiatry"),
    ("British Journal of Psychiatry", "Br J Psychiatry"), ("Archives of General Psychiatry", "Arch Gen Psychiatry"),
    ("Journal of the American Academy of Child and Adolescent Psychiatry", "J Am Acad Child Adolesc Psychiatry"),
    ("Biological Psychiatry", "Biol Psychiatry"), ("Journal of Affective Disorders", "J Affect Disord"),
    ("Journal of Traumatic Stress", "J Trauma Stress"), ("Psychological Medicine", "Psychol Med"),
    ("Schizophrenia Research", "Schizophr Res"), ("Journal of Clinical Psychopharmacology", "J Clin Psychopharmacol"),
    ("Psychopharmacology", "Psychopharmacology (Berl)"), ("European Neuropsychopharmacology", "Eur Neuropsychopharmacol"),
    ("Behaviour Research and Therapy", "Behav Res Ther"), ("Journal of Consulting and Clinical Psychology",
                                                           "J Consult Clin Psychol"),
    ("Depression and Anxiety", "Depress Anxiety"), ("Journal of Psychiatric Research", "J Psychiatr Res"),
    ("American Journal of Hypertension", "Am J Hypertens"), ("Journal of Hypertension", "J Hypertens"),
    ("New England Journal of Medicine", "N Engl J Med"), ("The Lancet", "Lancet"), ("British Medical Journal", "BMJ"),
    ("Journal of the American Medical Association", "JAMA"), ("American Heart Journal", "Am Heart J"),
    ("American Journal of Cardiology", "Am J Cardiol"), ("Journal of the American College of Cardiology",
                                                         "J Am Coll Cardiol"),
    ("European Heart Journal", "Eur Heart J"), ("Kidney International", "Kidney Int"),
    ("Nephrology Dialysis Transplantation", "Nephrol Dial Transplant"), ("Diabetes Care", "Diabetes Care"),
    ("Clinical Pharmacology and Therapeutics", "Clin Pharmacol Ther"),
    ("British Journal of Clinical Pharmacology", "Br J Clin Pharmacol"),
    ("European Journal of Clinical Pharmacology", "Eur J Clin Pharmacol"),
    ("Pharmacology Biochemistry and Behavior", "Pharmacol Biochem Behav"),
    ("Behavioural Brain Research", "Behav Brain Res"), ("Brain Research", "Brain Res"),
    ("Physiology and Behavior", "Physiol Behav"), ("European Journal of Pharmacology", "Eur J Pharmacol"),
    ("Progress in Neuro-Psychopharmacology and Biological Psychiatry", "Prog Neuropsychopharmacol Biol Psychiatry"),
    ("Journal of Neuroscience", "J Neurosci"), ("Journal of Child Psychology and Psychiatry", "J Child Psychol Psychiatry"),
    ("Social Psychiatry and Psychiatric Epidemiology", "Soc Psychiatry Psychiatr Epidemiol"),
    ("Annals of Internal Medicine", "Ann Intern Med"), ("Journal of Anxiety Disorders", "J Anxiety Disord"),
    ("Clinical Psychology Review", "Clin Psychol Rev"), ("Military Medicine", "Mil Med"),
    ("Proceedings of the National Academy of Sciences of the United States of America", "Proc Natl Acad Sci U S A"),
)
PROTOCOL_JOURNALS = (("Trials", "Trials"), ("BMJ Open", "BMJ Open"), ("BMC Psychiatry", "BMC Psychiatry"),
                     ("Contemporary Clinical Trials", "Contemp Clin Trials"))
CONFERENCE_JOURNALS = (("European Psychiatry", "Eur Psychiatry"), ("Journal of Hypertension Supplement",
                                                                    "J Hypertens Suppl"),
                       ("Neuropsychopharmacology", "Neuropsychopharmacology"),
                       ("International Journal of Neuropsychopharmacology", "Int J Neuropsychopharmacol"))
PERTURBATIONS = ("missing_doi", "case_punct", "html_entities", "author_initials", "truncated_subtitle",
                 "journal_abbrev", "year_off_by_one", "whitespace_diacritics", "doi_url", "typo", "pages_format",
                 "missing_fields")
HARD_NEGATIVES = ("same_title_other_year", "erratum", "comment", "reply", "retraction", "protocol",
                  "conference_abstract")


class LabelledSet(BaseModel):
    """Benchmark records with their truth: ``work[i]`` is record i's work; equal work = duplicates."""

    records: list[Record]
    work: list[int]
    role: list[str]  # "base" | "duplicate" | "hard"
    tags: list[list[str]]  # perturbations of a duplicate, or the hard-negative type
    base_of: list[int]  # index of the base record a duplicate / hard negative was made from (base: itself)


class TypeScore(BaseModel):
    pairs: int
    hits: int  # duplicates: merged with their base; hard negatives: wrongly merged with it
    rate: float


class BenchmarkScore(BaseModel):
    records: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float
    borderline: int
    false_pair_sources: dict[str, int]  # where wrongly merged pairs come from
    duplicates: dict[str, TypeScore]  # per perturbation: recall of (base, duplicate) pairs
    hard_negatives: dict[str, TypeScore]  # per type: how often wrongly merged with its base


def load_screening_bases(folder: Path = SCREENING, names: Sequence[str] | None = None) -> list[Base]:
    """Distinct works from the screening CSVs (empty titles and repeated normalised titles dropped).

    ``names`` (file stems) restricts the load to some of the sets, to measure on sets not tuned to.
    """
    bases: list[Base] = []
    seen: set[str] = set()
    for path in sorted(Path(folder).glob("*.csv")):
        if names is not None and path.stem not in names:
            continue
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                title = (row.get("title") or "").strip()
                key = split_title(title)[0]
                if not key or key in seen:
                    continue
                seen.add(key)
                year = (row.get("year") or "").strip()
                bases.append((title, (row.get("abstract") or "").strip() or None,
                              (row.get("doi") or "").strip().lower() or None, int(year) if year.isdigit() else None))
    return bases


_DRUGS = ("risperidone olanzapine quetiapine clozapine aripiprazole ziprasidone haloperidol sertraline fluoxetine "
          "paroxetine venlafaxine bupropion methylphenidate atomoxetine guanfacine clonidine lisinopril enalapril "
          "captopril ramipril losartan candesartan amlodipine atenolol modafinil lithium valproate lamotrigine "
          "prazosin propranolol ketamine escitalopram duloxetine mirtazapine").split()
_CONDITIONS = ("schizophrenia|bipolar mania|major depression|posttraumatic stress disorder|attention deficit "
               "hyperactivity disorder|essential hypertension|chronic heart failure|diabetic nephropathy|"
               "generalized anxiety disorder|autism spectrum disorder|Tourette syndrome|insomnia|"
               "obsessive-compulsive disorder|panic disorder|alcohol dependence|dementia").split("|")
_POPULATIONS = ("children|adolescents|older adults|veterans|outpatients|inpatients|women|primary care patients|"
                "refugees|first-episode patients|treatment-resistant patients").split("|")
_DESIGNS = ("a randomized controlled trial|a double-blind placebo-controlled study|an open-label pilot study|"
            "a 12-week multicentre trial|a 52-week extension study|a cohort study|a crossover trial|"
            "a systematic review and meta-analysis").split("|")
_OUTCOMES = ("weight gain|relapse|cognitive function|blood pressure|quality of life|sleep|aggression|"
             "adherence|renal function|suicidal ideation|symptom trajectories|prolactin levels").split("|")
_TEMPLATES = (
    "{Drug} versus {drug2} in {population} with {condition}: {design}",
    "Effects of {drug} on {outcome} in {population} with {condition}",
    "{Drug} for {condition}: {design}",
    "Long-term {outcome} with {drug} in {condition}",
    "A comparison of {drug} and {drug2} for {outcome} in {condition}",
    "Predictors of {outcome} during {drug} treatment of {condition} in {population}",
    "{Outcome} in {population} with {condition} treated with {drug}: {design}",
    "Trajectories of {outcome} in {population} after {condition} onset",
)


def synthetic_bases(n: int, seed: int = 5) -> list[Base]:
    """``n`` distinct, realistic-looking drug-trial works (many titles differ by one word) for tests."""
    rng = random.Random(seed)
    out: list[Base] = []
    seen: set[str] = set()
    while len(out) < n:
        d1, d2 = rng.sample(_DRUGS, 2)
        words = {"drug": d1, "Drug": d1.capitalize(), "drug2": d2, "condition": rng.choice(_CONDITIONS),
                 "population": rng.choice(_POPULATIONS), "design": rng.choice(_DESIGNS),
                 "outcome": rng.choice(_OUTCOMES)}
        words["Outcome"] = words["outcome"].capitalize()
        title = rng.choice(_TEMPLATES).format(**words)
        key = split_title(title)[0]
        if key in seen:
            continue
        seen.add(key)
        patients = rng.randint(20, 900)
        abstract = (f"We studied {patients} {words['population']} with {words['condition']} who received {d1} "
                    f"or {d2} for {rng.randint(4, 104)} weeks. The primary outcome was {words['outcome']}. "
                    f"{d1.capitalize()} {rng.choice(['improved', 'did not change', 'worsened'])} "
                    f"{words['outcome']} (p = 0.0{rng.randint(1, 9)}).")
        doi = f"10.{rng.randint(1000, 9999)}/syn.{len(out):06d}" if rng.random() < 0.3 else None
        out.append((title, abstract, doi, rng.randint(1985, 2022) if rng.random() < 0.97 else None))
    return out


def chimera_bases(bases: Sequence[Base], n: int, seed: int = 11) -> list[Base]:
    """``n`` extra distinct works: the first half of one real title joined to the second half of another."""
    rng = random.Random(seed)
    out: list[Base] = []
    seen: set[str] = {split_title(b[0])[0] for b in bases}
    while len(out) < n:
        a, b, c = rng.choice(bases), rng.choice(bases), rng.choice(bases)
        wa, wb = a[0].split(), b[0].split()
        if len(wa) < 4 or len(wb) < 4:
            continue
        title = " ".join(wa[: len(wa) // 2] + wb[len(wb) // 2:])
        key = split_title(title)[0]
        if key in seen:
            continue
        seen.add(key)
        year = a[3] + rng.randint(-3, 3) if a[3] else None
        out.append((title, c[1], None, year))
    return out


def _person(rng: random.Random) -> str:
    given = rng.choice(GIVEN)
    middle = f" {rng.choice('ABCDEFGHJKLMNPRST')}." if rng.random() < 0.4 else ""
    return f"{rng.choice(FAMILY).replace(chr(160), ' ')}, {given}{middle}"


def _base_record(base: Base, rng: random.Random, serial: int) -> Record:
    title, abstract, doi, year = base
    full, abbrev = rng.choice(JOURNALS)
    first = rng.randint(1, 2400)
    if doi is None and rng.random() < 0.35:
        doi = f"10.{rng.randint(1000, 9999)}/bench.{serial:07d}"
    return Record(
        title=title, abstract=abstract, doi=doi, year=year,
        authors=[_person(rng) for _ in range(rng.randint(1, 7))],
        journal=full if rng.random() < 0.8 else abbrev, volume=str(rng.randint(1, 120)),
        issue=str(rng.randint(1, 12)), pages=f"{first}-{first + rng.randint(3, 14)}",
        pmid=str(10_000_000 + serial) if rng.random() < 0.6 else None,
        publication_type="Journal Article" if rng.random() < 0.5 else None)


# -- duplicates -------------------------------------------------------------------------------------

def _abbrev_of(journal: str | None) -> str | None:
    for full, abbrev in JOURNALS:
        if journal in (full, abbrev):
            return abbrev if journal == full else full
    return None


def _initials(author: str, rng: random.Random) -> str:
    """"Family, Given M." as "Family, G. M." or MEDLINE's "Family GM"."""
    family, _, given = author.partition(",")
    letters = "".join(w[0] for w in re.split(r"[\s.\-]+", given) if w)
    return f"{family.strip()}, {'. '.join(letters)}." if rng.random() < 0.5 else f"{family.strip()} {letters}"


def _kind(title: str) -> str:
    """The item kind a title announces (article, erratum, comment, ...), as the matcher reads it."""
    full, _ = split_title(title)
    return title_kind(full, None, title)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_ACCENT = {"e": "é", "a": "á", "o": "ö", "u": "ü", "i": "í", "n": "ñ", "c": "ç"}


def _perturb(rec: Record, name: str, rng: random.Random, alt_year: int | None) -> dict:
    """The changed fields for one perturbation of a duplicate."""
    title = rec.title or ""
    if name == "missing_doi":
        return {"doi": None}
    if name == "case_punct":
        t = rng.choice([title.upper(), title.lower(), title.title()])
        t = t.replace("-", " ") if rng.random() < 0.5 else t.replace(", ", " ")
        return {"title": t.rstrip(".") if t.endswith(".") else t + "."}
    if name == "html_entities":
        words = title.split()
        k = rng.randrange(len(words))
        words[k] = f"&lt;i&gt;{words[k]}&lt;/i&gt;" if rng.random() < 0.5 else f"<i>{words[k]}</i>"
        t = " ".join(words).replace("'", "&#39;")
        return {"title": t.replace(" and ", " &amp; ", 1) if rng.random() < 0.5 else t}
    if name == "author_initials":
        return {"authors": [_initials(a, rng) for a in rec.authors]}
    if name == "truncated_subtitle":
        cut = title.split(":", 1)[0].strip()
        if _kind(cut) != _kind(title):  # "X: Erratum" cut to "X" is the article's title, not the erratum's
            return {}
        return {"title": cut}
    if name == "journal_abbrev":
        return {"journal": _abbrev_of(rec.journal)}
    if name == "year_off_by_one":  # epub vs print: one other year per work, the same for every copy
        return {"year": alt_year}
    if name == "whitespace_diacritics":
        words = title.split()
        k = rng.randrange(len(words))
        plain = _strip_accents(title)
        if plain == title:
            w = words[k]
            pos = [p for p, ch in enumerate(w) if ch in _ACCENT]
            if pos:
                p = rng.choice(pos)
                words[k] = w[:p] + _ACCENT[w[p]] + w[p + 1:]
            t = "  ".join(words[: len(words) // 2]) + " \t " + " ".join(words[len(words) // 2:])
        else:
            t = "  " + plain.replace(" ", "  ", 2) + " "
        return {"title": t, "authors": [_strip_accents(a) for a in rec.authors]}
    if name == "doi_url":
        return {"doi": rng.choice(["https://doi.org/", "http://dx.doi.org/", "doi:"]) + (rec.doi or "").upper()}
    if name == "typo":
        words = title.split()
        long_words = [k for k, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
        k = rng.choice(long_words)
        w = words[k]
        p = rng.randrange(1, len(w) - 1)
        words[k] = w[:p] + w[p + 1:] if rng.random() < 0.5 else w[:p] + w[p + 1] + w[p] + w[p + 2:]
        return {"title": " ".join(words)}
    if name == "pages_format":
        start, end = (rec.pages or "").split("-")
        same = 0
        while same < min(len(start), len(end)) - 1 and start[same] == end[same]:
            same += 1
        return {"pages": f"{start}-{end[same:]}" if rng.random() < 0.6 else start}  # 123-129 -> 123-9 or 123
    if name == "missing_fields":
        return {"abstract": None} if rng.random() < 0.6 else {"abstract": None, "journal": None, "volume": None,
                                                             "issue": None, "pages": None}
    raise ValueError(name)


def _applicable(rec: Record, name: str) -> bool:
    title = rec.title or ""
    if name in ("missing_doi", "doi_url"):
        return bool(rec.doi)
    if name == "truncated_subtitle":
        head, sep, tail = title.partition(":")
        return bool(sep) and len(head.split()) >= 4 and bool(tail.strip())
    if name == "journal_abbrev":
        return _abbrev_of(rec.journal) not in (None, rec.journal)
    if name == "year_off_by_one":
        return rec.year is not None
    if name == "typo":
        return any(len(w) >= 6 and w.isalpha() for w in title.split())
    if name == "pages_format":
        return bool(rec.pages) and "-" in (rec.pages or "")
    if name == "author_initials":
        return bool(rec.authors)
    return bool(title)


def make_duplicate(rec: Record, rng: random.Random, alt_year: int | None = None) -> tuple[Record, list[str]]:
    """The same work as another database exports it: 1-3 perturbations, usually no shared identifier.

    ``alt_year`` is the work's other year (epub vs print), used by ``year_off_by_one``.
    """
    if alt_year is None and rec.year is not None:
        alt_year = rec.year + rng.choice([-1, 1])
    names = [p for p in PERTURBATIONS if _applicable(rec, p)]
    k = min(len(names), rng.choices([1, 2, 3], weights=[6, 3, 1])[0])
    chosen = rng.sample(names, k)
    if "missing_doi" in chosen and "doi_url" in chosen:
        chosen.remove("doi_url")
    changes: dict = {"pmid": rec.pmid if rng.random() < 0.2 else None, "raw": {}}
    if "doi_url" not in chosen and rng.random() < 0.75:
        changes["doi"] = None  # most other databases' exports lack it, so most pairs need fuzzy matching
    dup = rec.model_copy(update=changes)
    applied = []
    for name in chosen:
        source = rec if name in ("doi_url", "missing_doi") else dup
        if _applicable(source, name):  # an earlier perturbation may have removed the field
            dup = dup.model_copy(update=_perturb(source, name, rng, alt_year))
            applied.append(name)
    return dup, applied


# -- hard non-duplicates ----------------------------------------------------------------------------

def _hard_applicable(rec: Record, name: str) -> bool:
    if name == "same_title_other_year":
        return rec.year is not None
    return bool(rec.title)


def make_hard_negative(rec: Record, name: str, rng: random.Random, other_abstract: str | None) -> Record:
    """A record that looks like ``rec`` but is another item (see ``HARD_NEGATIVES``)."""
    title = (rec.title or "").rstrip(".")
    year = rec.year
    first = rng.randint(1, 2400)
    common = {"pmid": None, "raw": {}, "doi": None, "issue": None}
    if name == "same_title_other_year":
        moved = year + rng.choice([-1, 1]) * rng.randint(2, 6)  # type: ignore[operator]
        if rng.random() < 0.3:  # the same team's later paper (or an update) under the same title
            return rec.model_copy(update={**common, "year": moved, "abstract": other_abstract, "volume": None,
                                          "pages": None})
        full, _ = rng.choice(JOURNALS)
        return rec.model_copy(update={**common, "year": moved, "authors": [_person(rng) for _ in range(4)],
                                      "journal": full, "abstract": other_abstract,
                                      "volume": str(rng.randint(1, 120)), "pages": f"{first}-{first + 9}"})
    later = {"year": (year + rng.choice([0, 1])) if year else None, "abstract": None,  # a notice, often bare:
             "volume": str(int(rec.volume or 1) + rng.randint(1, 3)) if rng.random() < 0.5 else None,
             "pages": str(first) if rng.random() < 0.5 else None}
    if name == "erratum":
        t = rng.choice(["Erratum: {t}", "Erratum to: {t}", "Correction: {t}", 'Corrigendum to "{t}"',
                        "Correction to: {t}", "{t} (Erratum)"]).format(t=title)
        authors = rec.authors if rng.random() < 0.4 else []
        return rec.model_copy(update={**common, **later, "title": t, "authors": authors,
                                      "publication_type": rng.choice(["Published Erratum", None])})
    if name == "comment":
        t = rng.choice(["Re: {t}", 'Comment on "{t}"', "Comment on: {t}", "Commentary on {t}"]).format(t=title)
        return rec.model_copy(update={**common, **later, "title": t, "authors": [_person(rng)],
                                      "publication_type": rng.choice(["Comment", "Letter", None])})
    if name == "reply":
        t = rng.choice(["Reply to: {t}", 'Response to comment on "{t}"', "Authors' reply: {t}",
                        "In reply: {t}"]).format(t=title)
        return rec.model_copy(update={**common, **later, "title": t, "authors": rec.authors[:2],
                                      "publication_type": rng.choice(["Letter", None])})
    if name == "retraction":
        t = rng.choice(["Retraction: {t}", "Retracted: {t}", "Notice of retraction: {t}"]).format(t=title)
        return rec.model_copy(update={**common, **later, "title": t, "authors": [],
                                      "publication_type": rng.choice(["Retraction of Publication", None])})
    if name == "protocol":
        main = title.split(":", 1)[0]
        t = rng.choice(["{m}: study protocol for a randomised controlled trial", "{m}: protocol for a randomized trial",
                        "Study protocol: {m}", "Rationale and design of a trial: {m}"]).format(m=main)
        full = rng.choice(PROTOCOL_JOURNALS)[0] if rng.random() < 0.7 else rec.journal
        abstract = (f"Background: {(rec.abstract or title)[:200]} Methods/design: this protocol describes a "
                    f"randomised controlled trial. Discussion: the trial is registered.")
        return rec.model_copy(update={**common, "title": t, "year": (year - rng.choice([0, 1])) if year else None,
                                      "journal": full, "abstract": abstract,
                                      "volume": str(rng.randint(1, 20)) if rng.random() < 0.5 else None,
                                      "pages": str(first) if rng.random() < 0.5 else None,
                                      "authors": rec.authors[:1] + [_person(rng)]})
    if name == "conference_abstract":
        if rng.random() < 0.5:
            full, _ = rng.choice(CONFERENCE_JOURNALS)
            venue = {"journal": full, "volume": str(rng.randint(1, 40)), "pages": None}
        else:
            venue = {"volume": f"{int(rec.volume or 1) + rng.randint(1, 2)} Suppl 1", "pages": f"S{first}"}
        sentences = (rec.abstract or "").split(". ")
        return rec.model_copy(update={**common, **venue, "year": (year - rng.choice([0, 1])) if year else None,
                                      "abstract": ". ".join(sentences[:2]) or None, "authors": rec.authors[:3],
                                      "publication_type": rng.choice(["Conference Abstract", "Meeting Abstract"])})
    raise ValueError(name)


# -- issue #18: short cut titles, supplement pages, ISO journal abbreviations -----------------------

# Journals NOT in JOURNALS (the matcher was not tuned on them), with their ISO 4 / MEDLINE abbreviations.
HELD_OUT_JOURNALS = (
    ("Journal of Adolescent Health", "J Adolesc Health"), ("Child Abuse & Neglect", "Child Abuse Negl"),
    ("Psychiatry Research", "Psychiatry Res"), ("Comprehensive Psychiatry", "Compr Psychiatry"),
    ("American Journal of Epidemiology", "Am J Epidemiol"), ("Journal of Abnormal Psychology", "J Abnorm Psychol"),
    ("Psychological Trauma: Theory, Research, Practice, and Policy", "Psychol Trauma"),
    ("International Journal of Geriatric Psychiatry", "Int J Geriatr Psychiatry"),
    ("Australian and New Zealand Journal of Psychiatry", "Aust N Z J Psychiatry"),
    ("Journal of Nervous and Mental Disease", "J Nerv Ment Dis"), ("Zeitschrift für Kardiologie", "Z Kardiol"),
    ("Nederlands Tijdschrift voor Geneeskunde", "Ned Tijdschr Geneeskd"), ("Acta Psychiatrica Scandinavica",
                                                                        "Acta Psychiatr Scand"),
    ("Journal of Neurology, Neurosurgery, and Psychiatry", "J Neurol Neurosurg Psychiatry"),
    ("Anxiety, Stress, and Coping", "Anxiety Stress Coping"), ("Journal of Human Hypertension", "J Hum Hypertens"),
    ("Clinical and Experimental Hypertension", "Clin Exp Hypertens"), ("Current Medical Research and Opinion",
                                                                       "Curr Med Res Opin"),
    ("European Journal of Psychotraumatology", "Eur J Psychotraumatol"), ("Deutsche Medizinische Wochenschrift",
                                                                          "Dtsch Med Wochenschr"),
)
ISSUE18_DUPLICATES = ("short_cut_title", "supplement_pages", "journal_iso")
ISSUE18_HARD = ("short_title_other_team", "short_title_other_subtitle")


def _short_head(title: str) -> str | None:
    """The main title before the colon when it has two or three content tokens ("Not alone"), else None."""
    full, main = split_title(title)
    if not main or ":" not in title:
        return None
    head = title.split(":", 1)[0].strip()
    if split_title(head)[1] or _kind(head) != _kind(title) or title_numbers(main) != title_numbers(full):
        return None  # "X - Y: Z", "X: design and methods", "X: II. Costs" are no cuts a database makes
    tokens = [t for t in main.split() if t not in STOPWORDS]
    return head if 2 <= len(tokens) <= 3 else None


def build_issue18_set(bases: Sequence[Base], *, seed: int = 18) -> LabelledSet:
    """A labelled set for the causes named in issue #18, from base works (a separate RNG stream).

    Duplicates: the title cut at the colon when the main title is two or three words, without a DOI
    (``short_cut_title``); a conference abstract's page "S836" exported as "S836-S836" or "836"
    (``supplement_pages``); a held-out journal's full name against its ISO abbreviation (``journal_iso``).
    Hard non-duplicates: another team's paper in the same journal and year whose title is only the short
    main title (``short_title_other_team``), and another paper with the same short main title and another
    subtitle (``short_title_other_subtitle``).
    """
    rng = random.Random(seed)
    rows: list[tuple[Record, int, str, list[str], int]] = []
    n_works = 0

    def add(rec: Record, work: int, role: str, tags: list[str], base_row: int) -> int:
        rows.append((rec, work, role, tags, base_row))
        return len(rows) - 1

    for serial, base in enumerate(bases):
        rec = _base_record(base, rng, serial)
        head = _short_head(rec.title or "")
        cause = "short_cut_title" if head else rng.choice(["supplement_pages", "journal_iso", None, None, None])
        if cause == "supplement_pages":
            first = rng.randint(1, 999)
            rec = rec.model_copy(update={"volume": f"{rng.randint(1, 60)} Suppl 1", "pages": f"S{first}",
                                         "publication_type": "Conference Abstract"})
        if cause == "journal_iso":
            full, abbrev = rng.choice(HELD_OUT_JOURNALS)
            rec = rec.model_copy(update={"journal": full})
        work = n_works
        n_works += 1
        row = add(rec, work, "base", [], len(rows))
        if cause is None:
            continue
        dup = rec.model_copy(update={"doi": None, "pmid": None})
        if cause == "short_cut_title":
            dup = dup.model_copy(update={"title": head})
        elif cause == "supplement_pages":
            dup = dup.model_copy(update={"pages": rng.choice([f"{rec.pages}-{rec.pages}", (rec.pages or "")[1:]])})
        else:
            dup = dup.model_copy(update={"journal": abbrev})
        add(dup, work, "duplicate", [cause], row)
        first = rng.randint(1, 2400)
        elsewhere = {"doi": None, "pmid": None, "abstract": None, "authors": [_person(rng) for _ in range(3)],
                     "pages": f"{first}-{first + rng.randint(3, 14)}" if rng.random() < 0.5 else None}
        if head and rng.random() < 0.5:
            other = rec.model_copy(update={**elsewhere, "title": head})
            add(other, n_works, "hard", ["short_title_other_team"], row)
            n_works += 1
        elif head:
            t = f"{head}: {rng.choice(['a qualitative study', 'a pilot trial in primary care', 'two case reports'])}"
            other = rec.model_copy(update={**elsewhere, "title": t})
            add(other, n_works, "hard", ["short_title_other_subtitle"], row)
            n_works += 1
    return _shuffled(rows, rng)


def _shuffled(rows: list[tuple[Record, int, str, list[str], int]], rng: random.Random) -> LabelledSet:
    """The rows (record, work, role, tags, base row) in a random order, base rows renumbered to match."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    return LabelledSet(records=[rows[o][0] for o in order], work=[rows[o][1] for o in order],
                       role=[rows[o][2] for o in order], tags=[rows[o][3] for o in order],
                       base_of=[position[rows[o][4]] for o in order])


# -- building and scoring ---------------------------------------------------------------------------

def build_benchmark(bases: Sequence[Base], *, seed: int = 13, dup_fraction: float = 0.3,
                    hard_fraction: float = 0.1) -> LabelledSet:
    """Base records with synthetic bibliographic fields, plus duplicates and hard negatives, shuffled."""
    rng = random.Random(seed)
    rows: list[tuple[Record, int, str, list[str], int]] = []  # record, work, role, tags, base row
    for serial, base in enumerate(bases):
        rows.append((_base_record(base, rng, serial), serial, "base", [], len(rows)))
    n_works = len(bases)
    base_rows = list(range(len(rows)))
    for row in base_rows:
        rec = rows[row][0]
        if rng.random() < dup_fraction:
            alt_year = rec.year + rng.choice([-1, 1]) if rec.year is not None else None
            for _ in range(1 if rng.random() < 0.8 else 2):
                dup, tags = make_duplicate(rec, rng, alt_year)
                rows.append((dup, rows[row][1], "duplicate", tags, row))
        if rng.random() < hard_fraction:
            name = rng.choice([h for h in HARD_NEGATIVES if _hard_applicable(rec, h)])
            other = rows[rng.choice(base_rows)][0].abstract
            rows.append((make_hard_negative(rec, name, rng, other), n_works, "hard", [name], row))
            n_works += 1
    return _shuffled(rows, rng)


def evaluate(data: LabelledSet, result: DedupResult) -> BenchmarkScore:
    """Pairwise precision/recall of the clusters, and per perturbation / hard-negative type."""
    cluster_of = [0] * len(data.records)
    for c, members in enumerate(result.clusters):
        for i in members:
            cluster_of[i] = c
    cells = Counter(zip(cluster_of, data.work))
    tp = sum(comb(k, 2) for k in cells.values())
    predicted = sum(comb(len(m), 2) for m in result.clusters)
    true = sum(comb(k, 2) for k in Counter(data.work).values())
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    sources: Counter[str] = Counter()
    for members in result.clusters:
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                a, b = members[x], members[y]
                if data.work[a] != data.work[b]:
                    sources[_false_pair_source(data, a, b)] += 1
    dup_stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    hard_stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, role in enumerate(data.role):
        together = cluster_of[i] == cluster_of[data.base_of[i]]
        if role == "duplicate":
            for tag in data.tags[i] + ["(all duplicates)"]:
                dup_stats[tag][0] += 1
                dup_stats[tag][1] += together
        elif role == "hard":
            for tag in data.tags[i] + ["(all hard negatives)"]:
                hard_stats[tag][0] += 1
                hard_stats[tag][1] += together
    return BenchmarkScore(
        records=len(data.records), true_pairs=true, predicted_pairs=predicted, true_positive_pairs=tp,
        precision=precision, recall=recall, f1=2 * precision * recall / (precision + recall) if tp else 0.0,
        borderline=len(result.borderline), false_pair_sources=dict(sources),
        duplicates={k: TypeScore(pairs=v[0], hits=v[1], rate=v[1] / v[0]) for k, v in sorted(dup_stats.items())},
        hard_negatives={k: TypeScore(pairs=v[0], hits=v[1], rate=v[1] / v[0])
                        for k, v in sorted(hard_stats.items())})


def sparse(data: LabelledSet) -> LabelledSet:
    """The same benchmark with only title, abstract, year, DOI, PMID and type (as in bare screening CSVs)."""
    gone = {"authors": [], "journal": None, "volume": None, "issue": None, "pages": None}
    return data.model_copy(update={"records": [r.model_copy(update=gone) for r in data.records]})


def _false_pair_source(data: LabelledSet, a: int, b: int) -> str:
    """Name the kind of a wrongly merged pair, for the report."""
    roles = {data.role[a], data.role[b]}
    if "hard" in roles:
        return "hard: " + (data.tags[a] if data.role[a] == "hard" else data.tags[b])[0]
    if roles == {"base"}:
        return "natural look-alikes (base vs base)"
    return "duplicate vs another work"


def format_score(score: BenchmarkScore) -> str:
    """A plain-text report of a benchmark score."""
    lines = [(f"records {score.records}: true duplicate pairs {score.true_pairs}, predicted "
              f"{score.predicted_pairs}, correct {score.true_positive_pairs}"),
             (f"precision {score.precision:.4f}   recall {score.recall:.4f}   F1 {score.f1:.4f}   "
              f"borderline pairs for review {score.borderline}"),
             "recall per perturbation (a duplicate may carry several):"]
    lines += [f"  {k:<24} {v.hits:>5}/{v.pairs:<5} {v.rate:.3f}" for k, v in score.duplicates.items()]
    lines.append("hard non-duplicates wrongly merged with their look-alike:")
    lines += [f"  {k:<24} {v.hits:>5}/{v.pairs:<5} {v.rate:.3f}" for k, v in score.hard_negatives.items()]
    if score.false_pair_sources:
        lines.append("wrongly merged pairs by source: " + ", ".join(f"{k} {v}" for k, v in
                                                                    sorted(score.false_pair_sources.items())))
    return "\n".join(lines)


def run(bases: Sequence[Base], *, seed: int = 13) -> BenchmarkScore:
    """Build the benchmark from ``bases``, deduplicate it and score the result."""
    from metasift.dedup import find_duplicates

    data = build_benchmark(bases, seed=seed)
    return evaluate(data, find_duplicates(data.records))


def main(argv: Sequence[str] | None = None) -> int:
    if not SCREENING.is_dir():
        print(f"skipped: {SCREENING} not found")
        return 0
    bases = load_screening_bases()
    print(f"{len(bases)} distinct base works from {SCREENING}")
    print(format_score(run(bases)))
    for stem in sorted(p.stem for p in SCREENING.glob("*.csv")):
        score = run(load_screening_bases(names=[stem]))
        print(f"  {stem:<40} P {score.precision:.4f}  R {score.recall:.4f}  borderline {score.borderline}")
    from metasift.dedup import find_duplicates

    data = build_issue18_set(bases)
    print("\nissue #18 set (short cut titles, supplement pages, held-out ISO journal abbreviations):")
    print(format_score(evaluate(data, find_duplicates(data.records))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
