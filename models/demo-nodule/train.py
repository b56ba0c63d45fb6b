"""Train valkit's demo nodule classifier on phantom chest radiographs and write its model card.

Demonstration only, not for clinical use. Run from the repository root::

    .venv/bin/python models/demo-nodule/train.py            # a few minutes on 2 CPU cores

What it does, in order:

1. Generates three phantom studies with :func:`valkit.synth.generate_study` (cached under
   ``--work-dir``): TRAIN (weights are fitted), TUNE (the operating threshold is chosen)
   and CHECK (held out: reported only, never used to choose anything). Their seeds differ
   from the demo test study's seed (:data:`DEMO_TEST_SEED`), which is never generated here.
2. Reads every image through :func:`valkit.preprocess.preprocess_file` with the card's
   own preprocessing, so training sees exactly what inference will (no train/serve skew).
3. Trains a small MONAI DenseNet on CPU, seeded and deterministic.
4. Chooses the threshold on TUNE (Youden's J), then writes ``model.safetensors``,
   ``model.yaml`` (weights sha256, seeds, tuning AUC, achieved sensitivity/specificity)
   and ``training_report.json`` (per-vendor AUC on TUNE and CHECK, loss per epoch).

The same command on the same machine gives byte-identical weights. Other CPUs or
library versions may differ in the last bits; the card records the digest of the
weights actually shipped.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEMO_TEST_SEED = 20261122  # the `make demo` test study: never trained or tuned on


@dataclass(frozen=True)
class Split:
    name: str
    seed: int
    n_images: int


TRAIN = Split("train", 1001, 2400)
TUNE = Split("tune", 2001, 800)
CHECK = Split("check", 3001, 1000)
TRAINING_SEED = 7

ARCHITECTURE = {
    "family": "monai.networks.nets.DenseNet",
    "spatial_dims": 2,
    "in_channels": 1,
    "out_channels": 1,
    "params": {"init_features": 8, "growth_rate": 8, "block_config": [2, 2, 2], "bn_size": 2},
}
PREPROCESSING = {
    "window": {"source": "dicom", "percentiles": [0.5, 99.5]},
    "invert_monochrome1": True,
    "color": "reject",
    "size": [128, 128],
    "resize": "bilinear",
    "normalization": {"method": "fixed", "mean": 0.5, "std": 0.25},
    "channels": 1,
}
# What the model is meant to score (model card ``accepts``): frontal chest radiographs, judged from
# the DICOM header; anything else is excluded from a validation run with its reason. The phantom
# vendors write DX or CR, MONOCHROME1/2, 448-576 pixel matrices, body part CHEST, view PA.
ACCEPTS = {
    "modalities": ["DX", "CR"],
    "photometric_interpretations": ["MONOCHROME1", "MONOCHROME2"],
    "min_rows": 256,
    "min_columns": 256,
    "body_parts": ["CHEST"],
    "views": ["PA", "AP"],
}
# Difficulty is set by capacity (about 10k parameters), resolution (128 x 128) and training
# length (short, on purpose): the demo needs a model that is good but clearly imperfect.
CROP_EPOCHS = 8
CROP_SIZE = 48
EPOCHS = 4
BATCH_SIZE = 16
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
# A triage aid: fix sensitivity on the tuning split (Youden's J gave sensitivity 0.67 at
# specificity 0.97 on the tuning split, a poor trade for a nodule flag).
THRESHOLD_RULE = "sensitivity>=0.85"
# Grad-CAM target layer. The output of the first transition (conv 1x1 + 2x2 average pool) is a
# 16 x 16 grid at 128 x 128 input; the last dense block is 8 x 8, whose 16-pixel cells are wider
# than most nodules (about 4-10 px), so its peak could almost never fall inside a lesion box.
# Measured on 16 held-out phantoms with an obvious 30 mm nodule (synth seed 777): pixel-level
# pointing game 10/16 here against 0/16 for features.denseblock3 and 2/16 for denseblock2.
EXPLAIN_LAYER = "features.transition1"


def _card_text(fields: dict) -> str:
    import yaml

    header = (
        "# valkit demo model card. Written by models/demo-nodule/train.py; do not edit by hand:\n"
        "# the weights digest, threshold and tuning results below come from that run.\n"
    )
    return header + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=100)


def _preprocessing_spec():
    from valkit.model_card import PreprocessingSpec

    return PreprocessingSpec.model_validate(PREPROCESSING)


def load_split(split: Split, work_dir: Path, *, jobs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Generate (or reuse) a phantom study and preprocess it with the card's preprocessing.

    Returns images ``(N, 1, H, W)``, labels ``(N,)``, lesion centres ``(N, 2)`` as (row, column)
    fractions of the image (NaN without a nodule) and the labels.csv rows.
    """
    from valkit.preprocess import preprocess_file
    from valkit.synth import generate_study

    if split.seed == DEMO_TEST_SEED:
        raise SystemExit(f"refusing to use seed {DEMO_TEST_SEED}: it is the demo test study")
    study = work_dir / f"{split.name}-s{split.seed}-n{split.n_images}"
    summary = generate_study(study, n_images=split.n_images, seed=split.seed, jobs=jobs)
    with open(summary.labels_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    # the cache is keyed by everything that changes the arrays: study, generator version, preprocessing
    key = json.dumps([PREPROCESSING, _generator_version(), split.seed, split.n_images], sort_keys=True)
    cache = work_dir / f"{study.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"
    centres = np.stack([_lesion_centre(study / row["path"], row) for row in rows])
    if cache.exists():
        data = np.load(cache)
        return data["x"], data["y"], centres, rows
    x = np.stack([preprocess_file(study / row["path"], _preprocessing_spec()) for row in rows])
    y = np.array([int(row["label"]) for row in rows], dtype=np.float32)
    np.savez(cache, x=x, y=y)
    return x, y, centres, rows


def _lesion_centre(path: Path, row: dict) -> np.ndarray:
    """Lesion box centre as fractions of the stored image's rows and columns (NaN if none)."""
    import pydicom

    if row["label"] != "1" or not row["lesion_x0"]:
        return np.array([np.nan, np.nan], dtype=np.float32)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    x0, y0, x1, y1 = (float(row[k]) for k in ("lesion_x0", "lesion_y0", "lesion_x1", "lesion_y1"))
    return np.array([(y0 + y1) / 2 / ds.Rows, (x0 + x1) / 2 / ds.Columns], dtype=np.float32)


def _augment(batch, generator):
    """Random left-right flip and a shift of up to 4 pixels (reflect padded)."""
    import torch
    import torch.nn.functional as F

    flip = torch.rand(len(batch), generator=generator) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    pad = 4
    padded = F.pad(batch, (pad, pad, pad, pad), mode="reflect")
    dy, dx = torch.randint(0, 2 * pad + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy : dy + batch.shape[2], dx : dx + batch.shape[3]]


def _crops(images, centres, donor_pool, generator, size: int):
    """Crops of ``size`` pixels: around the nodule for positives, and for negatives around the nodule
    position of a random training positive (``donor_pool``), so that both see the same anatomy and
    only the nodule differs."""
    import torch

    n, _, height, width = images.shape
    donors = donor_pool[torch.randint(0, len(donor_pool), (n,), generator=generator)]
    where = torch.where(torch.isnan(centres[:, :1]), donors, centres) * torch.tensor([height, width])
    jitter = torch.randint(-size // 4, size // 4 + 1, (n, 2), generator=generator)
    top_left = (where.round().long() + jitter - size // 2).clamp(min=0)
    top_left = torch.minimum(top_left, torch.tensor([height - size, width - size]))
    return torch.stack([images[i, :, r : r + size, c : c + size] for i, (r, c) in enumerate(top_left.tolist())])


def train(x: np.ndarray, y: np.ndarray, centres: np.ndarray, *, epochs: int, log=print):
    """Two phases: CROP_EPOCHS on lesion-centred crops (the nodule is a larger share of the input,
    so the network finds it sooner), then ``epochs`` on whole images as they are scored."""
    import torch

    from valkit.model_card import parse_model_card
    from valkit.predictor import build_network

    torch.manual_seed(TRAINING_SEED)
    generator = torch.Generator().manual_seed(TRAINING_SEED)
    card = parse_model_card(_card_fields(threshold=0.5, sha256="0" * 64, extra_training={}), source="train.py")
    network = build_network(card)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt, yt, ct = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(centres)
    history = []
    donor_pool = ct[~torch.isnan(ct[:, 0])]
    phases = [("crops", CROP_EPOCHS, lambda i: _crops(xt[i], ct[i], donor_pool, generator, CROP_SIZE)),
              ("whole", epochs, lambda i: xt[i])]
    for phase, n_epochs, inputs in phases:
        if n_epochs == 0:
            continue
        optimizer = torch.optim.AdamW(network.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        steps = n_epochs * int(np.ceil(len(x) / BATCH_SIZE))
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LEARNING_RATE, total_steps=steps)
        for epoch in range(1, n_epochs + 1):
            network.train()
            order = torch.randperm(len(xt), generator=generator)
            total = 0.0
            for start in range(0, len(order), BATCH_SIZE):
                idx = order[start : start + BATCH_SIZE]
                logits = network(_augment(inputs(idx), generator))[:, 0]
                loss = loss_fn(logits, yt[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += float(loss.detach()) * len(idx)
            history.append({"phase": phase, "epoch": epoch, "loss": round(total / len(xt), 5)})
            log(f"{phase} epoch {epoch:2d}/{n_epochs}  train loss {history[-1]['loss']:.4f}")
    return network.eval(), history


def predict(network, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        out = [torch.sigmoid(network(torch.from_numpy(x[i : i + 128]))[:, 0]) for i in range(0, len(x), 128)]
    return torch.cat(out).numpy().astype(np.float64)


def choose_threshold(y: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """The operating threshold on the tuning split (score >= threshold is positive).

    ``THRESHOLD_RULE`` is ``sensitivity>=T``: the highest threshold whose tuning sensitivity is at
    least T (the demo is a triage aid, so missed nodules cost most), or ``youden``: the threshold
    maximising sensitivity + specificity - 1. The value is rounded down to 4 decimals, which can
    only add positives, so the target still holds.
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y, scores)
    if THRESHOLD_RULE == "youden":
        best = int(np.argmax(tpr - fpr))
    else:
        target = float(THRESHOLD_RULE.split(">=")[1])
        best = int(np.argmax(tpr >= target))  # thresholds decrease, so the first hit is the highest
    threshold = float(np.floor(min(thresholds[best], 1.0) * 1e4) / 1e4)
    sens, spec = _sens_spec(y, scores, threshold)
    return threshold, sens, spec


def _sens_spec(y, scores, threshold):
    positive = scores >= threshold
    return float(positive[y == 1].mean()), float((~positive[y == 0]).mean())


def _vendor_range(by_vendor: dict[str, dict], measure: str, study: str) -> str:
    """'auc by vendor on the tuning study: 0.77 (cobalt) to 0.96 (delta)': the card states the numbers,
    not a pointer to a file the report's reader does not have."""
    vals = {v: r[measure] for v, r in by_vendor.items() if v != "all"}
    lo, hi = min(vals, key=vals.get), max(vals, key=vals.get)
    name = "AUC" if measure == "auc" else measure
    return f"{name} by vendor on the {study} study: {vals[lo]:.2f} ({lo}) to {vals[hi]:.2f} ({hi})"


def _by_vendor(y, scores, rows, threshold: float) -> dict[str, dict]:
    """AUC, and sensitivity/specificity at ``threshold``, overall and per vendor."""
    from sklearn.metrics import roc_auc_score

    vendors = np.array([r["vendor"] for r in rows])
    out = {}
    for vendor in ["all", *sorted(set(vendors))]:
        m = np.ones(len(y), bool) if vendor == "all" else vendors == vendor
        sens, spec = _sens_spec(y[m], scores[m], threshold)
        out[vendor] = {"auc": round(float(roc_auc_score(y[m], scores[m])), 4), "n": int(m.sum()),
                       "n_positive": int(y[m].sum()), "sensitivity": round(sens, 4), "specificity": round(spec, 4)}
    return out


def _generator_version() -> str:
    from valkit.synth import GENERATOR_VERSION

    return GENERATOR_VERSION


def _card_fields(*, threshold: float, sha256: str, extra_training: dict, sens=None, spec=None) -> dict:
    return {
        "schema_version": 1,
        "id": "demo-nodule",
        "name": "valkit demo pulmonary nodule classifier (phantom-trained)",
        "version": "1.0.0",
        "finding": "pulmonary nodule present on a frontal chest radiograph",
        "intended_use": (
            "Demonstration of valkit only. NOT FOR CLINICAL USE. Scores synthetic (phantom) frontal chest "
            "radiographs of adults for the presence of a solitary pulmonary nodule, to exercise valkit's "
            "validation pipeline. It has never seen a real patient image."
        ),
        "architecture": ARCHITECTURE,
        "preprocessing": PREPROCESSING,
        "accepts": ACCEPTS,
        "output": {"activation": "sigmoid", "positive_label": "nodule present"},
        "threshold": {
            "value": threshold,
            "rule": THRESHOLD_RULE,
            "tuning_set": (
                f"phantom study valkit.synth seed {TUNE.seed}, {TUNE.n_images} images; independent of the "
                f"training study (seed {TRAIN.seed}) and of the demo test study (seed {DEMO_TEST_SEED})"
            ),
            "tuning_n": TUNE.n_images,
            "tuning_sensitivity": None if sens is None else round(sens, 4),
            "tuning_specificity": None if spec is None else round(spec, 4),
        },
        "weights": {"file": "model.safetensors", "sha256": sha256},
        "explainability": {"target_layer": EXPLAIN_LAYER},
        "training": {
            "script": "models/demo-nodule/train.py",
            "seed": TRAINING_SEED,
            "data": f"valkit.synth phantom chest radiographs, generator version {_generator_version()} "
            "(4 fictional vendors, 4 sites)",
            "data_seeds": {"train": [TRAIN.seed], "tuning": [TUNE.seed], "check": [CHECK.seed]},
            "n_images": {"train": TRAIN.n_images, "tuning": TUNE.n_images, "check": CHECK.n_images},
            "excluded_seeds": [DEMO_TEST_SEED],
            **extra_training,
        },
        "limitations": [
            "Trained and tuned on synthetic phantoms only; performance on real radiographs is unknown.",
            "Small network (about 10k parameters) at 128 x 128 pixels, trained briefly on purpose: small or "
            "faint nodules are often missed.",
            "Visibly worse on the noisy, blurry Cobalt Medical computed-radiography vendor: lower AUC, and "
            "at the single operating threshold most Cobalt images without a nodule are flagged (scores "
            "run high on that vendor's noise).",
        ],
    }


def _readme(report: dict, fields: dict) -> str:
    """The human-readable model card, with every number taken from this training run."""
    def table(split: str) -> str:
        lines = ["| vendor | images | with nodule | AUC | sensitivity | specificity |",
                 "|---|---:|---:|---:|---:|---:|"]
        for vendor, row in report[split]["by_vendor"].items():
            name = "**all**" if vendor == "all" else vendor
            lines.append(f"| {name} | {row['n']} | {row['n_positive']} | {row['auc']:.3f} | "
                         f"{row['sensitivity']:.3f} | {row['specificity']:.3f} |")
        return "\n".join(lines)

    params = ", ".join(f"{k}={v}" for k, v in ARCHITECTURE["params"].items())
    limitations = "\n".join(f"- {item}" for item in fields["limitations"])
    return f"""# valkit demo nodule classifier (phantom-trained)

**Demonstration only. Not for clinical use.** This model exists so that `make demo` can show
valkit's validation pipeline end to end. It has only ever seen synthetic phantom images.

*This file, `model.yaml`, `model.safetensors` and `training_report.json` are written by
`train.py` in one run; the numbers below are from that run.*

## Intended use (of the demo)
Scores a frontal chest radiograph (DICOM DX/CR, single frame, grayscale) of a valkit phantom
for the presence of a solitary pulmonary nodule. Output: probability (sigmoid of one logit);
score >= {report['threshold']} means "nodule present".

## Model
MONAI `DenseNet` (2D, 1 input channel, 1 logit; {params}), about
{report['n_parameters']:,} parameters, weights {report['weights_bytes'] / 1024:.0f} KiB
(`model.safetensors`, sha256 `{report['weights_sha256']}`).
Preprocessing (identical in training and inference, `valkit.preprocess.preprocess_file`):
Modality LUT, the file's VOI LUT / window (percentile window 0.5-99.5 % if absent),
MONOCHROME1 inverted, resized to 128 x 128 with antialiasing, (x - 0.5) / 0.25.
Accepts (card `accepts`, checked on the DICOM header before decoding; anything else is excluded
from a validation run with its reason): modality DX or CR, MONOCHROME1/2, at least 256 x 256
pixels, body part CHEST and view PA or AP where the header records them.

## Data
Phantom studies from `valkit.synth` (generator version {report['generator_version']}), four
fictional vendors at four fictional sites:

| split | seed | images | used for |
|---|---:|---:|---|
| train | {TRAIN.seed} | {TRAIN.n_images} | fitting the weights |
| tuning | {TUNE.seed} | {TUNE.n_images} | choosing the threshold |
| check | {CHECK.seed} | {CHECK.n_images} | reporting only (held out, chose nothing) |

The demo test study (`make demo`, seed {DEMO_TEST_SEED}) was never generated by this script.
Training (seed {TRAINING_SEED}, CPU, 2 threads): {CROP_EPOCHS} epochs on {CROP_SIZE} x {CROP_SIZE}-pixel crops
of the preprocessed images (around the nodule for positives; for negatives, around the nodule
position of a random training positive, so only the nodule differs), then {report['epochs']} epochs on
whole images as they are scored. Batch {BATCH_SIZE}, AdamW (lr {LEARNING_RATE}, one-cycle per phase),
random left-right flips and shifts of up to 4 pixels. Lesion boxes of the TRAIN split are used
for the crops only; tuning and check labels are used only for the threshold and for reporting.
{report['seconds']['fit']:.0f} s of fitting after {report['seconds']['data']:.0f} s of data preparation
(generating and preprocessing the phantoms from scratch takes several minutes more).

## Operating point
Rule: `{report['threshold_rule']}` on the tuning split: the highest threshold that flags at least
85 % of the tuning nodules (the demo is a triage aid, where a missed nodule costs most).
Threshold {report['threshold']}: tuning sensitivity {report['tuning']['sensitivity']:.3f},
specificity {report['tuning']['specificity']:.3f}. On the held-out check split the same threshold gives
sensitivity {report['check']['sensitivity']:.3f}, specificity {report['check']['specificity']:.3f}.

## Performance
Sensitivity and specificity at the card's threshold ({report['threshold']}). Tuning split (the
threshold was chosen here, so its overall sensitivity is optimistic):

{table('tuning')}

Held-out check split:

{table('check')}

## Limitations
{limitations}
- Images of one phantom patient are correlated (same nodule in every visit); the AUCs above
  treat images as independent.

## Reproduce
    .venv/bin/python models/demo-nodule/train.py

Deterministic on one machine (seeded, `torch.use_deterministic_algorithms`); a different CPU or
torch version can change the last bits of the weights, and with them the sha256 in `model.yaml`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path("datasets/phantom/training"),
                        help="where the phantom studies are generated and cached (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE, help="model folder to write (default: this folder)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--jobs", type=int, default=2, help="processes for phantom generation")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file

    from valkit.model_card import file_sha256, load_model_card
    from valkit.synth import GENERATOR_VERSION

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    started = time.perf_counter()
    data = {s.name: load_split(s, args.work_dir, jobs=args.jobs) for s in (TRAIN, TUNE, CHECK)}
    data_seconds = time.perf_counter() - started
    print(f"data ready in {data_seconds:.0f} s: " + ", ".join(f"{k} {len(v[1])}" for k, v in data.items()))

    fit_started = time.perf_counter()
    network, history = train(*data["train"][:3], epochs=args.epochs)
    fit_seconds = time.perf_counter() - fit_started

    scores = {name: predict(network, x) for name, (x, *_) in data.items()}
    threshold, sens, spec = choose_threshold(data["tune"][1], scores["tune"])
    auc = {name: _by_vendor(y, scores[name], rows, threshold) for name, (_, y, _, rows) in data.items()}
    check_sens, check_spec = _sens_spec(data["check"][1], scores["check"], threshold)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "model.safetensors"
    state = {k: v.detach().contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(weights), metadata={"valkit_model": "demo-nodule", "training_seed": str(TRAINING_SEED)})
    digest = file_sha256(weights)
    fields = _card_fields(
        threshold=threshold, sha256=digest, sens=sens, spec=spec,
        extra_training={
            "tuning_auc": auc["tune"]["all"]["auc"],
            "notes": (
                f"{CROP_EPOCHS} epochs on {CROP_SIZE}-pixel lesion-centred crops, then {args.epochs} on whole "
                f"images; batch {BATCH_SIZE}, AdamW lr {LEARNING_RATE} one-cycle per phase, flips and 4-pixel "
                f"shifts; CPU, torch {torch.__version__}. {_vendor_range(auc['tune'], 'auc', 'tuning')}; "
                f"{_vendor_range(auc['check'], 'auc', 'held-out check')}; "
                f"{_vendor_range(auc['tune'], 'specificity', 'tuning')}."
            ),
        },
    )
    card_path = args.out / "model.yaml"
    card_path.write_text(_card_text(fields))
    load_model_card(card_path)  # the card we wrote must parse

    report = {
        "weights_sha256": digest,
        "threshold": threshold,
        "threshold_rule": THRESHOLD_RULE,
        "tuning": {"sensitivity": round(sens, 4), "specificity": round(spec, 4), "by_vendor": auc["tune"]},
        "check": {"sensitivity": round(check_sens, 4), "specificity": round(check_spec, 4),
                  "by_vendor": auc["check"]},
        "train": {"by_vendor": auc["train"], "loss_by_epoch": history},
        "epochs": args.epochs,
        "n_parameters": sum(p.numel() for p in network.parameters()),
        "weights_bytes": weights.stat().st_size,
        "generator_version": GENERATOR_VERSION,
        "seconds": {"data": round(data_seconds, 1), "fit": round(fit_seconds, 1)},
        "environment": {"python": sys.version.split()[0], "torch": torch.__version__,
                        "machine": platform.machine(), "threads": torch.get_num_threads()},
    }
    (args.out / "training_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "README.md").write_text(_readme(report, fields))
    print(json.dumps({k: report[k] for k in ("threshold", "tuning", "check", "seconds")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
