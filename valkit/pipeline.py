"""One protocol → one run directory. The one-way flow of STYLE.md:

protocol → study table → predictions.parquet → results.json (+ cases.csv) → report → exit code.

Everything after predictions.parquet reruns on CPU from files; ``valkit report RUN_DIR``
re-renders from results.json alone.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from valkit import provenance
from valkit.analyses import OperatingPointChoice, analyse, merge_predictions
from valkit.atomic_file import write_atomic
from valkit.audit.determinism import determinism_block
from valkit.audit.run_record import RunAudit
from valkit.gate import acceptance
from valkit.errors import EnvironmentProblem, InputError, ReportError
from valkit.progress import QUIET, Progress
from valkit.protocol import LoadedProtocol, load_protocol
from valkit.run_lock import run_folder_lock
from valkit.report.templates import override_record
from valkit.results_schema import Block
from valkit.results_schema.analyses import StudyAnalyses
from valkit.results_schema.baseline import Baseline
from valkit.results_schema.explainability import Explainability
from valkit.results_schema.latency import Latency
from valkit.results_schema.reader_study import ReaderStudy
from valkit.results import case_columns, write_cases_csv, write_results
from valkit.selfcheck import run_self_check
from valkit.study import Study, check_study, dataset_digest_rows, identifier_kinds, load_study


@dataclass
class RunContext:
    """What an optional section needs: the protocol, the study, the predictions, the run folder.

    Optional sections (latency, explainability, reader study) are functions
    ``section(ctx) -> Block | None`` listed in :data:`OPTIONAL_SECTIONS`: each returns its block
    validated against its model (:mod:`valkit.results_schema`), runs only when its protocol block is
    present, and lands in results.json under its key.
    """

    loaded: LoadedProtocol
    study: Study
    merged: pd.DataFrame
    run_dir: Path
    card_path: Path | None
    threshold: float
    seed: int
    progress: Progress = QUIET
    _predictor: object = None

    @property
    def predictor(self):
        """The loaded model (lazily; None for external predictions)."""
        if self._predictor is None and self.card_path is not None:
            from valkit.predictor import load_predictor

            self._predictor = load_predictor(self.card_path, device=self.loaded.protocol.inference.device)
        return self._predictor


def _latency(ctx: RunContext) -> Latency | None:
    if ctx.card_path is None:
        return None  # an external vendor model cannot be timed inside valkit
    from valkit.latency.section import latency_section

    with ctx.progress.task("latency"):
        return latency_section(ctx.loaded, ctx.study.table, ctx.card_path, log=ctx.progress.log)


def _explainability(ctx: RunContext) -> Explainability | None:
    if ctx.card_path is None:
        return None
    from valkit.explain.section import explainability_section

    p = ctx.loaded.protocol
    return explainability_section(ctx.run_dir, ctx.merged, ctx.predictor, p.explainability,
                                  threshold=ctx.threshold, seed=ctx.seed,
                                  cluster_column=p.analysis.cluster_column,
                                  extra_group_columns=[c for c in p.subgroups.columns if c in ctx.merged.columns],
                                  progress=ctx.progress)


def _reader_study(ctx: RunContext) -> ReaderStudy:
    from valkit.reader_study.run import reader_study_section

    return reader_study_section(ctx.loaded, ctx.merged, threshold=ctx.threshold)


# results key -> (protocol block that switches it on, section function); the reader study is
# cheap and its inputs can be wrong, so it runs before the slow sections
OPTIONAL_SECTIONS = {
    "reader_study": ("reader_study", _reader_study),
    "latency": ("latency", _latency),
    "explainability": ("explainability", _explainability),
}


def run_optional_sections(ctx: RunContext) -> dict[str, Block]:
    """The optional sections the protocol asks for, each a validated block, by results.json key."""
    out: dict[str, Block] = {}
    for key, (block, section) in OPTIONAL_SECTIONS.items():
        if getattr(ctx.loaded.protocol, block, None) is None:
            continue
        result = section(ctx)
        if result is not None:
            out[key] = result
    return out


@dataclass(frozen=True)
class RunOutcome:
    """What a run left behind. ``report_error`` is set when results.json was written but the report
    could not be rendered: the caller reports the verdict first, then raises it (exit code 5)."""

    run_dir: Path
    verdict: str
    results_path: Path
    report_paths: tuple[Path, ...]
    flow: dict = field(default_factory=dict)  # case flow: in_manifest, analysed, failed, excluded
    report_error: ReportError | EnvironmentProblem | None = None


_FORMAT_NAMES = {"torchscript": "TorchScript graph", "onnx": "ONNX graph (onnxruntime)",
                 "monai_bundle": "MONAI bundle"}


def _model_section(loaded: LoadedProtocol):
    """Load the model card (or describe the external predictions) for results.json."""
    p = loaded.protocol
    if p.model is not None:
        from valkit.model_card_io import load_model_card

        card_path = loaded.resolve(p.model.card)
        card = load_model_card(card_path)
        return card_path, card, {
            "kind": "model_card",
            "card_path": str(p.model.card),
            "id": card.id,
            "name": card.name,
            "version": card.version,
            "finding": card.finding,
            "intended_use": card.intended_use,
            "architecture": card.architecture.family or _FORMAT_NAMES[card.architecture.format],
            "format": card.architecture.format,
            "architecture_params": dict(card.architecture.params),
            "output": card.output.model_dump(mode="json", exclude_none=True),
            "input_size": list(card.preprocessing.size),
            "window": card.preprocessing.window.source,
            "weights_file": card.weights.file,
            "weights_sha256": card.weights.sha256,
            "threshold": card.threshold.value,
            "threshold_rule": card.threshold.rule,
            "threshold_tuning_set": card.threshold.tuning_set,
            # the card's own record of the tuning (model card section: how the operating point was chosen)
            "threshold_tuning": card.threshold.model_dump(
                include={"tuning_n", "tuning_sensitivity", "tuning_specificity"}),
            "accepts": card.accepts.model_dump(mode="json"),  # what the run excludes, and why
            "card_sha256": card.card_sha256,  # with weights_sha256: the version tested is the one released
            "limitations": list(card.limitations),
            "training": card.training.model_dump() if card.training else None,
            "explainability_target_layer": card.explainability.target_layer if card.explainability else None,
        }
    ext = p.predictions
    path = loaded.resolve(ext.path)
    from valkit.digests import file_sha256

    if not path.is_file():
        raise InputError(f"{path}: predictions file not found (protocol key predictions.path).")
    return path, None, {
        "kind": "external_predictions",
        "name": ext.model_name,
        "version": ext.model_version,
        "predictions_path": str(ext.path),
        "weights_sha256": file_sha256(path),  # the digest of the scores file stands in for weights
        "threshold": ext.threshold,
        "threshold_rule": "given with the external predictions",
    }


def _operating_point(loaded: LoadedProtocol, model: dict, merged_ok: pd.DataFrame) -> OperatingPointChoice:
    op = loaded.protocol.operating_point
    if op.source == "fixed":
        return OperatingPointChoice(op.threshold, "fixed", None, False, "fixed in the protocol before the run")
    if op.source == "choose_on_test_data":
        from valkit import stats

        choice = stats.choose_threshold(merged_ok["label"].to_numpy(int), merged_ok["score"].to_numpy(float),
                                        rule=op.rule, target=op.target)
        return OperatingPointChoice(float(choice.threshold), "choose_on_test_data", op.rule, True,
                                    "EXPLORATORY: threshold chosen on the test data itself; "
                                    "estimates at this threshold are optimistic")
    return OperatingPointChoice(float(model["threshold"]), "model_card", model["threshold_rule"], False,
                                f"from the model card, chosen on: {model.get('threshold_tuning_set', 'n/a')}")


def _rows_to_predict(table: pd.DataFrame, run_dir: Path, *, model_sha256: str, preprocessing_sha256: str) -> bool:
    """True when some manifest row has no current saved prediction (a resumed run may have none to do)."""
    from valkit.runner import plan_reuse

    plan = plan_reuse(table, run_dir, model_sha256=model_sha256, preprocessing_sha256=preprocessing_sha256)
    return bool(len(plan.todo))


def _predict(loaded: LoadedProtocol, study: Study, card_path: Path, run_dir: Path, progress: Progress):
    from valkit.predictor import load_predictor
    from valkit.preprocess import preprocess_file
    from valkit.runner import image_digests, run_inference

    p = loaded.protocol
    predictor = load_predictor(card_path, device=p.inference.device)
    spec = predictor.card.preprocessing
    # images the manifest gives no digest for are hashed here, once, for matching saved predictions
    table = study.table.assign(sha256=image_digests(study.table, progress=progress))
    # checks the card's accepts block, then preprocesses (picklable for DataLoader workers)
    preprocess: Any = functools.partial(preprocess_file, spec=spec, accepts=predictor.card.accepts)
    decoders = None
    if p.inference.pixel_decoder == "fastest" and _rows_to_predict(
            table, run_dir, model_sha256=predictor.weights_sha256, preprocessing_sha256=spec.sha256):
        from valkit.latency.decoders import choose_decoders, plugin_map, preprocess_with_decoders, sample_paths

        decoders = choose_decoders(sample_paths(table))
        preprocess = functools.partial(preprocess_with_decoders, spec=spec, plugins=plugin_map(decoders),
                                       accepts=predictor.card.accepts)
    common = dict(preprocess=preprocess, model_sha256=predictor.weights_sha256, preprocessing_sha256=spec.sha256,
                  batch_size=p.inference.batch_size, progress=progress, decoder_of=decoder_of_rows(table, decoders))
    if p.inference.executor == "ray":
        from valkit.ray_runner import run_inference_ray

        summary = run_inference_ray(
            table, run_dir, load_predict=functools.partial(_card_predict, card_path, p.inference.device),
            device=str(predictor.device), address=p.inference.ray_address, replicas=p.inference.ray_replicas,
            **common)
    else:
        summary = run_inference(table, run_dir, predict=predictor.predict, num_workers=p.inference.num_workers,
                                device=str(predictor.device), **common)
    return summary, predictor, decoders


def _card_predict(card_path: Path, device: str):
    """``predict`` of a model replica (runs in each Ray actor: loads and verifies the card's weights there)."""
    from valkit.predictor import load_predictor

    return load_predictor(card_path, device=device).predict


def decoder_of_rows(table: pd.DataFrame, decoders: dict | None) -> dict[str, str]:
    """The pixel decoder each case will be decoded with this session (recorded with its prediction).

    >>> t = pd.DataFrame({"case_id": ["a", "b"], "transfer_syntax": ["RLE Lossless", "Explicit VR Little Endian"]})
    >>> decoder_of_rows(t, {"1.2.840.10008.1.2.5": {"name": "RLE Lossless", "chosen": "pylibjpeg"}})
    {'a': 'pylibjpeg', 'b': 'pydicom default'}
    >>> decoder_of_rows(t, None)
    {'a': 'pydicom default', 'b': 'pydicom default'}
    """
    by_name = {c.get("name"): c.get("chosen") or "pydicom default" for c in (decoders or {}).values()}
    syntax = table["transfer_syntax"] if "transfer_syntax" in table.columns else [""] * len(table)
    return {cid: by_name.get(ts, "pydicom default") for cid, ts in zip(table["case_id"], syntax)}


def decoders_used(predictions: pd.DataFrame, table: pd.DataFrame) -> list[dict]:
    """How many predictions each (transfer syntax, decoder) made, from the decoder recorded per row:
    true for reused predictions too, whatever this session chose (or did not choose)."""
    df = predictions[["case_id", "pixel_decoder"]].merge(
        table[["case_id", "transfer_syntax"]] if "transfer_syntax" in table.columns
        else table[["case_id"]].assign(transfer_syntax=""), on="case_id", how="left")
    df["pixel_decoder"] = df["pixel_decoder"].fillna("").replace("", "not recorded (saved by an earlier valkit)")
    g = df.groupby(["transfer_syntax", "pixel_decoder"], dropna=False).size()
    return [{"transfer_syntax": str(ts), "decoder": str(dec), "n": int(n)} for (ts, dec), n in g.items()]


def run_protocol(protocol_path: str | Path, *, runs_root: str | Path = "runs", progress: Progress = QUIET,
                 render: bool = True) -> RunOutcome:
    """Run a protocol end to end into ``runs_root/<protocol id>``; ``progress`` reports each long step (stderr)."""
    started = provenance.utc_now()
    t0 = time.perf_counter()
    loaded = load_protocol(protocol_path)  # a bad protocol stops here, before any work
    p = loaded.protocol
    check_study(loaded)  # ... and a bad manifest (columns, ids, image paths), with the labels left unread
    card_path, card, model = _model_section(loaded)
    run_dir = Path(runs_root) / p.id
    baseline = _earlier_version(loaded, run_dir)  # a missing or malformed earlier run stops here too
    with run_folder_lock(run_dir, command="run"):  # a second run of the same folder stops here (exit 2)
        # the lock check compares file digests only; the labels are read after it passes (issue #14)
        audit = RunAudit.open(loaded, model, runs_root=runs_root, run_dir=run_dir)
        with progress.task("reading manifests"):
            study = load_study(loaded)  # the first read of the labels; a bad manifest stops here
        return _run_locked(loaded, study, card_path, card, model, run_dir, audit, protocol_path=protocol_path,
                           progress=progress, render=render, started=started, t0=t0, baseline=baseline)


def _earlier_version(loaded: LoadedProtocol, run_dir: Path):
    """The protocol's ``baseline:``: the earlier run's scores, or its model card (scored later), or None."""
    opts = loaded.protocol.baseline
    if opts is None:
        return None
    if opts.source == "model":
        from valkit.model_card_io import load_model_card

        path = loaded.resolve(opts.model)
        return path, load_model_card(path)
    from valkit.baseline_source import load_baseline_run

    return load_baseline_run(opts, loaded.resolve, current_run_dir=run_dir)


def _compare_with_baseline(loaded: LoadedProtocol, study: Study, merged: pd.DataFrame, threshold: float,
                           run_dir: Path, baseline: Any, progress: Progress) -> Baseline:
    """The ``baseline`` block (and flips.csv): the earlier version scored on, and paired with, these cases."""
    from valkit.analyses.baseline import compare_with_baseline
    from valkit.baseline_source import BaselineScores, baseline_from_card

    if not isinstance(baseline, BaselineScores):  # an earlier model card: score the same cases with it
        card_path, card = baseline
        summary, _, _ = _predict(loaded, study, card_path, run_dir / "baseline", progress)
        baseline = baseline_from_card(loaded.protocol.baseline, card, summary.predictions_path)
    block, flips = compare_with_baseline(merged, loaded.protocol, threshold, baseline)
    write_atomic(run_dir / block.flips.file, lambda tmp: flips.to_csv(tmp, index=False))
    return block


def recompute_analyses(loaded: LoadedProtocol, run_dir: Path, model: dict) -> StudyAnalyses:
    """The analysis stage again, from the files on disk: the manifests and ``predictions.parquet``
    (the determinism check, :mod:`valkit.audit.determinism`)."""
    merged = merge_predictions(load_study(loaded).table, pd.read_parquet(run_dir / "predictions.parquet"))
    op = _operating_point(loaded, model, merged[merged["status"] == "ok"])
    return analyse(merged, loaded.protocol, op)


def _run_locked(loaded: LoadedProtocol, study: Study, card_path: Path, card: Any, model: dict, run_dir: Path,
                audit: RunAudit, *, protocol_path: str | Path, progress: Progress, render: bool, started: str,
                t0: float, baseline: Any = None) -> RunOutcome:
    p = loaded.protocol
    inference: dict = {}
    predictor = None
    if card is not None:
        summary, predictor, decoders = _predict(loaded, study, card_path, run_dir, progress)
        device = str(predictor.device)
        model["details"] = predictor.details  # format specifics: ONNX providers, the bundle's network_def
        predictions = pd.read_parquet(summary.predictions_path)
        # resumed_rows: saved predictions reused; rescored: cases whose saved prediction was stale
        # and was scored again, by reason (valkit.runner.RESCORE_REASONS)
        inference = {"device": device, "seconds": round(summary.seconds, 3), "resumed_rows": summary.n_resumed,
                     "rescored": dict(summary.rescored),
                     "preprocessing_sha256": predictor.card.preprocessing.sha256,
                     "batch_size": p.inference.batch_size, "num_workers": p.inference.num_workers,
                     "pixel_decoder": p.inference.pixel_decoder, "executor": p.inference.executor,
                     "decoders_used": decoders_used(predictions, study.table),
                     "decoders": None if decoders is None else {
                         uid: {"name": c.get("name"), "chosen": c.get("chosen"), "n_files": c.get("n_files"),
                               "reason": c.get("reason")} for uid, c in decoders.items()}}
    else:
        from valkit.external_scores import external_predictions

        ext = p.predictions
        scores = external_predictions(study.table, card_path, case_id_column=ext.case_id_column,
                                      score_column=ext.score_column, digest=model["weights_sha256"],
                                      score_range=ext.score_range, shown_path=str(ext.path))
        predictions = scores.predictions
        predictions.to_parquet(run_dir / "predictions.parquet", index=False)
        device = None
    merged = merge_predictions(study.table, predictions)
    op = _operating_point(loaded, model, merged[merged["status"] == "ok"])
    # every row of an external scores file is accounted for, matched or not (data.external_scores)
    analyses = analyse(merged, p, op, external_scores=scores.accounting() if card is None else None,
                       progress=progress)
    ctx = RunContext(loaded=loaded, study=study, merged=merged, run_dir=run_dir,
                     card_path=card_path if card is not None else None, threshold=op.threshold,
                     seed=p.analysis.seed, progress=progress, _predictor=predictor)
    blocks: dict[str, Block] = run_optional_sections(ctx)
    if baseline is not None:
        blocks["baseline"] = _compare_with_baseline(loaded, study, merged, op.threshold, run_dir, baseline, progress)
    # the validated blocks, as results.json writes them (each a fresh dict: the blocks stay as validated)
    results = {
        "protocol": {
            **json.loads(p.model_dump_json()),
            "path": str(protocol_path),
            "sha256": loaded.sha256,
        },
        "model": model,
        "inference": inference,
        **analyses.written(),
        **{key: block.written() for key, block in blocks.items()},
        "tool_validation": run_self_check(),  # published values re-derived by this installation
        "provenance": {
            "protocol_sha256": loaded.sha256,
            "manifests": dataset_digest_rows(study),
            "model_weights_sha256": model["weights_sha256"],
            "predictions_sha256": _sha(run_dir / "predictions.parquet"),
            "valkit": provenance.valkit_version(),
            "packages": provenance.package_versions(),
            "hardware": provenance.hardware(device),
            "seed": p.analysis.seed,
            # a protocol's own templates (report.templates): the folder and each file's digest
            "report_templates": (override_record(loaded.resolve(p.report.templates))
                                 if p.report.templates is not None else None),
            "started_utc": started,
            "finished_utc": provenance.utc_now(),
            "seconds": round(time.perf_counter() - t0, 3),
        },
    }
    t_check = time.perf_counter()
    recomputed = recompute_analyses(loaded, run_dir, model)
    results["integrity"] = {"determinism": determinism_block(
        results, recomputed.written(), predictions_sha256=results["provenance"]["predictions_sha256"],
        seconds=time.perf_counter() - t_check)}
    results["traceability"] = audit.block()
    results["deviations"] = [*results["deviations"], *audit.deviations()]
    results["acceptance"] = acceptance(results)
    results["verdict"] = results["acceptance"]["verdict"]
    columns = case_columns(merged, p.subgroups.families())
    results["per_case_listing"] = {"file": "cases.csv", "columns": columns,
                                   "identifiers": identifier_kinds(study.table)}
    write_cases_csv(run_dir, merged, op.threshold, columns=columns)
    results_path = write_results(run_dir, results)
    from valkit.registry import record_run

    record_run(run_dir.parent, run_dir, results)  # runs/registry.sqlite: every run, for `valkit runs`
    audit.finish(run_dir, results["verdict"])
    reports: tuple[Path, ...] = ()
    report_error = None
    if render:
        from valkit.report import render_report

        try:
            reports = render_report(run_dir, formats=tuple(p.report.formats), progress=progress)
        except (ReportError, EnvironmentProblem) as exc:  # never hides the verdict: printed, then raised
            report_error = exc
    return RunOutcome(run_dir=run_dir, verdict=results["verdict"], results_path=results_path,
                      report_paths=reports, flow=dict(results["data"]["flow"]), report_error=report_error)


def _sha(path: Path) -> str | None:
    from valkit.digests import file_sha256

    return file_sha256(path) if path.exists() else None


__all__ = ["run_protocol", "recompute_analyses", "RunOutcome", "RunContext"]
