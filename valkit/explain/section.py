"""The ``explainability`` section of results.json: galleries, localisation validity, sanity check.

:func:`explainability_section` runs after predictions exist. It reads the DICOM files of
the cases it needs again (gallery samples, true positives with a lesion box, the sanity
sample), computes heatmaps in batches with the model card's network, writes overlay PNGs
under ``runs/<id>/explain/`` and returns a JSON-ready dict. Nothing here decides a case's
outcome: true/false positives come from the predictions table and the run's threshold
(positive when ``score >= threshold``).

Pseudonymous case ids only: gallery entries carry the manifest's case id, site, scanner
and score; no patient identifier is read from the DICOM header or written.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from valkit.errors import InputError, without_path
from valkit.progress import QUIET, Progress
from valkit.results_schema import validate_block
from valkit.results_schema.explainability import Explainability
from valkit.analyses.estimates import withhold_if_insufficient
from valkit.explain.config import ExplainabilityOptions
from valkit.explain.images import overlay_rgb, save_png, tile_rows
from valkit.explain.localisation import (
    Box,
    border_band,
    border_chance,
    box_from_pixels,
    box_to_input_grid,
    cell_chance,
    energy_fraction,
    localisation_estimates,
    mass_share,
    peak_on_border,
    pointing_game_cell_hit,
    pointing_game_hit,
)
from valkit.explain.sampling import CATEGORIES, CasePlan, outcome_category, plan_cases, text

if TYPE_CHECKING:
    import pandas as pd

    from valkit.model_card import PreprocessingSpec
    from valkit.predictor import Predictor

__all__ = ["CATEGORIES", "check_geometry", "explainability_section", "load_case", "outcome_category"]

EXPLAIN_DIR = "explain"
_CHUNK = 64  # cases read and explained together (bounds memory; CAM batches are options.batch_size)

#: PreprocessingSpec fields whose geometry :func:`box_to_input_grid` accounts for (a whole-image
#: resize to ``size``). A new field (a crop, padding, letterboxing) must be added here only
#: together with the matching change to the box mapping.
GEOMETRY_FIELDS = frozenset({"window", "invert_monochrome1", "color", "size", "resize", "normalization", "channels"})


def check_geometry(spec: PreprocessingSpec) -> None:
    """Refuse to map lesion boxes through a preprocessing step whose geometry is unknown here."""
    unknown = sorted(set(type(spec).model_fields) - GEOMETRY_FIELDS)
    if unknown:
        raise RuntimeError(f"preprocessing has field(s) {', '.join(unknown)} that valkit.explain's box mapping "
                           "does not account for; update valkit.explain.localisation.box_to_input_grid and "
                           "GEOMETRY_FIELDS together.")


def _display_spec(spec: PreprocessingSpec) -> PreprocessingSpec:
    from valkit.model_card import Normalization

    return spec.model_copy(update={"normalization": Normalization(), "channels": 1})


def load_case(path: str | Path, spec: PreprocessingSpec) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """One DICOM file → (model input ``(C, H, W)``, windowed display ``(H, W)`` in [0, 1], stored (rows, columns)).

    The display image is the model's own windowing and resize, before normalisation, so an
    overlay shows exactly the pixels the network saw.
    """
    from valkit.preprocess import apply_preprocessing, decode_pixels, read_dicom

    ds = read_dicom(path)
    pixels = decode_pixels(ds)
    model_input = apply_preprocessing(pixels, ds, spec)
    display = apply_preprocessing(pixels, ds, _display_spec(spec))[0]
    return model_input, display, (int(pixels.shape[0]), int(pixels.shape[1]))


def explainability_section(
    run_dir: str | Path,
    merged: pd.DataFrame,
    predictor: Predictor | None,
    options: ExplainabilityOptions | None = None,
    *,
    threshold: float,
    seed: int,
    cluster_column: str = "patient_id",
    extra_group_columns: Sequence[str] = (),
    progress: Progress = QUIET,
) -> Explainability:
    """Heatmaps, galleries, localisation metrics and the randomisation test for one run.

    Parameters
    ----------
    run_dir : path
        ``runs/<id>``; overlays go to ``runs/<id>/explain/``.
    merged : DataFrame
        The study table joined with the predictions (``case_id``, ``abs_path``, ``label``,
        ``score``, ``status``, ``site``, ``manufacturer``, ``model``, the cluster column and
        any lesion-box columns), one row per manifest row.
    predictor : Predictor or None
        The loaded model card network; ``None`` (external predictions) gives a section that
        says heatmaps are not available.
    options : ExplainabilityOptions
        The protocol's ``explainability`` block (defaults if ``None``).
    threshold : float
        The run's operating point.
    seed : int
        The protocol's analysis seed; ``options.seed`` overrides it. Recorded.
    cluster_column : str
        Patient column for clustered intervals.
    extra_group_columns : sequence of str
        More breakdown columns (e.g. the protocol's subgroup columns) besides ``options.localisation.by``.
    progress : Progress
        Reports the heatmaps computed (a bar of the cases) and the randomisation test (stderr).

    Returns
    -------
    Explainability
        The ``explainability`` block of results.json (see docs/explainability.md), validated here.
    """
    options = options or ExplainabilityOptions()
    seed_used = int(options.seed if options.seed is not None else seed)
    run_dir = Path(run_dir)
    base = {"method": options.method, "seed": seed_used, "threshold": float(threshold),
            "options": options.model_dump(mode="json")}
    if predictor is None:
        return _validated({**base, "available": False,
                           "reason": "external predictions: valkit has no network to compute heatmaps from"})
    if getattr(predictor, "explain_unavailable", None):  # e.g. an ONNX graph: nothing to hook
        return _validated({**base, "available": False, "reason": predictor.explain_unavailable})
    card = predictor.card
    if card.explainability is None:
        raise InputError(f"{card.path}: explainability.target_layer is not set in the model card, but the protocol "
                         "asks for explainability. Add `explainability: {target_layer: <module name>}` to the card "
                         "(a name from network.named_modules(), usually the last convolutional block).")
    layer_name = card.explainability.target_layer
    spec = card.preprocessing
    check_geometry(spec)
    rng = np.random.default_rng(seed_used)

    ok = merged[merged["status"] == "ok"].copy()
    ok["label"] = ok["label"].astype(int)
    ok["score"] = ok["score"].astype(float)
    ok["category"] = [outcome_category(lab, sc, threshold) for lab, sc in zip(ok["label"], ok["score"])]
    ok = ok.set_index("case_id", drop=False)
    plan = plan_cases(ok, options, rng)
    out_dir = run_dir / EXPLAIN_DIR
    out_dir.mkdir(parents=True, exist_ok=True)

    group_columns = [c for c in dict.fromkeys(["site", "manufacturer", "model", *options.localisation.by,
                                                *extra_group_columns]) if c in ok.columns]
    gallery_of = {cid: cat for cat, ids in plan.gallery.items() for cid in ids}
    localise = set(plan.localisation)
    sanity_ids = set(plan.sanity)
    border_ids = set(plan.border)
    border_records: list[dict] = []
    per_case: list[dict] = []
    entries: dict[str, dict] = {}
    unreadable: dict[str, str] = {}
    sanity_inputs: dict[str, np.ndarray] = {}
    sanity_display: dict[str, np.ndarray] = {}
    n_maps = 0
    seconds = 0.0
    needed = plan.needed()
    from valkit.explain.cam import compute_heatmaps, feature_grid

    grid = feature_grid(predictor.network, layer_name, (spec.channels, *spec.size))
    band = border_band(grid, tuple(spec.size))

    with progress.task(f"Grad-CAM heatmaps ({options.method})", total=len(needed)) as step:
        for start in range(0, len(needed), _CHUNK):
            chunk = needed[start:start + _CHUNK]
            inputs, displays, shapes, kept = [], [], [], []
            for cid in chunk:
                try:
                    x, d, shape = load_case(ok.at[cid, "abs_path"], spec)
                except InputError as exc:  # the file changed since inference; record and go on
                    unreadable[cid] = without_path(str(exc), ok.at[cid, "abs_path"])  # outputs name no path
                    continue
                inputs.append(x)
                displays.append(d)
                shapes.append(shape)
                kept.append(cid)
            if not kept:
                step.advance(len(chunk))
                continue
            t0 = time.perf_counter()
            maps = compute_heatmaps(predictor.network, layer_name, np.stack(inputs), method=options.method,
                                    batch_size=options.batch_size, output_index=_output_index(card))
            seconds += time.perf_counter() - t0
            n_maps += len(kept)
            for cid, x, d, shape, h in zip(kept, inputs, displays, shapes, maps):
                row = ok.loc[cid]
                box_in, box_problem = None, None
                if cid in plan.boxes:
                    try:
                        stored = box_from_pixels(*plan.boxes[cid], convention=options.localisation.box_convention,
                                                 shape=shape)
                        box_in = box_to_input_grid(stored, shape, h.shape)
                    except ValueError as exc:
                        box_problem = str(exc)
                peak = np.unravel_index(int(np.argmax(h)), h.shape) if h.max() > 0 else None
                if cid in localise:
                    if box_in is None:
                        plan.bad_box[cid] = box_problem or "box not usable"
                    else:
                        per_case.append(_case_metrics(row, h, box_in, shape, peak, options, cluster_column,
                                                      group_columns, grid))
                if cid in gallery_of:
                    rel = Path(EXPLAIN_DIR) / "gallery" / gallery_of[cid] / f"{_safe(cid)}.png"
                    save_png(overlay_rgb(d, h, box=box_in, peak=peak), run_dir / rel)
                    entries[cid] = _gallery_entry(row, rel, h, box_in, options, grid)
                if cid in border_ids:
                    rec = {"case_id": str(cid), "cluster": text(row.get(cluster_column)) or str(cid),
                           "category": str(row["category"]), "peak_on_border": peak_on_border(h, grid),
                           "border_energy_fraction": mass_share(h, band),
                           "empty_heatmap": bool(h.max() <= 0)}
                    for col in options.border.by:
                        if col in ok.columns:
                            rec[col] = text(row.get(col)) or "missing"
                    border_records.append(rec)
                if cid in sanity_ids:
                    sanity_inputs[cid] = x
                    sanity_display[cid] = d
            step.advance(len(chunk))

    result = {
        **base,
        "available": True,
        "target_layer": layer_name,
        "explained_output": _explained_output(card),
        "heatmap_grid": list(spec.size),
        "feature_grid": list(grid),
        "feature_cell_px": [spec.size[0] / grid[0], spec.size[1] / grid[1]],
        "heatmaps": {"n": n_maps, "seconds": round(seconds, 3),
                     "per_second": round(n_maps / seconds, 2) if seconds > 0 else None,
                     "device": str(predictor.device)},
        "unreadable": [{"case_id": c, "reason": r} for c, r in sorted(unreadable.items())],
        "gallery": {
            cat: {"available": plan.available[cat], "requested": getattr(options.gallery, cat),
                  "cases": [entries[c] for c in plan.gallery[cat] if c in entries]}
            for cat in CATEGORIES
        },
        "localisation": _localisation_block(per_case, plan, ok, options, seed_used, cluster_column,
                                            extra_group_columns, run_dir),
    }
    result["border"] = _border_block(border_records, options, grid, band, ok, seed_used, run_dir, cluster_column)
    if options.sanity.enabled and sanity_inputs:
        with progress.task("Grad-CAM randomisation test"):
            result["sanity"] = _sanity_block(predictor, layer_name, plan.sanity, sanity_inputs, sanity_display,
                                             options, seed_used, run_dir)
    else:
        result["sanity"] = {"available": False,
                            "reason": "disabled in the protocol" if not options.sanity.enabled else "no readable cases"}
    return _validated(result)


def _validated(block: dict) -> Explainability:
    """``block`` checked against its model (:data:`~valkit.results_schema.explainability.Explainability`)."""
    return validate_block(Explainability, block, path="explainability")


def _output_index(card: Any) -> int | None:
    """None for a single sigmoid logit; the positive class's column for a softmax network."""
    return card.output.positive_index if card.output.activation == "softmax" else None


def _explained_output(card: Any) -> str:
    if card.output.activation == "softmax":
        return (f"the logit of the positive class '{card.output.positive_class}' (before the softmax over "
                f"{', '.join(card.output.classes)}), for every case")
    return "the network's single logit (finding present), for every case"


def _safe(case_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(case_id))


def _scanner(row: Any) -> str:
    parts = [text(row.get("manufacturer")), text(row.get("model"))]
    return " ".join(p for p in parts if p and p != "missing") or "missing"


def _gallery_entry(row: Any, rel: Path, h: np.ndarray, box_in: Box | None, options: ExplainabilityOptions,
                   grid: tuple[int, int]) -> dict:
    entry = {
        "case_id": str(row["case_id"]),
        "category": str(row["category"]),
        "site": text(row.get("site")) or "missing",
        "scanner": _scanner(row),
        "score": float(row["score"]),
        "label": int(row["label"]),
        "overlay": rel.as_posix(),
        "pointing_game_hit": None,
        "pointing_game_cell_hit": None,
        "energy_fraction": None,
    }
    if box_in is not None:
        entry["pointing_game_hit"] = pointing_game_hit(h, box_in, tolerance=options.localisation.pointing_tolerance_px)
        entry["pointing_game_cell_hit"] = pointing_game_cell_hit(h, box_in, grid)
        entry["energy_fraction"] = energy_fraction(h, box_in)
    return entry


def _case_metrics(row: Any, h: np.ndarray, box_in: Box, shape: tuple[int, int], peak: Any,
                  options: ExplainabilityOptions, cluster_column: str, group_columns: Sequence[str],
                  grid: tuple[int, int]) -> dict:
    rec = {
        "case_id": str(row["case_id"]),
        "cluster": text(row.get(cluster_column)) or str(row["case_id"]),
        "hit": pointing_game_hit(h, box_in, tolerance=options.localisation.pointing_tolerance_px),
        "hit_feature_cell": pointing_game_cell_hit(h, box_in, grid),
        "energy_fraction": energy_fraction(h, box_in),
        "empty_heatmap": bool(h.max() <= 0),
        "peak_row": int(peak[0]) if peak is not None else None,
        "peak_col": int(peak[1]) if peak is not None else None,
        "box_input": [round(v, 3) for v in box_in.to_list()],
        "stored_rows": shape[0],
        "stored_columns": shape[1],
        "box_area_fraction": box_in.area / float(h.size),
        "cell_chance": cell_chance(box_in, grid, h.shape),
    }
    for col in group_columns:
        rec[col] = text(row.get(col)) or "missing"
    return rec


def _estimates(records: list[dict], options: ExplainabilityOptions, seed: int) -> dict:
    hits = [r["hit"] for r in records]
    energy = [r["energy_fraction"] for r in records]
    cluster = [r["cluster"] for r in records]
    est = localisation_estimates(hits, energy, cluster, seed=seed,
                                 n_resamples=options.localisation.bootstrap_resamples)
    cell = localisation_estimates([r["hit_feature_cell"] for r in records], energy, cluster, seed=seed,
                                  n_resamples=options.localisation.bootstrap_resamples)["pointing_game"]
    area = [r["box_area_fraction"] for r in records]
    return {
        "n": len(records),
        "n_patients": len(set(cluster)),
        "pointing_game": est["pointing_game"].to_dict(),
        "pointing_game_feature_cell": cell.to_dict(),
        "energy_fraction": est["energy_fraction"].to_dict(),
        # chance levels: a heatmap spread evenly (energy), a peak in a random feature cell (cell pointing game)
        "mean_box_area_fraction": float(np.mean(area)) if area else None,
        "mean_cell_chance": float(np.mean([r["cell_chance"] for r in records])) if records else None,
    }


def _localisation_block(per_case: list[dict], plan: CasePlan, ok: pd.DataFrame, options: ExplainabilityOptions,
                        seed: int, cluster_column: str, extra_group_columns: Sequence[str], run_dir: Path) -> dict:
    import pandas as pd

    loc = options.localisation
    block: dict[str, Any] = {
        "available": bool(per_case),
        "box_columns": list(loc.box_columns),
        "box_convention": loc.box_convention,
        "pointing_tolerance_px": loc.pointing_tolerance_px,
        "geometry": "boxes mapped from stored-pixel coordinates to the model input grid by the resize "
                    "factors W_in/columns and H_in/rows (whole-image resize, no crop or padding)",
        "n_true_positives": plan.available["true_positive"],
        "n_with_box": plan.n_tp_with_box,
        "n_scored": len(per_case),
        "n_without_box": len(plan.no_box),
        "n_invalid_box": sum(1 for c in plan.bad_box if ok.at[c, "category"] == "true_positive"),
        "invalid_boxes": [{"case_id": c, "category": ok.at[c, "category"], "reason": r}
                          for c, r in sorted(plan.bad_box.items())][:50],
        "n_empty_heatmaps": sum(r["empty_heatmap"] for r in per_case),
        "max_cases": loc.max_cases,
        "cluster_column": cluster_column,
    }
    if plan.box_note:
        block["reason"] = plan.box_note
    if not per_case:
        block.setdefault("reason", "no true positive with a usable lesion box")
        return block
    block["overall"] = _estimates(per_case, options, seed)
    by: dict[str, list[dict]] = {}
    columns = list(dict.fromkeys([*loc.by, *extra_group_columns]))
    block["columns_not_found"] = [c for c in columns if c not in ok.columns]
    for col in columns:
        if col not in ok.columns:
            continue
        groups = []
        for level in sorted({r[col] for r in per_case}):
            sub = [r for r in per_case if r[col] == level]
            groups.append(withhold_if_insufficient({"group": level, "insufficient": len(sub) < loc.min_group_size,
                                                    **_estimates(sub, options, seed)},
                                                   len(sub) >= loc.min_group_size))
        by[col] = groups
    block["by"] = by
    block["min_group_size"] = loc.min_group_size
    path = run_dir / EXPLAIN_DIR / "localisation.csv"
    table = pd.DataFrame(per_case).rename(columns={"cluster": cluster_column})
    table.to_csv(path, index=False)
    block["cases_csv"] = (Path(EXPLAIN_DIR) / "localisation.csv").as_posix()
    return block


def _border_estimates(records: list[dict], options: ExplainabilityOptions, seed: int) -> dict:
    est = localisation_estimates([r["peak_on_border"] for r in records],
                                 [r["border_energy_fraction"] for r in records],
                                 [r["cluster"] for r in records], seed=seed,
                                 n_resamples=options.localisation.bootstrap_resamples)
    return {"n": len(records), "n_patients": len({r["cluster"] for r in records}),
            "peak_on_border": est["pointing_game"].to_dict(),
            "border_energy_fraction": est["energy_fraction"].to_dict()}


def _border_block(records: list[dict], options: ExplainabilityOptions, grid: tuple[int, int], band: np.ndarray,
                  ok: pd.DataFrame, seed: int, run_dir: Path, cluster_column: str) -> dict:
    """How often heatmaps peak in the outermost ring of feature cells, against the chance level.

    A row is ``flagged`` when the lower bound of its border-peak rate's CI lies above the chance
    level (a peak in a random feature cell): the maxima gather at the image edge more than chance
    allows, which points at an edge shortcut and deserves a look at the gallery.
    """
    import pandas as pd

    b = options.border
    chance = border_chance(grid)
    block: dict[str, Any] = {
        "available": bool(records), "enabled": b.enabled, "feature_grid": list(grid),
        "band": "the outermost ring of feature cells",
        "band_area_fraction": float(band.mean()), "chance": chance,
        "max_cases_per_category": b.max_cases_per_category, "min_group_size": b.min_group_size,
        "n": len(records), "n_empty_heatmaps": sum(r["empty_heatmap"] for r in records),
    }
    if not records:
        block["reason"] = "disabled in the protocol" if not b.enabled else "no readable cases"
        return block

    def row(group: str, sub: list[dict]) -> dict:
        est = _border_estimates(sub, options, seed)
        low = (est["peak_on_border"].get("interval") or {}).get("low")
        return withhold_if_insufficient(
            {"group": group, "insufficient": len(sub) < b.min_group_size, **est,
             "flagged": bool(len(sub) >= b.min_group_size and low is not None and low > chance)},
            len(sub) >= b.min_group_size)

    block["overall"] = row("all explained cases", records)
    block["by_category"] = [row(cat, [r for r in records if r["category"] == cat])
                            for cat in CATEGORIES if any(r["category"] == cat for r in records)]
    by: dict[str, list[dict]] = {}
    for col in b.by:
        if col not in ok.columns:
            continue
        by[col] = [row(level, [r for r in records if r[col] == level]) for level in sorted({r[col] for r in records})]
    block["by"] = by
    block["columns_not_found"] = [c for c in b.by if c not in ok.columns]
    block["flagged"] = [f"{col} = {r['group']}" for col, rows in by.items() for r in rows if r["flagged"]] + \
        [f"outcome = {r['group']}" for r in block["by_category"] if r["flagged"]]
    path = run_dir / EXPLAIN_DIR / "border.csv"
    pd.DataFrame(records).rename(columns={"cluster": cluster_column}).to_csv(path, index=False)
    block["cases_csv"] = (Path(EXPLAIN_DIR) / "border.csv").as_posix()
    return block


def _sanity_block(predictor: Predictor, layer_name: str, ids: list[str], inputs: dict[str, np.ndarray],
                  displays: dict[str, np.ndarray], options: ExplainabilityOptions, seed: int, run_dir: Path) -> dict:
    from valkit.explain.sanity import randomisation_test

    kept = [c for c in ids if c in inputs]
    s = options.sanity
    t0 = time.perf_counter()
    result, trained, stage_maps = randomisation_test(
        predictor.network, layer_name, np.stack([inputs[c] for c in kept]), method=options.method,
        mode=s.randomisation, stages=s.stages, seed=seed, batch_size=options.batch_size,
        flag_threshold=s.flag_threshold, flag_metric=s.flag_metric, output_index=_output_index(predictor.card))
    rows = []
    for i, cid in enumerate(kept[:3]):
        rows.append([overlay_rgb(displays[cid], trained[i])] + [overlay_rgb(displays[cid], m[i]) for m in stage_maps])
    rel = Path(EXPLAIN_DIR) / "sanity_examples.png"
    save_png(tile_rows(rows), run_dir / rel)
    for stage in result["stages"]:  # keep results.json small; per-image values stay in the case order below
        stage["spearman_per_image"] = [None if not math.isfinite(v) else round(v, 4) for v in stage["spearman_per_image"]]
        stage["ssim_per_image"] = [None if not math.isfinite(v) else round(v, 4) for v in stage["ssim_per_image"]]
    return {**result, "available": True, "case_ids": kept, "seconds": round(time.perf_counter() - t0, 3),
            "figure": rel.as_posix(),
            "figure_caption": "Rows: example cases. Columns: heatmap of the trained model, then of the model "
                              f"after each {s.randomisation} randomisation stage (1 to {len(stage_maps)})."}
