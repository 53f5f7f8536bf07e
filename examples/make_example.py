"""Build the bundled example review from a table of known numbers (deterministic, seed 2026).

Writes ``examples/social_media/``:
- ``trials.csv``     the known trials (bibliographic data, arms, attrition, eligibility facts, moderators)
- ``outcomes.csv``   per trial x outcome measure (some trials use two instruments for a domain): baseline and
                     post means/SDs/ns per arm (the truth the demo's extraction and pooled analysis must
                     reproduce)
- ``search/``        search results as three databases would export them (PubMed MEDLINE,
                     Scopus CSV, PsycINFO RIS), with the trials and ~300 other records,
                     overlapping so that deduplication has real work
- ``labels.csv``     the reviewers' verdicts used by the demo's simulated reviewer
- ``studies.csv``    study-level moderators (share of women, guidance, control type) for
                     `metasift studies import`
- ``rob2.csv``       RoB 2 judgements of the included trials for `metasift rob import`

Run: ``python examples/make_example.py`` (the outputs are committed; re-running reproduces them).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "social_media"
SEED = 2026

PLATFORMS = ["Facebook", "WhatsApp", "WeChat", "Instagram", "an online peer community", "Twitter"]
POPULATIONS = ["university students", "new mothers", "older adults", "employees", "adolescents",
               "international students", "caregivers", "first-year nursing students", "young adults",
               "community-dwelling adults", "teachers", "postpartum women", "medical students", "nurses",
               "unemployed adults", "graduate students", "parents of young children", "retirees",
               "healthcare workers", "migrant workers"]
INTERVENTIONS = ["peer support", "mindfulness", "psychoeducation", "cognitive behavioural", "positive psychology",
                 "stress management", "behavioural activation", "self-help"]
# (domain, instrument, items, typical mean, typical SD): every instrument is one the starter protocol's
# [[outcomes]] list for its domain, so extraction assigns each to its outcome domain
INSTRUMENTS = {
    "depression": [("PHQ-9", 9, 7.0, 4.5), ("CES-D", 20, 18.0, 9.0), ("BDI-II", 21, 14.0, 8.0)],
    "anxiety": [("GAD-7", 7, 6.0, 4.0), ("STAI", 20, 44.0, 9.0), ("BAI", 21, 11.0, 7.5)],
    "stress": [("PSS-10", 10, 18.0, 6.0), ("DASS-21 stress", 7, 16.0, 8.0)],
}
DOMAINS = list(INSTRUMENTS)
# the first twelve trials' outcomes (domain, instrument, top of scale, typical mean, typical SD), as they always were
FIRST_OUTCOMES = [("depression", "PHQ-9", 27, 7.0, 4.5), ("anxiety", "GAD-7", 21, 6.0, 4.0),
                  ("stress", "PSS-10", 40, 18.0, 6.0)]
FAILS = {9: "n_per_arm", 10: "differential_attrition", 11: "baseline_balance"}  # one full-text rule each
MORE_YEARS = [2006, 2007, 2008, 2009, 2010, 2011, 2024, 2025]  # the eight later trials' years: labels stay unique
GUIDANCE = ["human-guided", "self-guided"]
CONTROLS = ["waitlist", "care as usual", "attention control"]
SURNAMES = ["Chen", "Garcia", "Smith", "Nguyen", "Müller", "Kowalski", "Okafor", "Rossi", "Tanaka", "Silva",
            "Johansson", "Haddad", "Kim", "O'Brien", "Novak", "Fernández", "Ali", "Dubois", "Park", "Ivanova",
            "Santos", "Wang", "Yilmaz", "Brown", "Li", "Khan", "Schmidt", "Lopez", "Cohen", "Patel"]
GIVEN = ["Anna", "Wei", "Maria", "James", "Thi Lan", "Lukas", "Chidi", "Giulia", "Haruto", "Ana", "Erik",
         "Layla", "Min-jun", "Siobhan", "Petr", "Lucía", "Omar", "Claire", "Ji-woo", "Olga"]
JOURNALS = [("Journal of Medical Internet Research", "J Med Internet Res"),
            ("JMIR Mental Health", "JMIR Ment Health"), ("Internet Interventions", "Internet Interv"),
            ("Computers in Human Behavior", "Comput Hum Behav"), ("BMC Psychiatry", "BMC Psychiatry"),
            ("Journal of Affective Disorders", "J Affect Disord"), ("Frontiers in Psychology", "Front Psychol"),
            ("Cyberpsychology, Behavior, and Social Networking", "Cyberpsychol Behav Soc Netw")]


def _authors(rng: random.Random, n: int) -> list[tuple[str, str]]:
    return [(rng.choice(SURNAMES), rng.choice(GIVEN)) for _ in range(n)]


def _measures(rng: random.Random) -> list[tuple[str, str, int, float, float]]:
    """The outcome measures a trial reports: two or three domains, each with one of its instruments and, in
    about half the trials, a second one — so studies give several dependent effect sizes, as in the seed review."""
    n_domains = rng.choices([2, 3], weights=[2, 3])[0]
    domains = sorted(rng.sample(DOMAINS, n_domains), key=DOMAINS.index)
    out = []
    for d in domains:
        options = INSTRUMENTS[d]
        first = rng.choice(options)
        picks = [first] + ([rng.choice([o for o in options if o is not first])] if rng.random() < 0.5 else [])
        out += [(d, name, items, mean, sd) for name, items, mean, sd in picks]
    return out


def make_first_trials(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """The first twelve trials (the example's original ones, drawn exactly as before so their numbers stay put):
    nine meet every rule, three fail one full-text rule each; one or two outcome domains each."""
    trials, outcomes = [], []
    for i in range(12):
        platform, pop = PLATFORMS[i % len(PLATFORMS)], POPULATIONS[i]
        kind = INTERVENTIONS[i % len(INTERVENTIONS)]
        year = 2012 + i
        journal, abbrev = JOURNALS[i % len(JOURNALS)]
        n_arm = rng.randint(45, 140) if FAILS.get(i) != "n_per_arm" else rng.randint(18, 26)
        n1, n2 = n_arm + rng.randint(-4, 4), n_arm + rng.randint(-4, 4)
        drop1 = rng.uniform(0.05, 0.18)
        drop2 = drop1 + (rng.uniform(-0.05, 0.05) if FAILS.get(i) != "differential_attrition" else 0.22)
        a1, a2 = round(n1 * (1 - drop1)), round(n2 * (1 - drop2))
        outs = [FIRST_OUTCOMES[i % 3]] + ([FIRST_OUTCOMES[(i + 1) % 3]] if i % 2 == 0 else [])
        short = f"{kind.split()[0].capitalize()}{platform.split()[-1].capitalize()}"
        title = (f"A {platform}-delivered {kind} intervention for "
                 f"{' and '.join(o[0] for o in outs)} among {pop}: a randomized controlled trial")
        trial_id = f"T{i + 1:02d}"
        trials.append({
            "trial_id": trial_id, "acronym": short, "title": title, "year": year,
            "authors": "; ".join(f"{s}, {g}" for s, g in _authors(rng, rng.randint(3, 6))),
            "journal": journal, "journal_abbrev": abbrev, "volume": str(10 + i), "issue": str(1 + i % 4),
            "pages": f"e{1000 + 37 * i}", "doi": f"10.9999/example.{2012 + i}.{100 + i}",
            "pmid": str(30100000 + 7919 * i), "platform": platform, "population": pop, "intervention": kind,
            "deliverer": "trained peer moderators" if i != 5 else "community health workers",
            "female_pct": None, "guidance": None, "control_type": None,  # set by add_moderators
            "n_randomised_1": n1, "n_randomised_2": n2, "n_analysed_1": a1, "n_analysed_2": a2,
            "fails_rule": FAILS.get(i, ""),
        })
        for name, scale, _top, mean, sd in outs:
            base1 = mean + rng.uniform(-1, 1)
            shift = 0.35 * sd if FAILS.get(i) == "baseline_balance" else rng.uniform(-0.08, 0.08) * sd
            effect = rng.uniform(0.1, 0.55) * sd
            outcomes.append({
                "trial_id": trial_id, "outcome": name, "measure": scale, "items": {"PHQ-9": 9, "GAD-7": 7}.get(
                    scale, 10), "timepoint": "post",
                "baseline_mean_1": round(base1, 2), "baseline_sd_1": round(sd * rng.uniform(0.9, 1.1), 2),
                "baseline_mean_2": round(base1 + shift, 2), "baseline_sd_2": round(sd * rng.uniform(0.9, 1.1), 2),
                "post_mean_1": round(base1 - effect - rng.uniform(0, 0.5), 2),
                "post_sd_1": round(sd * rng.uniform(0.85, 1.1), 2),
                "post_mean_2": round(base1 + shift - rng.uniform(0, 0.5), 2),
                "post_sd_2": round(sd * rng.uniform(0.85, 1.1), 2),
                "n_1": a1, "n_2": a2,
            })
    return trials, outcomes


def make_trials(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Twenty trials: the first twelve (``make_first_trials``, from ``rng`` as they always were), then eight more
    from their own generator, so adding them moved no number of the first twelve; then each trial's study-level
    moderators (share of women, human-guided or self-guided, type of control)."""
    trials, outcomes = make_first_trials(rng)
    more = random.Random(SEED + 1)
    add_moderators(trials, more)
    extra_trials, extra_outcomes = make_more_trials(more)
    return trials + extra_trials, outcomes + extra_outcomes


def add_moderators(trials: list[dict], rng: random.Random) -> None:
    """Study-level moderators of the first twelve trials; who delivers the intervention follows the guidance."""
    for i, t in enumerate(trials):
        t["female_pct"] = round(rng.uniform(35, 96), 1)
        t["guidance"] = GUIDANCE[rng.random() < 0.4]
        t["control_type"] = CONTROLS[rng.choices([0, 1, 2], weights=[5, 3, 2])[0]]
        if t["guidance"] == "self-guided" and i != 5:
            t["deliverer"] = "automated platform prompts set up by peer moderators"


def make_more_trials(rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Eight more trials (T13-T20), all meeting every rule, each reporting two or three outcome domains, some with
    two instruments for a domain; a trial's true effect is larger with a human guide and in mostly female
    samples, smaller against an attention control."""
    trials, outcomes = [], []
    for j, year in enumerate(MORE_YEARS):
        i = 12 + j
        platform, pop = PLATFORMS[i % len(PLATFORMS)], POPULATIONS[i]
        kind = INTERVENTIONS[i % len(INTERVENTIONS)]
        journal, abbrev = JOURNALS[i % len(JOURNALS)]
        n_arm = rng.randint(45, 140)
        n1, n2 = n_arm + rng.randint(-4, 4), n_arm + rng.randint(-4, 4)
        drop1 = rng.uniform(0.05, 0.18)
        drop2 = drop1 + rng.uniform(-0.05, 0.05)
        a1, a2 = round(n1 * (1 - drop1)), round(n2 * (1 - drop2))
        female_pct = round(rng.uniform(35, 96), 1)
        guidance = GUIDANCE[rng.random() < 0.4]
        control = CONTROLS[rng.choices([0, 1, 2], weights=[5, 3, 2])[0]]
        trial_effect = (0.18 + 0.22 * (guidance == "human-guided") + 0.15 * (female_pct > 70)
                        - 0.1 * (control == "attention control") + rng.gauss(0, 0.12))
        outs = _measures(rng)
        short = f"{kind.split()[0].capitalize()}{platform.split()[-1].capitalize()}"
        named = list(dict.fromkeys(o[0] for o in outs))
        trial_id = f"T{i + 1:02d}"
        trials.append({
            "trial_id": trial_id, "acronym": short, "year": year,
            "title": f"A {platform}-delivered {kind} intervention for {_and(named)} among {pop}: a randomized "
                     "controlled trial",
            "authors": "; ".join(f"{s}, {g}" for s, g in _authors(rng, rng.randint(3, 6))),
            "journal": journal, "journal_abbrev": abbrev, "volume": str(10 + i), "issue": str(1 + i % 4),
            "pages": f"e{1000 + 37 * i}", "doi": f"10.9999/example.{year}.{100 + i}",
            "pmid": str(30100000 + 7919 * i), "platform": platform, "population": pop, "intervention": kind,
            "deliverer": ("trained peer moderators" if guidance == "human-guided"
                          else "automated platform prompts set up by peer moderators"),
            "n_randomised_1": n1, "n_randomised_2": n2, "n_analysed_1": a1, "n_analysed_2": a2,
            "female_pct": female_pct, "guidance": guidance, "control_type": control, "fails_rule": "",
        })
        for domain, scale, items, mean, sd in outs:
            base1 = mean + rng.uniform(-1, 1) * sd / 4
            shift = rng.uniform(-0.08, 0.08) * sd
            effect = max(0.0, trial_effect + rng.gauss(0, 0.08)) * sd
            outcomes.append({
                "trial_id": trial_id, "outcome": domain, "measure": scale, "items": items, "timepoint": "post",
                "baseline_mean_1": round(base1, 2), "baseline_sd_1": round(sd * rng.uniform(0.9, 1.1), 2),
                "baseline_mean_2": round(base1 + shift, 2), "baseline_sd_2": round(sd * rng.uniform(0.9, 1.1), 2),
                "post_mean_1": round(base1 - effect - rng.uniform(0, 0.1) * sd, 2),
                "post_sd_1": round(sd * rng.uniform(0.85, 1.1), 2),
                "post_mean_2": round(base1 + shift - rng.uniform(0, 0.1) * sd, 2),
                "post_sd_2": round(sd * rng.uniform(0.85, 1.1), 2),
                "n_1": a1, "n_2": a2,
            })
    return trials, outcomes


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


DISTRACTOR_TEMPLATES = [
    ("A {platform}-based {kind} programme for {pop}: study protocol for a randomized controlled trial",
     "protocol", "This protocol describes a planned two-arm randomized controlled trial of a {kind} programme "
     "delivered via {platform} to {pop}. Primary outcomes will be {o} symptoms."),
    ("Social media use and {o} among {pop}: a systematic review and meta-analysis", "review",
     "We systematically reviewed observational studies on social media use and {o} among {pop}."),
    ("Associations between time spent on {platform} and {o} in {pop}: a cross-sectional survey", "article",
     "In a cross-sectional survey of {n} {pop}, time on {platform} was associated with higher {o} scores."),
    ("Effects of {kind} delivered in person on {o} in {pop}: a randomised trial", "article",
     "We randomised {n} {pop} to face-to-face {kind} sessions or waitlist; {o} improved."),
    ("Chronic mild stress in rats: effects of {kind}-like enrichment on {o}-like behaviour", "article",
     "Male Wistar rats exposed to chronic mild stress showed {o}-like behaviour that enrichment reduced."),
    ("Erratum: {platform} peer support for {o} in {pop}", "erratum",
     "This erratum corrects a table in the original article."),
    ("Feasibility of a {platform} group for {pop} with diagnosed major depressive disorder: an uncontrolled pilot",
     "article", "An uncontrolled pilot study of {n} {pop} with diagnosed depression using a {platform} group."),
    ("Online {kind} for {o}: a qualitative study of {pop}' experiences", "article",
     "Semi-structured interviews with {n} {pop} explored experiences of online {kind}."),
    ("Smartphone app-based {kind} for {o} in {pop}: randomized controlled trial", "article",
     "A standalone smartphone app (no social-media component) was tested in {n} {pop}; {o} was the outcome."),
    ("Use of bulletin boards for peer support among {pop} in 1999-2003", "article",
     "An early internet bulletin board study of {pop} and {o}."),
]


def make_distractors(rng: random.Random, n: int) -> list[dict]:
    """Records that are not trials of the review; drawn from the first twelve populations, as always, so the
    same seed gives the same records."""
    out = []
    for j in range(n):
        template, ptype, abstract = DISTRACTOR_TEMPLATES[j % len(DISTRACTOR_TEMPLATES)]
        fill = {"platform": rng.choice(PLATFORMS), "kind": rng.choice(INTERVENTIONS),
                "pop": rng.choice(POPULATIONS[:12]), "o": rng.choice(DOMAINS),
                "n": rng.randint(40, 900)}
        year = rng.randint(2000, 2004) if "1999" in template else rng.randint(2006, 2024)
        journal, abbrev = rng.choice(JOURNALS)
        out.append({
            "key": f"D{j + 1:03d}", "title": template.format(**fill), "abstract": abstract.format(**fill),
            "year": year, "authors": "; ".join(f"{s}, {g}" for s, g in _authors(rng, rng.randint(2, 5))),
            "journal": journal, "journal_abbrev": abbrev, "volume": str(rng.randint(1, 40)),
            "issue": str(rng.randint(1, 12)), "pages": f"{rng.randint(1, 900)}-{rng.randint(901, 999)}",
            "doi": f"10.9999/distract.{j + 1}" if rng.random() < 0.8 else "",
            "pmid": str(28000000 + 131 * j) if rng.random() < 0.7 else "",
            "publication_type": ptype,
        })
    return out


def trial_abstract(t: dict, outs: list[dict]) -> str:
    names = ", ".join(f"{o['outcome']} ({o['measure']})" for o in outs)
    domains = _and(list(dict.fromkeys(o["outcome"] for o in outs)))
    return (f"Background: {t['population'].capitalize()} report high levels of {domains}. "
            f"Methods: In this randomized controlled trial, {t['n_randomised_1'] + t['n_randomised_2']} "
            f"{t['population']} were randomly assigned to a {t['intervention']} intervention delivered through "
            f"{t['platform']} by {t['deliverer']} or to a {t['control_type']} control. Outcomes were {names}. "
            f"Results: {t['n_analysed_1'] + t['n_analysed_2']} participants completed the post-test. "
            f"Conclusions: Social-media-delivered {t['intervention']} may reduce symptoms.")


def write_pubmed(path: Path, items: list[dict]) -> None:
    lines: list[str] = []
    for it in items:
        lines += [f"PMID- {it['pmid'] or 99000000 + len(lines)}", "OWN - NLM", "STAT- MEDLINE",
                  f"DP  - {it['year']}", f"TI  - {it['title']}", f"AB  - {it['abstract']}"]
        for author in it["authors"].split("; "):
            family, given = author.split(", ")
            lines += [f"FAU - {family}, {given}", f"AU  - {family} {given[0]}"]
        lines += [f"TA  - {it['journal_abbrev']}", f"JT  - {it['journal']}", f"VI  - {it['volume']}",
                  f"IP  - {it['issue']}", f"PG  - {it['pages']}", "LA  - eng",
                  f"PT  - {'Randomized Controlled Trial' if it.get('rct') else 'Journal Article'}"]
        if it["doi"]:
            lines.append(f"AID - {it['doi']} [doi]")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_scopus(path: Path, items: list[dict]) -> None:
    cols = ["Authors", "Title", "Year", "Source title", "Volume", "Issue", "Page start", "Page end", "DOI",
            "Abstract", "PubMed ID", "Document Type", "Source", "EID"]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(cols)
        for n, it in enumerate(items):
            start, _, end = it["pages"].partition("-")
            authors = ", ".join(f"{a.split(', ')[0]} {a.split(', ')[1][0]}." for a in it["authors"].split("; "))
            writer.writerow([authors, it["title"], it["year"], it["journal"], it["volume"], it["issue"], start, end,
                             it["doi"], it["abstract"], it["pmid"], "Article", "Scopus",
                             f"2-s2.0-{85000000000 + n}"])


def write_ris(path: Path, items: list[dict]) -> None:
    lines: list[str] = []
    for it in items:
        lines += ["TY  - JOUR", f"TI  - {it['title']}"]
        lines += [f"AU  - {a}" for a in it["authors"].split("; ")]
        lines += [f"PY  - {it['year']}//", f"JO  - {it['journal']}", f"VL  - {it['volume']}",
                  f"IS  - {it['issue']}", f"SP  - {it['pages'].split('-')[0]}", f"AB  - {it['abstract']}",
                  "DB  - APA PsycInfo"]
        if it["doi"]:
            lines.append(f"DO  - https://doi.org/{it['doi']}")
        lines += ["ER  - ", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_studies(path: Path, trials: list[dict]) -> None:
    """Study-level fields for `metasift studies import` (moderators and subgroups): keyed by "Family Year"
    as the effect sizes name studies. ``students``: whether the sample is one of students; ``female_pct``: the
    share of women randomised; ``guidance``: human-guided or self-guided; ``control_type``: the comparator."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["study", "platform", "students", "female_pct", "guidance", "control_type"])
        for t in trials:
            family = str(t["authors"]).split(",")[0].strip()
            writer.writerow([f"{family} {t['year']}", t["platform"], "yes" if "student" in t["population"] else "no",
                             t["female_pct"], t["guidance"], t["control_type"]])


ROB_DOMAINS = ["D1", "D2", "D3", "D4", "D5"]


def write_rob(path: Path, trials: list[dict], rng: random.Random) -> None:
    """RoB 2 judgements of the included trials (by DOI, as `metasift rob import` reads them): mostly low risk
    or some concerns, a few high; the overall judgement is the worst domain's, as the RoB 2 algorithm has it."""
    order = ["low", "some concerns", "high"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["doi", *ROB_DOMAINS, "overall"])
        for t in trials:
            if t["fails_rule"]:
                continue
            domains = [order[rng.choices([0, 1, 2], weights=[14, 5, 1])[0]] for _ in ROB_DOMAINS]
            writer.writerow([t["doi"], *domains, max(domains, key=order.index)])


def main() -> None:
    rng = random.Random(SEED)
    trials, outcomes = make_trials(rng)
    distractors = make_distractors(rng, 300)
    (OUT / "search").mkdir(parents=True, exist_ok=True)
    for name, rows in (("trials.csv", trials), ("outcomes.csv", outcomes)):
        with open(OUT / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    items = []
    later = {t["trial_id"] for t in trials[12:]}  # added after the first twelve
    for t in trials:
        outs = [o for o in outcomes if o["trial_id"] == t["trial_id"]]
        items.append({**t, "key": t["trial_id"], "abstract": trial_abstract(t, outs), "rct": True,
                      "publication_type": "article"})
    items += distractors
    pubmed, scopus, psycinfo = [], [], []
    split = random.Random(SEED + 2)  # the later trials' databases: the others' draws stay as they were
    for it in items:
        r = split.random() if it["key"] in later else rng.random()
        pubmed.append(it) if r < 0.75 or it["key"].startswith("T") else None
        scopus.append(it) if r > 0.35 else None
        psycinfo.append(it) if r < 0.2 or r > 0.9 else None
    write_pubmed(OUT / "search" / "pubmed.nbib", pubmed)
    write_scopus(OUT / "search" / "scopus.csv", scopus)
    write_ris(OUT / "search" / "psycinfo.ris", psycinfo)
    write_studies(OUT / "studies.csv", trials)
    write_rob(OUT / "rob2.csv", trials, random.Random(SEED + 3))
    with open(OUT / "labels.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["key", "title", "year", "doi", "publication_type", "include_title_abstract",
                         "include_full_text"])
        for it in items:
            ta = int(it["key"].startswith("T"))
            ft = int(ta and not it.get("fails_rule"))
            writer.writerow([it["key"], it["title"], it["year"], it["doi"], it["publication_type"], ta, ft])
    print(f"wrote {len(trials)} trials, {len(outcomes)} outcomes, {len(items)} unique records "
          f"({len(pubmed)} PubMed, {len(scopus)} Scopus, {len(psycinfo)} PsycINFO) to {OUT}")


if __name__ == "__main__":
    main()
