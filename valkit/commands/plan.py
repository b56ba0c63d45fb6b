"""`valkit plan`: sample size for a sensitivity/specificity endpoint, two ways (Buderer and exact)."""
from __future__ import annotations

import argparse
import json

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan",
        help="sample size for a sensitivity/specificity endpoint (Buderer and exact binomial)",
        description=(
            "Print two sample-size plans: Buderer (1996), the cases needed for a confidence interval of "
            "the given half-width, and exact binomial planning, the smallest n whose Clopper-Pearson lower "
            "bound exceeds the performance goal with the given power. They answer different questions; "
            "report the one that matches the endpoint."
        ),
    )
    p.add_argument("--metric", choices=["sensitivity", "specificity"], default="sensitivity")
    p.add_argument("--expected", type=float, required=True, help="expected sensitivity/specificity, e.g. 0.90")
    p.add_argument("--goal", type=float, required=True, help="performance goal the lower bound must clear, e.g. 0.80")
    p.add_argument("--prevalence", type=float, required=True, help="proportion of positives expected, e.g. 0.10")
    p.add_argument("--half-width", type=float, default=0.05, help="Buderer CI half-width (default 0.05)")
    p.add_argument("--power", type=float, default=0.80, help="exact planning power (default 0.80)")
    p.add_argument("--confidence", type=float, default=0.95, help="two-sided confidence level (default 0.95)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_quiet(p)  # no long steps: accepted so that one flag works with every command
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.stats.planning import buderer_sample_size, exact_binomial_sample_size

    buderer = buderer_sample_size(args.expected, half_width=args.half_width, prevalence=args.prevalence,
                                  metric=args.metric, confidence_level=args.confidence)
    exact = exact_binomial_sample_size(args.expected, goal=args.goal, power=args.power,
                                       prevalence=args.prevalence, metric=args.metric,
                                       confidence_level=args.confidence)
    if args.json:
        print(json.dumps({"buderer": buderer.to_dict(), "exact_binomial": exact.to_dict()}, indent=2))
        return 0
    cls = "positives" if args.metric == "sensitivity" else "negatives"
    cl = f"{args.confidence:.0%}"
    print(f"Sample size for {args.metric}: expected {args.expected}, prevalence {args.prevalence}")
    print()
    print(f"1. Buderer (1996), precision: {cl} CI half-width {args.half_width}")
    print(f"   {buderer.n_class} {cls}, {buderer.n_total} cases in total")
    print()
    print(f"2. Exact binomial, power: lower bound of the {cl} Clopper-Pearson CI >= {args.goal} "
          f"with power {args.power:.0%}")
    print(f"   {exact.n_class} {cls} (power {exact.achieved_power:.3f}), {exact.n_total} cases in total")
    if exact.n_class_stable != exact.n_class:
        print(f"   power dips below {args.power:.0%} for some larger n; from {exact.n_class_stable} {cls} "
              "on it never does")
    print(f"   normal approximation would say {exact.n_class_normal} {cls}")
    print()
    print("The two answer different questions; use the one that matches the endpoint (see docs/statistical-methods.md).")
    return 0
