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
from valkit.gate import acceptance
from valkit.errors import InputError
from valkit.protocol import LoadedProtocol, load_protocol
from valkit.run_lock import run_folder_lock
from valkit.results import case_columns, write_cases_csv, write_results
from valkit.selfcheck import run_self_check
from valkit.study import Study, dataset_digest_rows, load_study


@dataclass
class RunContext:
    """What an optional section needs: the protocol, the study, the predictions, the run folder.

    Optional sections (latency, explainability, reader study) are functions
    ``section(ctx) -> dict | None`` listed in :data:`OPTIONAL_SECTIONS`; each runs only when its
    protocol block is present and its result lands in results.json under its key.
    """

    loaded: LoadedProtocol
    study: Study
    merged: pd.DataFrame
    run_dir: Path
    card_path: Path | None
    threshold: float
    seed: int
    progress: bool = True
    _predictor: object = None

    @property
    def predictor(self):
        """The loaded model (lazily; None for external predictions)."""
        if self._predictor is None and self.card_path is not None:
            from valkit.predictor import load_predictor

            self._predictor = load_predictor(self.card_path, device=self.loaded.protocol.inference.device)
        return self._predictor


def _latency(ctx: RunContext) -> dict | None:
    if ctx.card_path is None:
        return None  # an external vendor model cannot be timed inside valkit
    from valkit.latency.section import latency_section

    return latency_section(ctx.loaded, ctx.study.table, ctx.card_path,
                           log=(lambda m: print(m, flush=True)) if ctx.progress else None)


def _explainability(ctx: RunContext) -> dict | None:
    if ctx.card_path is None:
        return None
    from valkit.explain.section import explainability_section

    p = ctx.loaded.protocol
    return explainability_section(ctx.run_dir, ctx.merged, ctx.predictor, p.explainability,
                                  threshold=ctx.threshold, seed=ctx.seed,
                                  cluster_column=p.analysis.cluster_column,
                                  extra_group_columns=[c for c in p.subgroups.columns if c in ctx.merged.columns])


def _reader_study(ctx: RunContext) -> dict | None:
    from valkit.reader_study_section import reader_study_section

    return reader_study_section(ctx.loaded, ctx.merged, threshold=ctx.threshold)


# results key -> (protocol block that switches it on, section function); the reader study is
# cheap and its inputs can be wrong, so it runs before the slow sections
OPTIONAL_SECTIONS = {
    "reader_study": ("reader_study", _reader_study),
    "latency": ("latency", _latency),
    "explainability": ("explainability", _explainability),
}


def run_optional_sections(ctx: RunContext) -> dict:
    out = {}
    for key, (block, section) in OPTIONAL_SECTIONS.items():
        if getattr(ctx.loaded.protocol, block, None) is None:
            continue
        result = section(ctx)
        if result is not None:
            out[key] = result
    return out


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    verdict: str
    results_path: Path
    report_paths: tuple[Path, ...]
    flow: dict = field(default_factory=dict)  # case flow: in_manifest, analysed, failed, excluded


def _model_section(loaded: LoadedProtocol):
    """Load the model card (or describe the external predictions) for results.json."""
    p = loaded.protocol
    if p.model is not None:
        from valkit.model_card import load_model_card

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
            "architecture": card.architecture.family,
            "architecture_params": dict(card.architecture.params),
            "input_size": list(card.preprocessing.size),
            "window": card.preprocessing.window.source,
            "weights_file": card.weights.file,
            "weights_sha256": card.weights.sha256,
            "threshold": card.threshold.value,
            "threshold_rule": card.threshold.rule,
            "threshold_tuning_set": card.threshold.tuning_set,
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


def _predict(loaded: LoadedProtocol, study: Study, card_path: Path, run_dir: Path, progress: bool):
    from valkit.predictor import load_predictor
    from valkit.preprocess import preprocess_file
    from valkit.runner import image_digests, run_inference

    p = loaded.protocol
    predictor = load_predictor(card_path, device=p.inference.device)
    spec = predictor.card.preprocessing
    # images the manifest gives no digest for are hashed here, once, for matching saved predictions
    table = study.table.assign(sha256=image_digests(study.table))
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


def run_protocol(protocol_path: str | Path, *, runs_root: str | Path = "runs", progress: bool = True,
                 render: bool = True) -> RunOutcome:
    started = provenance.utc_now()
    t0 = time.perf_counter()
    loaded = load_protocol(protocol_path)
    p = loaded.protocol
    study = load_study(loaded)  # a bad protocol or manifest stops here, before any work
    card_path, card, model = _model_section(loaded)
    run_dir = Path(runs_root) / p.id
    with run_folder_lock(run_dir, command="run"):  # a second run of the same folder stops here (exit 2)
        return _run_locked(loaded, study, card_path, card, model, run_dir, protocol_path=protocol_path,
                           progress=progress, render=render, started=started, t0=t0)


def _run_locked(loaded: LoadedProtocol, study: Study, card_path: Path, card: Any, model: dict, run_dir: Path, *,
                protocol_path: str | Path, progress: bool, render: bool, started: str, t0: float) -> RunOutcome:
    p = loaded.protocol
    inference: dict = {}
    predictor = None
    if card is not None:
        summary, predictor, decoders = _predict(loaded, study, card_path, run_dir, progress)
        device = str(predictor.device)
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
    analyses = analyse(merged, p, op)
    if card is None:  # every row of the scores file is accounted for, matched or not
        analyses["data"]["external_scores"] = scores.accounting()
    ctx = RunContext(loaded=loaded, study=study, merged=merged, run_dir=run_dir,
                     card_path=card_path if card is not None else None, threshold=op.threshold,
                     seed=p.analysis.seed, progress=progress, _predictor=predictor)
    analyses.update(run_optional_sections(ctx))
    results = {
        "protocol": {
            **json.loads(p.model_dump_json()),
            "path": str(protocol_path),
            "sha256": loaded.sha256,
        },
        "model": model,
        "inference": inference,
        **analyses,
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
            "started_utc": started,
            "finished_utc": provenance.utc_now(),
            "seconds": round(time.perf_counter() - t0, 3),
        },
    }
    results["acceptance"] = acceptance(results)
    results["verdict"] = results["acceptance"]["verdict"]
    columns = case_columns(merged, p.subgroups.families())
    results["per_case_listing"] = {"file": "cases.csv", "columns": columns}
    write_cases_csv(run_dir, merged, op.threshold, columns=columns)
    results_path = write_results(run_dir, results)
    reports: tuple[Path, ...] = ()
    if render:
        from valkit.report import render_report

        reports = render_report(run_dir, formats=tuple(p.report.formats))
    return RunOutcome(run_dir=run_dir, verdict=results["verdict"], results_path=results_path,
                      report_paths=reports, flow=dict(results["data"]["flow"]))


def _sha(path: Path) -> str | None:
    from valkit.digests import file_sha256

    return file_sha256(path) if path.exists() else None


__all__ = ["run_protocol", "RunOutcome", "RunContext"]
