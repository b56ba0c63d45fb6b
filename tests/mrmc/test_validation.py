"""Strict input validation: each bad input names the item, the expectation and the fix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valkit.errors import InputError
from valkit.reader_study import analyze_reader_study, validate_ratings
from valkit.stats.mrmc import mrmc_analysis


def test_case_whose_truth_differs_between_rows(vandyke):
    df = vandyke.copy()
    i = df.index[(df.case == 7) & (df.reader == 3) & (df.modality == 2)][0]
    df.loc[i, "truth"] = 1 - df.loc[i, "truth"]
    with pytest.raises(InputError, match=r"truth of case\(s\) 7 differs between rows"):
        analyze_reader_study(df)


def test_missing_cell_in_a_fully_crossed_design(vandyke):
    df = vandyke.drop(vandyke.index[(vandyke.case == 12) & (vandyke.reader == 2) & (vandyke.modality == 1)])
    with pytest.raises(InputError, match=r"fully crossed.*1 reader x case x modality cell\(s\) have no rating: "
                                         r"\(reader 2, case 12, modality 1\)"):
        analyze_reader_study(df)


def test_missing_cells_when_factorial_is_requested_explicitly(vandyke):
    df = vandyke[~((vandyke.case <= 3) & (vandyke.reader == 5))]
    with pytest.raises(InputError, match="6 reader x case x modality cell"):
        analyze_reader_study(df, design="factorial")


def test_non_numeric_rating(vandyke):
    df = vandyke.astype({"rating": object})
    df.loc[5, "rating"] = "high"
    with pytest.raises(InputError, match=r"column 'rating': expected a finite number.*row 7 \(reader 1, case 6, "
                                         r"modality 1\): 'high'"):
        analyze_reader_study(df)


def test_missing_rating(vandyke):
    df = vandyke.astype({"rating": float})
    df.loc[0, "rating"] = np.nan
    with pytest.raises(InputError, match="expected a finite number"):
        analyze_reader_study(df)


def test_modality_with_one_reader(vandyke):
    extra = vandyke[(vandyke.reader == 1) & (vandyke.modality == 1)].assign(modality=3)
    with pytest.raises(InputError, match=r"modality '3' \(1 reader\).*at least 2 readers"):
        analyze_reader_study(pd.concat([vandyke, extra]))


def test_duplicate_rows(vandyke):
    with pytest.raises(InputError, match=r"appear more than once: \(reader 1, case 1, modality 1\)"):
        analyze_reader_study(pd.concat([vandyke, vandyke.iloc[:1]]))


def test_missing_columns(vandyke):
    with pytest.raises(InputError, match="missing column\\(s\\) truth"):
        analyze_reader_study(vandyke.drop(columns="truth"))


def test_truth_not_binary(vandyke):
    df = vandyke.copy()
    df.loc[3, "truth"] = 2
    with pytest.raises(InputError, match="expected 1 \\(positive\\) or 0"):
        analyze_reader_study(df)


def test_one_class_only(vandyke):
    with pytest.raises(InputError, match="at least 2 of each"):
        analyze_reader_study(vandyke[vandyke.truth == 0])


def test_file_not_found(tmp_path):
    with pytest.raises(InputError, match="ratings file not found"):
        analyze_reader_study(tmp_path / "nope.csv")


def test_unknown_covariance_suggests_the_right_name(vandyke):
    with pytest.raises(InputError, match="unknown option 'jacknife'. Did you mean 'jackknife'"):
        analyze_reader_study(vandyke, covariance="jacknife")


def test_threshold_needed_for_sensitivity(vandyke):
    with pytest.raises(InputError, match="needs a rating threshold"):
        analyze_reader_study(vandyke, fom="sensitivity")


def test_delong_only_for_auc(vandyke):
    with pytest.raises(InputError, match="applies to the empirical AUC only"):
        analyze_reader_study(vandyke, fom="sensitivity", threshold=3, covariance="delong")


def test_delong_needs_a_crossed_design():
    nested = pd.read_csv(__import__("pathlib").Path(__file__).parents[1] / "data" / "mrmc"
                         / "vandyke_cases_nested_in_reader.csv", dtype={"case": str})
    with pytest.raises(InputError, match="'delong' needs a fully crossed design"):
        analyze_reader_study(nested, covariance="delong")


def test_requested_design_must_match(vandyke):
    with pytest.raises(InputError, match="'cases_nested_in_reader' was requested but the ratings follow 'factorial'"):
        analyze_reader_study(vandyke, design="cases_nested_in_reader")


def test_model_scores_must_cover_every_case(vandyke):
    scores = {str(c): 0.5 for c in range(1, 100)}
    with pytest.raises(InputError, match="no model score for 15 case"):
        analyze_reader_study(vandyke, model_scores=scores)


def test_margin_needs_test_and_reference(vandyke):
    with pytest.raises(InputError, match="margin: a non-inferiority margin needs the test and reference"):
        analyze_reader_study(vandyke, margin=0.05)


def test_unknown_test_modality(vandyke):
    with pytest.raises(InputError, match="test_modality: 'aided' is not a modality"):
        analyze_reader_study(vandyke, test_modality="aided", reference_modality="1")


def test_pure_engine_rejects_one_reader():
    with pytest.raises(InputError, match="at least 2 readers"):
        mrmc_analysis(np.zeros((2, 1, 6)), [0, 0, 0, 1, 1, 1])


def test_pure_engine_rejects_bad_shapes():
    with pytest.raises(InputError, match="shape \\(modalities, readers, cases\\)"):
        mrmc_analysis(np.zeros((2, 6)), [0, 0, 0, 1, 1, 1])
    with pytest.raises(InputError, match="one 0/1 value per case"):
        mrmc_analysis(np.zeros((2, 2, 6)), [0, 1])


def test_labels_sorted_numerically_when_numeric():
    rng = np.random.default_rng(0)
    rows = [(r, c, m, c % 2, float(rng.integers(1, 6))) for r in ("2", "10", "1") for c in range(8)
            for m in ("10", "9")]
    table = validate_ratings(pd.DataFrame(rows, columns=["reader", "case", "modality", "truth", "rating"]))
    assert table.readers == ("1", "2", "10")
    assert table.modalities == ("9", "10")


def test_misspelt_design_name(vandyke):
    with pytest.raises(InputError, match="design: unknown option 'factorail'. Did you mean 'factorial'"):
        analyze_reader_study(vandyke, design="factorail")


def test_nested_design_requested_but_not_followed(vandyke):
    df = vandyke.drop(vandyke.index[:3])
    with pytest.raises(InputError, match="'cases_nested_in_reader' was requested but the reading pattern"):
        analyze_reader_study(df, design="cases_nested_in_reader")
