"""`valkit validate`: everything a run needs, checked before it starts, every problem at once.

Each problem names the file and line, the key path, what was expected and found, and the fix.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from valkit.cli import main
from valkit.digests import file_sha256
from valkit.model_card import ModelCard

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "protocols" / "demo.yaml"
DEMO_CARD = ROOT / "models" / "demo-nodule" / "model.yaml"
DEMO_MANIFEST = ROOT / "datasets" / "manifests" / "demo.csv"

MANIFEST = "case_id,patient_id,path,label,sex,age,view,site\nc1,p1,a.dcm,1,F,50,PA,s1\n"
HEADER = "case_id, patient_id, path, label, sex, age, view, site"

PROTOCOL = """\
id: t
version: "1"
title: t
intended_use: x
regulatory: {{targets: [FDA], document_id: D, revision: A}}
{source}
datasets:
  - manifest: m.csv
reference_standard: {{column: {label}, description: d}}
endpoints:
  - {{id: s, metric: sensitivity}}
subgroups:
  columns: [sex, veiw, age_band]
  intersections: [[sex, siet]]
  levels: {{sexx: [F, M]}}
{extra}"""

MODEL = "model:\n  card: model/model.yaml"


def _write(tmp_path: Path, *, source: str = MODEL, label: str = "label", extra: str = "",
           manifest: str = MANIFEST) -> Path:
    (tmp_path / "m.csv").write_text(manifest)
    card_dir = tmp_path / "model"
    card_dir.mkdir(exist_ok=True)
    shutil.copy(DEMO_CARD, card_dir / "model.yaml")
    shutil.copy(DEMO_CARD.parent / "model.safetensors", card_dir / "model.safetensors")
    p = tmp_path / "p.yaml"
    p.write_text(PROTOCOL.format(source=source, label=label, extra=extra))
    return p


def _problems(capsys) -> list[str]:
    err = capsys.readouterr().err
    return [line[4:] for line in err.splitlines() if line.startswith("  - ")]


def test_demo_protocol_is_ready_to_run_and_imports_no_torch(tmp_path):
    # the demo protocol without its reader study (its ratings are written by `valkit synth`)
    data = yaml.safe_load(DEMO.read_text())
    del data["reader_study"]
    data["model"]["card"] = str(DEMO_CARD)
    data["datasets"][0]["manifest"] = str(DEMO_MANIFEST)
    p = tmp_path / "demo.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    code = ("import sys; from valkit.cli import main; rc = main(['validate', sys.argv[1]]); "
            "heavy = [m for m in ('torch', 'monai', 'pydicom') if m in sys.modules]; "
            "print('HEAVY', heavy); sys.exit(rc)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert f"model card {DEMO_CARD}: valid, format monai; weights sha256 matches" in out.stdout
    assert f"manifest {DEMO_MANIFEST}: header has the 9 column(s) the run needs" in out.stdout
    assert "ready to run" in out.stdout
    assert "HEAVY []" in out.stdout


def test_manifest_columns_named_by_the_protocol(tmp_path, capsys):
    p = _write(tmp_path, manifest=MANIFEST.replace(",age,", ",agee,"))
    assert main(["validate", str(p)]) == 2
    m = tmp_path / "m.csv"
    header = HEADER.replace(" age,", " agee,")
    fix = f"Correct the protocol or add the column to the manifest; its columns: {header}."
    assert _problems(capsys) == [
        f"{p}:14: subgroups.columns[1]: column 'veiw' not found in the manifest {m}. Did you mean 'view'? {fix}",
        f"{p}:14: subgroups.columns[2]: age_band is derived from the column 'age', which is not in the manifest "
        f"{m}. Did you mean 'agee'? {fix}",
        f"{p}:15: subgroups.intersections[0][1]: column 'siet' not found in the manifest {m}. "
        f"Did you mean 'site'? {fix}",
        f"{p}:16: subgroups.levels.sexx: column 'sexx' not found in the manifest {m}. Did you mean 'sex'? {fix}",
    ]


def test_reference_standard_and_optional_columns_only_when_set(tmp_path, capsys):
    extra = ("  heterogeneity: {columns: [site, scaner]}\n"
             "analysis: {cluster_column: patient}\n"
             "explainability:\n  localisation: {box_columns: [x0, y0, x1, y1]}\n")
    p = _write(tmp_path, label="lable", extra=extra,
               manifest=MANIFEST.replace("view,", "view,x0,y0,x1,y1,").replace("PA,", "PA,1,1,2,2,"))
    assert main(["validate", str(p)]) == 2
    problems = _problems(capsys)
    m = tmp_path / "m.csv"
    assert problems[0].startswith(
        f"{p}:10: reference_standard.column: column 'lable' not found in the manifest {m}. Did you mean 'label'? "
        "Correct the protocol or add the column to the manifest; its columns: case_id,")
    assert [q.split(": column")[0] for q in problems[1:]] == [
        f"{p}:14: subgroups.columns[1]", f"{p}:15: subgroups.intersections[0][1]", f"{p}:16: subgroups.levels.sexx",
        f"{p}:17: subgroups.heterogeneity.columns[1]", f"{p}:18: analysis.cluster_column",
    ]
    assert "Did you mean 'patient_id'?" in problems[-1]
    # the defaults (cluster column patient_id, heterogeneity site/manufacturer/model, lesion box
    # columns) are used only where the data record them: not problems when left out
    p2 = _write(tmp_path, extra="explainability: {method: gradcam}\n")
    p2.write_text(p2.read_text().replace("veiw", "view").replace("siet", "site").replace("sexx", "sex"))
    assert main(["validate", str(p2)]) == 0


def test_model_card_problems_have_file_line_and_key(tmp_path, capsys):
    p = _write(tmp_path)
    p.write_text(p.read_text().replace("veiw", "view").replace("siet", "site").replace("sexx", "sex"))
    card = tmp_path / "model" / "model.yaml"
    text = DEMO_CARD.read_text()
    card.write_text(text.replace("finding:", "findng:").replace("family: monai.networks.nets.DenseNet",
                                                                  "family: DenseNt").replace("\n  size:", "\n  sise:"))
    assert main(["validate", str(p)]) == 2
    valid_card_keys = ", ".join(sorted(ModelCard.model_fields))
    architectures = ("monai.networks.nets.DenseNet, monai.networks.nets.DenseNet121, monai.networks.nets.EfficientNetBN, "
                     "monai.networks.nets.ResNet, monai.networks.nets.resnet10, monai.networks.nets.resnet18")
    assert _problems(capsys) == [
        f"{card}:3: finding: required key is missing.",
        f"{card}:12: architecture.family: unknown architecture 'DenseNt'. Did you mean "
        f"'monai.networks.nets.DenseNet'? Valid: {architectures}.",
        f"{card}:24: preprocessing.size: required key is missing.",
        f"{card}:32: preprocessing.sise: unknown key 'sise'. Did you mean 'size'? Valid: channels, color, "
        "invert_monochrome1, normalization, resize, size, window.",
        f"{card}:7: findng: unknown key 'findng'. Did you mean 'finding'? Valid: {valid_card_keys}.",
    ]


def test_weights_must_exist_and_match_their_digest(tmp_path, capsys):
    p = _write(tmp_path)
    p.write_text(p.read_text().replace("veiw", "view").replace("siet", "site").replace("sexx", "sex"))
    weights = tmp_path / "model" / "model.safetensors"
    card = tmp_path / "model" / "model.yaml"
    expected = file_sha256(weights)
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"  - {card}:68: weights.sha256: the weights file {weights} does not match the model card.\n" in err
    assert f"expected (card): {expected}\n  found (file):    {file_sha256(weights)}\n" in err
    assert "Restore the original weights" in err
    weights.unlink()
    assert main(["validate", str(p)]) == 2
    assert _problems(capsys) == [
        f"{card}:67: weights.file: weights file '{weights}' does not exist. Put the weights next to the card or "
        "correct weights.file (relative to the card's folder)."]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_external_scores_header(tmp_path, capsys, suffix):
    scores = tmp_path / f"scores{suffix}"
    table = pd.DataFrame({"case": ["c1"], "score": [0.3]})
    table.to_parquet(scores) if suffix == ".parquet" else table.to_csv(scores, index=False)
    source = (f"predictions:\n  path: scores{suffix}\n  score_column: scor\n  model_name: v\n  model_version: '1'\n"
              "  threshold: 0.5")
    p = _write(tmp_path, source=source)
    p.write_text(p.read_text().replace("veiw", "view").replace("siet", "site").replace("sexx", "sex"))
    assert main(["validate", str(p)]) == 2
    assert _problems(capsys) == [
        f"{p}:6: predictions.case_id_column: column 'case_id' not found in the header of the scores file {scores}. "
        "Did you mean 'case'? Set predictions.case_id_column to one of its columns: case, score.",
        f"{p}:8: predictions.score_column: column 'scor' not found in the header of the scores file {scores}. "
        "Did you mean 'score'? Set predictions.score_column to one of its columns: case, score.",
    ]


def test_every_problem_at_once_with_missing_files(tmp_path, capsys):
    p = _write(tmp_path, label="lable")
    (tmp_path / "model" / "model.safetensors").unlink()
    p.write_text(p.read_text() + "reader_study: {ratings: ratings.csv}\n")
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "6 problem(s) found before the run (nothing was run)" in err
    assert f"{p}:17: reader_study.ratings: file not found: ratings.csv" in err
    assert "weights.file: weights file" in err and "reference_standard.column: column 'lable'" in err
    # --no-paths checks the format only
    assert main(["validate", str(p), "--no-paths"]) == 0
