"""``valkit reader-study``: multi-reader multi-case (MRMC) analysis of a ratings table.

    valkit reader-study analyze RATINGS.csv [--fom auc|sensitivity|specificity|binormal]
        [--threshold T] [--covariance jackknife|delong|unbiased] [--json OUT.json]
        [--results OUT.json] [--model-scores SCORES.csv] [--margin M]
        [--test-modality aided --reference-modality unaided] [--alpha 0.05] [--design auto]
        [--binormal-fit limit|mrmcaov]
    valkit reader-study plan PILOT.csv --effect 0.05 [--readers 3-20] [--power 0.8]
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from valkit.commands import add_quiet


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reader-study",
        help="MRMC reader-study analysis (Obuchowski-Rockette/Hillis, DBM) and planning",
        description="Multi-reader multi-case analysis of a tidy ratings CSV "
                    "(columns reader, case, modality, truth, rating[, reading_time_s]).",
    )
    sub = parser.add_subparsers(dest="reader_study_command", metavar="ACTION")
    an = sub.add_parser("analyze", help="analyse a ratings CSV",
                        description="Obuchowski-Rockette (RRRC, FRRC, RRFC) and DBM analysis of a reader study.")
    an.add_argument("ratings", help="ratings CSV: reader, case, modality, truth, rating[, reading_time_s]")
    an.add_argument("--fom", default="auc", choices=["auc", "sensitivity", "specificity", "binormal"],
                    help="figure of merit (default: auc, the empirical/trapezoidal AUC)")
    an.add_argument("--threshold", type=float, default=None,
                    help="rating threshold for sensitivity/specificity: positive call when rating >= T")
    an.add_argument("--covariance", default="jackknife", choices=["jackknife", "delong", "unbiased"],
                    help="error covariance estimator (default: jackknife)")
    an.add_argument("--json", dest="json_out", metavar="OUT.json", help="write the flat key/value JSON here")
    an.add_argument("--results", metavar="OUT.json", help="write the structured results (ROC points etc.) here")
    an.add_argument("--model-scores", metavar="SCORES.csv", help="model standalone scores: columns case, score")
    an.add_argument("--model-threshold", type=float, default=None,
                    help="model operating point for sensitivity/specificity (model score >= T is positive)")
    an.add_argument("--margin", type=float, default=None, help="non-inferiority margin, FOM units (e.g. 0.05)")
    an.add_argument("--test-modality", default=None, help="modality under test (default: aided)")
    an.add_argument("--reference-modality", default=None, help="reference modality (default: unaided)")
    an.add_argument("--alpha", type=float, default=0.05, help="two-sided level (default 0.05: 95%% CIs)")
    an.add_argument("--design", default="auto",
                    choices=["auto", "factorial", "cases_nested_in_reader", "cases_nested_in_modality"])
    an.add_argument("--no-frrc-truncation", action="store_true",
                    help="FRRC: use Cov2 - Cov3 as it is (MRMCaov) instead of max(Cov2 - Cov3, 0) (Iowa)")
    an.add_argument("--ddf", default="hillis", choices=["hillis", "hillis_floor"],
                    help="Hillis ddf as is, or rounded down like iMRMC")
    an.add_argument("--binormal-fit", default="limit", choices=["limit", "mrmcaov"],
                    help="--fom binormal: valkit's maximum-likelihood fit, with the limit AUC where the "
                         "likelihood has no finite maximum (default), or MRMCaov's fitting procedure "
                         "emulated step for step (reproduces MRMCaov's numbers)")
    add_quiet(an)  # no long steps: accepted so that one flag works with every command
    an.set_defaults(func=run)
    pl = sub.add_parser("plan", help="power / sample size from a pilot study",
                        description="Readers x cases needed for a planned study, from pilot OR variance "
                                    "components (Hillis & Obuchowski).")
    pl.add_argument("ratings", help="pilot ratings CSV")
    pl.add_argument("--effect", type=float, required=True, help="difference in FOM to detect (e.g. 0.05)")
    pl.add_argument("--readers", default="3-20", help="reader counts, e.g. 3-20 or 5,8,10 (default 3-20)")
    pl.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    pl.add_argument("--alpha", type=float, default=0.05)
    pl.add_argument("--analysis", default="RRRC", choices=["RRRC", "FRRC", "RRFC"])
    pl.add_argument("--fom", default="auc", choices=["auc", "sensitivity", "specificity", "binormal"])
    pl.add_argument("--threshold", type=float, default=None)
    pl.add_argument("--covariance", default="jackknife", choices=["jackknife", "delong", "unbiased"])
    pl.add_argument("--json", dest="json_out", metavar="OUT.json", help="write the table as JSON here")
    add_quiet(pl)  # no long steps: accepted so that one flag works with every command
    pl.set_defaults(func=run_plan)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fmt(v) -> str:
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.4f}"
    return str(v)


def run(args) -> int:
    from valkit.reader_study import analyze_reader_study

    res = analyze_reader_study(
        args.ratings, fom=args.fom, threshold=args.threshold, covariance=args.covariance,
        model_scores=args.model_scores, margin=args.margin, alpha=args.alpha, design=args.design,
        test_modality=args.test_modality, reference_modality=args.reference_modality,
        frrc_truncate=not args.no_frrc_truncation, ddf=args.ddf, model_threshold=args.model_threshold,
        binormal_fit=args.binormal_fit,
    )
    flat = res.to_flat_dict()
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(flat, fh, indent=1, allow_nan=False)
    if args.results:
        with open(args.results, "w") as fh:
            json.dump(res.to_dict(), fh, indent=1, allow_nan=False)
    _print_summary(res, flat, sys.stdout)
    return 0


def _print_summary(res, flat: dict, out) -> None:
    a = res.analysis
    tag = a.fom_name
    conf = f"{100 * (1 - res.settings['alpha']):g}%"
    print(f"Reader study: {flat['n_readers']} readers x {flat['n_cases']} cases "
          f"({flat['n_positive']} positive) x {flat['n_modalities']} modalities; design {a.design}; "
          f"FOM {tag}; covariance {a.covariance}", file=out)
    orr = a.obuchowski_rockette
    for m in orr.rrrc.modalities:
        print(f"  {res.modalities[m.modality]:>12}: {m.estimate:.4f}  {conf} CI {_fmt(m.interval.low)} "
              f"to {_fmt(m.interval.high)} (RRRC, df {m.df:.2f})", file=out)
    if len(res.modalities) >= 2:
        t = orr.rrrc
        print(f"  OR RRRC: F = {_fmt(t.statistic)}, ddf = {_fmt(t.df2)}, p = {_fmt(t.p_value)}", file=out)
        for d in t.differences:
            print(f"  {res.modalities[d.i]} - {res.modalities[d.j]}: {d.estimate:+.4f}  {conf} CI "
                  f"{_fmt(d.interval.low)} to {_fmt(d.interval.high)}, p = {_fmt(d.p_value)}", file=out)
    if res.comparison is not None:
        c = res.comparison
        print(f"  {res.modalities[c.test]} vs {res.modalities[c.reference]} (margin {c.margin:g}): {c.verdict}",
              file=out)
    if res.model is not None:
        for mc in res.model:
            d = mc.rrrc
            print(f"  model ({mc.model_fom:.4f}) - {res.modalities[mc.modality]} readers: {d.estimate:+.4f}  "
                  f"{conf} CI {_fmt(d.interval.low)} to {_fmt(d.interval.high)}, p = {_fmt(d.p_value)}", file=out)
    for w in res.warnings:
        print(f"  warning: {w}", file=out)


def _reader_counts(text: str) -> list[int]:
    from valkit.errors import InputError

    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-", 1))
            return list(range(lo, hi + 1))
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise InputError(f"--readers: expected a range like 3-20 or a list like 5,8,10; got {text!r}.") from exc


def run_plan(args) -> int:
    from valkit.reader_study import analyze_reader_study
    from valkit.stats.mrmc.sample_size import power_table

    res = analyze_reader_study(args.ratings, fom=args.fom, threshold=args.threshold, covariance=args.covariance)
    comps = res.analysis.obuchowski_rockette.components
    pilot_cases = res.analysis.jackknife.n_jackknife
    readers = _reader_counts(args.readers)
    rows = power_table(args.effect, comps, pilot_n_cases=pilot_cases, readers=readers, power=args.power,
                       alpha=args.alpha, analysis=args.analysis)
    table = []
    print(f"Cases needed for power {args.power:g} to detect a {res.analysis.fom_name} difference of "
          f"{args.effect:g} ({args.analysis}, alpha {args.alpha:g}; pilot {pilot_cases} cases):")
    for r, row in zip(readers, rows):
        if row is None:
            print(f"  {r:3d} readers: not reachable")
            table.append({"n_readers": r, "n_cases": None, "power": None})
        else:
            print(f"  {r:3d} readers: {row.n_cases:6d} cases (power {row.power:.3f})")
            table.append({"n_readers": r, "n_cases": row.n_cases, "power": row.power, "ddf": row.ddf})
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"effect": args.effect, "power": args.power, "alpha": args.alpha, "analysis": args.analysis,
                       "pilot_n_cases": pilot_cases, "table": table}, fh, indent=1)
    return 0
