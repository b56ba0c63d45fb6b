"""The case list: sites, prevalence, demographics, determinism (no pixels, fast)."""
from __future__ import annotations

import dataclasses
import functools
from collections import Counter

import numpy as np

from valkit.synth import SITES, iter_cases

N = 4000


@functools.lru_cache(maxsize=4)
def _cases(n=N, seed=2026):
    return tuple(iter_cases(n, seed=seed))


def test_same_seed_same_cases_and_prefix_stable():
    a = list(iter_cases(50, seed=9))
    assert a == list(iter_cases(50, seed=9))
    b = list(iter_cases(30, seed=9))
    assert [c.case_id for c in b] == [c.case_id for c in a[:30]]
    assert [c.params for c in b] == [c.params for c in a[:30]]
    assert [c.params for c in a] != [c.params for c in iter_cases(50, seed=10)]


def test_patients_have_one_to_three_visits_each_its_own_study():
    per_patient = Counter(c.patient_pseudo_id for c in _cases(600))
    assert set(per_patient.values()) <= {1, 2, 3}
    assert {1, 2, 3} <= set(per_patient.values())
    cases = _cases(600)
    by_patient = {}
    for c in cases:
        by_patient.setdefault(c.patient_pseudo_id, []).append(c)
    for visits in by_patient.values():
        assert len({c.label for c in visits}) == 1
        assert len({c.site.key for c in visits}) == 1
        assert len({c.params.nodule for c in visits}) == 1
        assert [c.study_date for c in visits] == sorted(c.study_date for c in visits)
        assert [c.visit for c in visits] == list(range(1, len(visits) + 1))


def test_site_prevalence_and_share_as_configured():
    cases = _cases()
    first = [c for c in cases if c.visit == 1]  # one row per patient
    for site in SITES:
        pats = [c for c in first if c.site.key == site.key]
        n = len(pats)
        p_hat = sum(c.label for c in pats) / n
        se = np.sqrt(site.prevalence * (1 - site.prevalence) / n)
        assert abs(p_hat - site.prevalence) < 4 * se, (site.key, p_hat)
        share = n / len(first)
        assert abs(share - site.share) < 4 * np.sqrt(site.share * (1 - site.share) / len(first))
        males = sum(c.sex == "M" for c in pats) / n
        assert abs(males - site.male_fraction) < 0.1
        ages = [c.age_years for c in pats]
        assert abs(np.mean(ages) - site.age_mean) < 3 and min(ages) >= 18


def test_each_site_uses_its_vendors_and_each_vendor_two_sites():
    cases = _cases(1500)
    for site in SITES:
        used = {c.vendor.key for c in cases if c.site.key == site.key}
        assert used == {k for k, _ in site.vendors}
    sites_per_vendor = Counter()
    for v in {c.vendor.key for c in cases}:
        sites_per_vendor[v] = len({c.site.key for c in cases if c.vendor.key == v})
    assert min(sites_per_vendor.values()) >= 2


def test_missing_demographics_and_ethnicity():
    cases = _cases()
    missing = [c for c in cases if c.recorded_sex in ("", "O")]
    assert 0.005 < len(missing) / len(cases) < 0.1
    assert all(c.recorded_age is None and c.birth_date == "" for c in missing)
    assert {c.recorded_sex for c in missing} == {"", "O"}
    india = [c for c in cases if c.site.country == "India"]
    usa = [c for c in cases if c.site.country == "USA"]
    assert all(c.ethnicity == "" for c in india)
    blank = sum(c.ethnicity == "" for c in usa) / len(usa)
    assert 0.03 < blank < 0.25
    assert len({c.ethnicity for c in usa}) >= 5


def test_recorded_age_consistent_with_birth_date():
    for c in _cases(300):
        if c.birth_date:
            by, bmd = int(c.birth_date[:4]), c.birth_date[4:]
            sy, smd = int(c.study_date[:4]), c.study_date[4:]
            assert c.recorded_age == sy - by - (smd < bmd)


def test_ids_unique_and_pseudonymous():
    cases = _cases(2000)
    pid = {}
    for c in cases:
        assert pid.setdefault(c.patient_pseudo_id, c.patient_id) == c.patient_id
    assert len(set(pid.values())) == len(pid)
    assert all(not c.patient_id.startswith("P0") for c in cases)
    assert len({c.case_id for c in cases}) == len(cases)
    assert dataclasses.is_dataclass(cases[0])
