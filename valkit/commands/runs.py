"""`valkit runs list` and `valkit runs compare A B`: the run registry (runs/registry.sqlite)."""
from __future__ import annotations

import argparse

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("runs", help="list registered runs, or compare two (estimates, deltas, score drift)",
                              description="Every `valkit run` is recorded in RUNS_DIR/registry.sqlite.")
    sub = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    lst = sub.add_parser("list", help="every registered run: digests, verdict, key estimates")
    lst.add_argument("--runs-dir", default="runs", help="parent folder of run directories (default: runs)")
    add_quiet(lst)
    lst.set_defaults(func=run_list)
    cmp_ = sub.add_parser("compare", help="two runs side by side: estimates with B - A, beyond the CIs, PSI and KS")
    cmp_.add_argument("a", help="registry id (see `valkit runs list`), run folder or protocol id: the earlier run")
    cmp_.add_argument("b", help="the later run, the same way")
    cmp_.add_argument("--runs-dir", default="runs", help="parent folder of run directories (default: runs)")
    add_quiet(cmp_)
    cmp_.set_defaults(func=run_compare)


def _num(x, pct: bool = True) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


def run_list(args: argparse.Namespace) -> int:
    from valkit.registry import list_runs

    runs = list_runs(args.runs_dir)
    print(f"{'id':>4}  {'finished (UTC)':<20}  {'run':<16}  {'model':<24}  {'model sha':<12}  {'data sha':<12}  "
          f"{'verdict':<9}  sens    spec    AUC")
    for r in runs:
        e = r.estimates
        model = f"{r.model_name or ''} {r.model_version or ''}".strip()
        print(f"{r.id:>4}  {(r.finished_utc or '')[:19]:<20}  {r.run_dir.split('/')[-1][:16]:<16}  {model[:24]:<24}  "
              f"{(r.model_sha256 or '')[:12]:<12}  {r.data_sha256[:12]:<12}  {r.verdict:<9}  "
              f"{_num(e.get('sensitivity', {}).get('value')):>6}  {_num(e.get('specificity', {}).get('value')):>6}  "
              f"{_num(e.get('auc', {}).get('value'), pct=False):>5}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from valkit.registry import find_run
    from valkit.run_comparison import compare_runs

    a, b = find_run(args.runs_dir, args.a), find_run(args.runs_dir, args.b)
    c = compare_runs(a, b)
    print(f"A: #{a.id} {a.run_dir} ({a.model_name} {a.model_version}, {a.verdict})")
    print(f"B: #{b.id} {b.run_dir} ({b.model_name} {b.model_version}, {b.verdict})")
    print("same " + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in c["same"].items()))
    print(f"\n{'estimate':<24}  {'A (95% CI)':<24}  {'B (95% CI)':<24}  {'B - A':>8}  beyond the CIs")
    for row in c["estimates"]:
        pct = not row["name"].endswith("auc")  # proportions in %, AUC as a number

        def cell(e, pct=pct):
            return "n/a" if not e else f"{_num(e.get('value'), pct)} ({_num(e.get('low'), pct)}-{_num(e.get('high'), pct)})"
        beyond = {True: "yes", False: "no", None: "n/a"}[row["beyond_cis"]]
        delta = "n/a" if row["delta"] is None else (f"{100 * row['delta']:+.1f} pp" if pct else f"{row['delta']:+.3f}")
        print(f"{row['name']:<24}  {cell(row['a']):<24}  {cell(row['b']):<24}  {delta:>8}  {beyond}")
    print(f"(beyond the CIs: {c['beyond_cis_rule']})")
    d = c["drift"]
    if d["available"]:
        psi, ks = d["psi"], d["ks"]
        print(f"\nscore drift B vs A: PSI {_num(psi['value'], pct=False)} ({psi['band']}; 10 equal-count bins of A's "
              f"scores); KS D = {_num(ks['statistic'], pct=False)}, p = {ks['p_value']:.3g} (n {d['n_a']} vs {d['n_b']})")
    else:
        print(f"\nscore drift: not available ({d['reason']})")
    return 0
