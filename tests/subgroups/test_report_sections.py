"""The "Subgroups and fairness" and "Sites and scanners" (with heterogeneity) report sections (HTML + SVG)."""
from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from valkit.report.formatting import pct
from valkit.report.render import render_html
from valkit.report.figures import ForestGroup, ForestPanel, ForestRow, forest_svg

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study" / "fake.yaml"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    import yaml

    from valkit import cli

    d = tmp_path_factory.mktemp("proto")
    proto = yaml.safe_load(FAKE.read_text())
    for key in ("manifest",):
        proto["datasets"][0][key] = str(FAKE.parent / proto["datasets"][0][key])
    proto["predictions"]["path"] = str(FAKE.parent / proto["predictions"]["path"])
    proto["analysis"]["bootstrap_resamples"] = 300
    proto["subgroups"]["exploratory"] = [["site", "manufacturer"]]
    proto["subgroups"]["fairness"] = {"columns": ["sex", "manufacturer"], "criteria": [
        {"metric": "tpr_difference", "max": 0.2}, {"metric": "fpr_difference", "max": 0.1, "columns": ["sex"]}]}
    (d / "p.yaml").write_text(yaml.safe_dump(proto))
    assert cli.main(["run", str(d / "p.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    return json.loads((d / "runs" / "fake" / "results.json").read_text())


def _html(r: dict) -> str:
    return render_html(r, results_sha256="0" * 64)


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start:html.index("</section>", start)]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S))


def test_forest_svg_is_valid_vector_with_alt_text():
    items = [ForestRow("F", "58/165", 0.76, 0.66, 0.85), ForestRow("O", "2/3", 0.5, 0.1, 0.9, "insufficient evidence")]
    spec = [ForestRow("F", "58/165", 0.89, 0.84, 0.93), ForestRow("O", "2/3", 0.6, 0.2, 0.9, "insufficient evidence")]
    svg = forest_svg([ForestPanel("Sensitivity", items, goal=0.7, overall=0.8),
                      ForestPanel("Specificity", spec, goal=0.7, overall=0.9)],
                     groups=[ForestGroup("Sex", 2, pooled=[(0.75, 0.7, 0.8), (0.88, 0.8, 0.9)])], title="By sex")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "By sex"
    desc = root.find(f"{ns}desc").text
    assert "F: 76.0% (66.0% to 85.0%)" in desc and "O: insufficient evidence" in desc and "goal 70.0%" in desc
    # one point per estimable cell and panel, none for the insufficient cell; a pooled diamond per panel
    assert len(root.findall(f"{ns}rect[@width='6']")) == 2
    assert len(root.findall(f"{ns}polygon")) == 2
    assert "insufficient evidence" in svg and 'stroke-dasharray="4 3"' in svg


def test_sections_render_with_every_family_and_no_nan(results):
    html = _html(results)
    sub = _section(html, "subgroups-and-fairness")
    het = _section(html, "sites-and-scanners")
    for fam in results["subgroups"]["families"]:
        assert fam["name"].split(" x ")[0].replace("_", " ").lower()[:3] in sub.lower()
    assert sub.count('class="figure-svg forest"') == len(results["subgroups"]["families"])
    assert het.count('class="figure-svg forest"') == len(results["sites_and_scanners"]["families"])
    assert "exploratory" in sub and "not recorded" in sub
    assert not re.search(r"\b(nan|NaN|None|null|inf)\b", _text(html))


def test_insufficient_cell_prints_counts_not_estimate(results):
    fam = next(f for f in results["subgroups"]["families"] if f["name"] == "sex x age_band")
    cell = next(c for c in fam["cells"] if c["status"] == "insufficient_evidence")
    sub = _section(_html(results), "subgroups-and-fairness")
    label = cell["level"].replace("missing", "not recorded")
    row = re.search(rf'<tr class="insufficient">\s*<th scope="row">{re.escape(label)}.*?</tr>', sub, re.S)
    assert row and "insufficient evidence" in row.group(0)
    assert f'>{cell["confusion"]["tp"]}<' in row.group(0)
    assert pct(cell["sensitivity"]["value"]) not in row.group(0)


def test_fairness_criteria_and_scanner_verdict_are_printed(results):
    html = _html(results)
    sub = _section(html, "subgroups-and-fairness")
    assert "Fairness criteria" in sub
    for fam in results["fairness"]["families"]:
        for c in fam["criteria"]:
            assert c["basis"] in sub
    het = _section(html, "sites-and-scanners")
    assert "By scanner manufacturer: heterogeneous" in het
    assert "Cobalt (lower)" in het


def test_sections_are_left_out_without_their_keys(results):
    r = copy.deepcopy(results)
    del r["subgroups"], r["fairness"], r["sites_and_scanners"]
    html = _html(r)
    assert 'id="subgroups-and-fairness"' not in html
    assert "Random-effects pooling" not in html  # sites and scanners: the per-level tables only
    numbers = re.findall(r'<span class="secnum">(\d+)</span>', html)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)]


def test_every_adjusted_p_printed_says_which_family_it_is_adjusted_over(results):
    # issue #11 item 6: the same statistic with adjusted p 0.145 on one page and 0.062 on another
    from html import unescape

    html = _html(results)
    sub, het = (unescape(_text(_section(html, a))) for a in ("subgroups-and-fairness", "sites-and-scanners"))
    site_tests = [t for f in results["sites_and_scanners"]["families"] for t in f["tests"].values() if t.get("pooled")]
    assert site_tests and all(t["adjustment"].startswith("Holm over 6 tests") for t in site_tests)
    assert all(t["adjustment"] in het for t in site_tests)
    diff = [t for f in results["subgroups"]["families"] for t in f["difference_tests"].values() if t.get("p_value")]
    assert diff and all(t["adjustment"] in sub for t in diff)
    n_adjusted = len(re.findall(r"adjusted p = [^;(]*\(", sub))
    assert n_adjusted == len(diff) == len(re.findall(r"adjusted p = ", sub))


def test_a_column_without_heterogeneity_names_no_departing_level(results):
    r = copy.deepcopy(results)
    t = r["sites_and_scanners"]["families"][0]["tests"]["sensitivity"]
    from valkit.analyses.sites import _verdict

    t["p_adjusted"] = 0.5
    t["residuals"][0]["departs"] = True
    _verdict(t, 0.05)
    from html import unescape

    het = unescape(_text(_section(_html(r), "sites-and-scanners")))
    assert t["verdict"] == "no evidence of heterogeneity" and "departing:" not in t["text"]
    assert t["comparison_summary"] and t["comparison_summary"] in het


def test_every_pair_is_tabulated_under_its_gap_with_both_intervals(results):
    from valkit.report.formatting import ci_text

    sub = _text(_section(_html(results), "subgroups-and-fairness"))
    for fam in results["fairness"]["families"]:
        for pair in fam["disparities"]["fpr_difference"]["pairs"]:
            row = f"{pair['higher']} vs {pair['lower']} {pct(pair['value'])} {ci_text(pair['interval'], 'proportion')}"
            assert row.replace("missing", "not recorded") in re.sub(r"\s+", " ", sub)
            assert ci_text(pair["adjusted_interval"], "proportion") in sub
    assert "Pairwise gaps by sex" in sub


IV = {"low": 0.216, "high": 0.454, "confidence_level": 0.95, "method": "bootstrap_percentile"}


def _pair(**over):
    from valkit.results_schema.fairness import PairGap

    return PairGap.model_validate({"rate": "fpr", "higher": "60–79", "lower": "18–39", "value": 0.334,
                                   "interval": IV, "adjusted_interval": {**IV, "confidence_level": 0.975}, "n_resamples_used": 300,
                                   "warnings": [], "boundary": [], **over})


def _disparity(**over):
    from valkit.results_schema.fairness import Disparity

    return Disparity.model_validate({
        "metric": "fpr_difference", "value": 0.334, "interval": IV, "highest": "60–79", "lowest": "18–39",
        "groups": ["18–39", "60–79"], "n_resamples_used": 300, "warnings": [], "boundary": [], "rate": "fpr",
        "n_comparisons": 1, "adjusted_confidence_level": 0.95, "pairs": [_pair()], **over})


def _group(level: str, n_positive: int, n_negative: int, status: str):
    from valkit.results_schema.fairness import FairnessGroup

    return FairnessGroup.model_validate({
        "level": level, "n": n_positive + n_negative, "n_positive": n_positive, "n_negative": n_negative,
        "confusion": {"tp": 0, "fp": 0, "fn": n_positive, "tn": n_negative}, "sufficient_evidence": False,
        "status": status, "tpr": None, "fpr": None, "selection_rate": None})


def test_deciding_pair_and_groups_not_judged_are_shown():
    """Hand-made fairness models: the FAIL's deciding pair is marked in the pair table, the small
    group is 'not judged' with its counts, and equalized odds is labelled with the pair and the rate
    that give it (Table 28 had named the TPR extremes for an FPR gap)."""
    from valkit.report.sections.subgroups import _gap_row, _not_judged, _pair_tables
    from valkit.results_schema.fairness import FairnessCriterionResult

    crit = FairnessCriterionResult.model_validate({
        "metric": "fpr_difference", "max": 0.1, "min": None, "n_pairs": 1,
        "adjustment": {"method": "bonferroni", "n_comparisons": 1, "confidence_level": 0.95}, "not_judged": [],
        "verdict": "FAIL", "basis": "Bonferroni interval beyond the limit", "deciding_pairs": [_pair()],
        "exploratory": False})
    [table] = _pair_tables({"fpr_difference": _disparity()}, [crit])
    assert table["rows"][0]["pair"] == "60–79 vs 18–39" and table["rows"][0]["decides"].startswith("FAIL")
    eo = _gap_row("equalized_odds_difference", _disparity(metric="equalized_odds_difference", pairs=[]))
    assert eo["between"] == "60–79 vs 18–39 (FPR)"
    groups = [_group("O", 2, 3, "insufficient_evidence"), _group("X", 0, 0, "empty")]
    assert [_not_judged("Sex", groups, g) for g in ("O", "X")] == ["O (2/3 pos/neg)", "X (empty)"]


def test_a_group_not_judged_must_be_one_of_the_family_groups():
    """A level listed as not judged but missing from the family's groups has no counts to print: an
    error naming it (the report used to print '—/— pos/neg')."""
    from valkit.report.sections.subgroups import _not_judged

    with pytest.raises(ValueError, match=r"'Nowhere'.*not judged.*groups: O\b"):
        _not_judged("Sex", [_group("O", 2, 3, "insufficient_evidence")], "Nowhere")


def test_boundary_rates_name_the_gaps_without_an_interval():
    from valkit.report.sections.subgroups import _boundary_notes

    d = _disparity(metric="fpr_ratio", interval={**IV, "low": None, "high": None},
                   boundary=[{"rate": "fpr", "value": 0.0, "group": "Black"}])
    assert _boundary_notes({"fpr_ratio": d}) == [
        "false-positive rate = 0 in Black: resampled as exactly that, so the intervals of the gaps involving it are "
        "too narrow (False-positive rate ratio: no interval given)."]


def test_both_sections_read_the_typed_results(results):
    """subgroups-and-fairness and sites-and-scanners are built from the typed Results (issue #12 item 4)."""
    from valkit.report.context import SECTIONS, _sites_and_scanners
    from valkit.report.sections.subgroups import subgroups_and_fairness
    from valkit.results_schema import Results, validate_results

    assert {"subgroups-and-fairness", "sites-and-scanners"} <= {s.id for s in SECTIONS}
    r = validate_results(results)
    sub = subgroups_and_fairness(r, {})
    assert [f["name"] for f in sub["families"]] == [f["name"] for f in results["subgroups"]["families"]]
    assert sub["fairness_verdict"] == results["fairness"]["verdict"]
    sites = _sites_and_scanners(r, {})
    assert sites["mode"] == "heterogeneity" and sites["min_positives"] == r.protocol.subgroups.min_positives
    # without the heterogeneity block: the per-level tables, from the same typed Results
    levels = _sites_and_scanners(validate_results({**results, "sites_and_scanners": None}), {})
    assert levels["mode"] == "levels" and [g["key"] for g in levels["groups"]] == ["by_site", "by_manufacturer"]
    assert isinstance(r, Results)


@pytest.mark.parametrize("block, key", [("subgroups", "difference_tests"), ("sites_and_scanners", "tests")])
def test_a_family_without_both_metric_tests_is_rejected(results, block, key):
    """The report reads each family's sensitivity and specificity tests: a renamed one is a schema error
    naming the family's key path, not a test silently left out of the report."""
    from valkit.results_schema import ResultsSchemaError, validate_results

    r = copy.deepcopy(results)
    tests = r[block]["families"][0][key]
    tests["specifity"] = tests.pop("specificity")
    with pytest.raises(ResultsSchemaError, match=rf"{block}\.families\[0\]\.{key}: .*sensitivity and specificity"):
        validate_results(r)
