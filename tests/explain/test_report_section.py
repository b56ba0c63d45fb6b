"""The report's Failure analysis section, rendered from an explainability block (renderer pattern)."""
from __future__ import annotations

import copy
import re
import shutil
import subprocess

import pytest

from valkit.explain.config import ExplainabilityOptions
from valkit.explain.section import explainability_section
from valkit.report.context import SECTIONS
from valkit.report.sections.failure_analysis import build, similarity_svg
from valkit.results_schema import ResultsSchemaError, validate_results
from valkit.results_schema.explainability import SanityStage

OPTIONS = ExplainabilityOptions.model_validate({
    "gallery": {"true_positive": 2, "false_positive": 1, "false_negative": 1, "true_negative": 1},
    "localisation": {"bootstrap_resamples": 200, "min_group_size": 2},
    "sanity": {"n_images": 2, "stages": 2},
})


@pytest.fixture
def run_with_explainability(tmp_path, blob_study, blob_predictor, fake_results):
    run = tmp_path / "run"
    ex = explainability_section(run, blob_study, blob_predictor, OPTIONS, threshold=0.5, seed=4).written()
    return run, {**copy.deepcopy(fake_results), "explainability": ex}  # grafted onto a complete, valid results


def test_section_is_registered_and_optional(fake_results):
    sec = next(s for s in SECTIONS if s.id == "failure-analysis")
    assert sec.requires == ("explainability",) and sec.title == "Failure analysis"
    ids = [s.id for s in SECTIONS]
    assert ids.index("sites-and-scanners") < ids.index("failure-analysis") < ids.index("limitations")
    assert build(validate_results(fake_results), {}) is None
    unavailable = {"method": "gradcam", "seed": 1, "threshold": 0.5, "options": OPTIONS.model_dump(mode="json"),
                   "available": False, "reason": "external predictions"}
    ctx = build(validate_results({**fake_results, "explainability": unavailable}), {})
    assert ctx == {"available": False, "reason": "external predictions"}


def test_html_shows_gallery_metrics_and_sanity(run_with_explainability):
    from valkit.report.render import render_html

    run, results = run_with_explainability
    html = render_html(results, results_sha256="0" * 64)
    assert "Failure analysis" in html and "Localisation validity" in html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == 2 + 1 + 1 + 1 + 1  # gallery cases + the sanity example figure
    assert all((run / s).is_file() for s in srcs)
    assert "I-0010" in html and "I-0011" in html  # the false negative and the false positive
    assert "56.6–100.0%" in html  # Wilson 95% CI for 5/5, printed as computed
    assert "PASSED" in html and "Spearman" in html
    assert "PASSED</span> — the heatmaps change" in html or "— the heatmaps change" in html  # no "PASSED — Passed:"
    assert "Where the heatmaps peak" in html and "Heatmap peaks on the image border by outcome" in html
    assert "No group is flagged." in html  # the blob detector looks at the blobs
    assert "MRN-123456" not in html and "Real^Name" not in html


def test_older_results_without_the_border_block_still_render(run_with_explainability):
    from valkit.report.render import render_html

    _, results = run_with_explainability
    del results["explainability"]["border"]
    html = render_html(results, results_sha256="0" * 64)
    assert "Where the heatmaps peak" in html and "Not assessed: not in results.json (older run)." in html


def _stage(k: int, spearman: tuple, ssim: tuple) -> SanityStage:
    def summary(mean, low, high):
        return {"n": 2, "n_not_estimable": 0 if mean is not None else 2, "mean": mean, "ci_low": low, "ci_high": high,
                "min": mean, "max": mean}
    return SanityStage.model_validate({
        "stage": k, "layers_randomised": k, "first_layer": "out", "last_layer": f"layer{k}",
        "fraction_of_parameters": 0.5 * k, "target_layer_randomised": k > 1,
        "spearman": summary(*spearman), "ssim": summary(*ssim), "spearman_per_image": [], "ssim_per_image": []})


def test_similarity_chart_has_alt_text_and_escapes():
    stages = [_stage(1, (0.4, 0.3, 0.5), (0.7, None, None)), _stage(2, (None, None, None), (0.2, None, None))]
    svg = similarity_svg(stages, threshold=0.5, mode="cascading")
    assert svg.startswith("<svg") and "<title>" in svg and "stage 1: 0.40" in svg and "not estimable" in svg


@pytest.mark.slow
def test_pdf_embeds_the_overlays(run_with_explainability):
    from valkit.report.render import html_to_pdf, render_html

    if shutil.which("pdfimages") is None:
        pytest.skip("pdfimages not found: install poppler-utils (`make sysdeps`)")
    run, results = run_with_explainability
    pdf = run / "report.pdf"
    pdf.write_bytes(html_to_pdf(render_html(results, results_sha256="0" * 64), base_url=run))
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len(listing.strip().splitlines()) - 2 >= 6


def test_the_html_twin_embeds_every_heatmap_and_the_pdf_source_refers_to_the_files(run_with_explainability):
    """report.html opens alone (no explain/ folder beside it); the PDF reads the PNGs through its base URL."""
    import base64

    from valkit.report.render import render_documents

    run, results = run_with_explainability
    docs = render_documents(results, results_sha256="0" * 64, files_dir=run)
    files = re.findall(r'<img src="([^"]+)"', docs.pdf_source)
    embedded = re.findall(r'<img src="data:image/png;base64,([^"]+)"', docs.interactive)
    assert len(files) == 6 and all((run / f).is_file() for f in files)
    assert [base64.b64decode(e) for e in embedded] == [(run / f).read_bytes() for f in files]
    assert not re.search(r'<img src="(?!data:)', docs.interactive)


@pytest.mark.parametrize(("path", "problem"), [
    (("localisation", "overall", "pointing_game"), "missing (required key)"),
    (("sanity", "flagged"), "missing (required key)"),
    (("border", "overall", "peak_on_border"), "missing (required key)"),
    (("gallery", "false_negative"), "missing (required key)"),
])
def test_a_missing_field_of_a_part_fails_at_render_naming_its_path(run_with_explainability, path, problem):
    """The section reads typed attributes: a field the writer forgot is an error naming where, never a blank."""
    from valkit.report.render import render_html

    _, results = run_with_explainability
    parent = results["explainability"]
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    with pytest.raises(ResultsSchemaError) as err:
        render_html(results, results_sha256="0" * 64)
    where = "explainability.(available: true)." + ".".join(
        f"{k}.(available: true)" if k in ("localisation", "border", "sanity") and k != path[-1] else k for k in path)
    assert err.value.problems == [(where, problem)]


def test_a_misspelt_key_in_a_gallery_case_is_refused(run_with_explainability):
    _, results = run_with_explainability
    case = results["explainability"]["gallery"]["true_positive"]["cases"][0]
    case["scaner"] = case.pop("scanner")
    with pytest.raises(ResultsSchemaError) as err:
        validate_results(results)
    assert sorted(err.value.problems) == [
        ("explainability.(available: true).gallery.true_positive.cases[0].scaner",
         "unknown key (misspelt, or written by a different valkit version)"),
        ("explainability.(available: true).gallery.true_positive.cases[0].scanner", "missing (required key)"),
    ]


def test_a_part_that_did_not_run_has_its_own_shape_and_renders_its_reason(tmp_path, blob_study, blob_predictor,
                                                                           fake_results):
    """Localisation, border and sanity switched off: each part is 'available: false' with a reason."""
    from valkit.report.render import render_html

    off = OPTIONS.model_copy(update={
        "localisation": OPTIONS.localisation.model_copy(update={"enabled": False}),
        "border": OPTIONS.border.model_copy(update={"enabled": False}),
        "sanity": OPTIONS.sanity.model_copy(update={"enabled": False}),
    })
    ex = explainability_section(tmp_path / "run", blob_study, blob_predictor, off, threshold=0.5, seed=4).written()
    typed = validate_results({**copy.deepcopy(fake_results), "explainability": ex}).explainability
    assert [(p.available, p.reason) for p in (typed.localisation, typed.border, typed.sanity)] == [
        (False, "localisation disabled in the protocol (explainability.localisation.enabled: false)"),
        (False, "disabled in the protocol"), (False, "disabled in the protocol")]
    html = render_html({**copy.deepcopy(fake_results), "explainability": ex}, results_sha256="0" * 64)
    assert "localisation disabled in the protocol" in html and "Failure analysis" in html
    broken = copy.deepcopy(ex)
    broken["sanity"]["stages"] = []  # a field of the shape that ran, on a part that did not run
    with pytest.raises(ResultsSchemaError) as err:
        validate_results({**copy.deepcopy(fake_results), "explainability": broken})
    assert err.value.problems == [("explainability.(available: true).sanity.(available: false).stages",
                                   "unknown key (misspelt, or written by a different valkit version)")]
