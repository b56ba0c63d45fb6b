"""Model formats: safe loading (sha256, no pickles, bundles as data), card cross-checks, `valkit validate`."""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest
import torch
import yaml

from valkit.cli import main
from valkit.digests import file_sha256
from valkit.errors import InputError, IntegrityError
from valkit.model_card_io import parse_model_card
from valkit.model_card_io import check_model_card
from valkit.predictor import load_predictor
from valkit.testing import TINY_PARAMS, card_yaml


def _tiny_net():
    import monai.networks.nets as nets

    torch.manual_seed(0)
    return nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, **TINY_PARAMS).eval()


def _card(folder: Path, weights: Path, architecture: str, *, output: str | None = None, explain: bool = False,
          sha: str | None = None) -> Path:
    """A tiny card whose architecture block is replaced by ``architecture`` (flow YAML)."""
    text = card_yaml(weights.relative_to(folder).as_posix(), sha or file_sha256(weights),
                     target_layer="features.denseblock2" if explain else None)
    lines = text.splitlines()
    start = lines.index("architecture:")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    lines[start:end] = [f"architecture: {architecture}"]
    text = "\n".join(lines) + "\n"
    if output is not None:
        text = text.replace("output: {positive_label: finding present}", f"output: {output}")
    path = folder / "model.yaml"
    path.write_text(text)
    return path


def _onnx(folder: Path, *, batch_one: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    axes = None if batch_one else {"image": {0: "n"}, "logits": {0: "n"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter is deprecated in torch 2.14
        torch.onnx.export(_tiny_net(), (torch.zeros(1, 1, 32, 32),), str(path), dynamo=False,
                          input_names=["image"], output_names=["logits"], dynamic_axes=axes)
    return path


def _torchscript(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.ts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(_tiny_net(), torch.zeros(1, 1, 32, 32)).save(str(path))
    return path


ONNX = "{format: onnx, in_channels: 1, out_channels: 1}"
TS = "{format: torchscript, in_channels: 1, out_channels: 1}"


@pytest.mark.parametrize(("make", "arch"), [(_onnx, ONNX), (_torchscript, TS)])
def test_graph_formats_score_like_their_source_network(tmp_path, make, arch):
    card = _card(tmp_path, make(tmp_path), arch)
    predictor = load_predictor(card, device="cpu")
    x = torch.randn(5, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = torch.sigmoid(_tiny_net()(x)[:, 0]).numpy()
    assert predictor.predict(x) == pytest.approx(expected, abs=1e-5)


def test_onnx_exported_with_batch_one_is_run_image_by_image(tmp_path):
    predictor = load_predictor(_card(tmp_path, _onnx(tmp_path, batch_one=True), ONNX), device="cpu")
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = torch.sigmoid(_tiny_net()(x)[:, 0]).numpy()
    assert predictor.predict(x) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(("make", "arch"), [(_onnx, ONNX), (_torchscript, TS)])
def test_graph_sha256_mismatch_is_refused(tmp_path, make, arch):
    path = make(tmp_path)
    card = _card(tmp_path, path, arch)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(IntegrityError, match=r"weights.sha256: the weights file .* does not match the model card"):
        load_predictor(card, device="cpu")


class _Bomb:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_given_as_torchscript_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = tmp_path / "model.pt"
    torch.save({"weight": _Bomb(marker)}, payload)
    card = _card(tmp_path, payload, TS)  # the digest matches: only the loader protects us
    with pytest.raises(InputError, match=r"refused to load: not a TorchScript archive .*never unpickles"):
        load_predictor(card, device="cpu")
    assert not marker.exists()


def test_model_with_the_wrong_number_of_outputs_is_refused(tmp_path):
    card = _card(tmp_path, _onnx(tmp_path), "{format: onnx, in_channels: 1, out_channels: 2}",
                 output="{activation: softmax, classes: [a, b], positive_class: b}")
    with pytest.raises(InputError, match=r"out_channels: the model gives 1 output\(s\) per image, the card says 2"):
        load_predictor(card, device="cpu")


def test_onnx_on_cuda_without_the_cuda_provider_says_what_to_install():
    from valkit.models.onnx_graph import providers_for

    with pytest.raises(InputError, match="no CUDAExecutionProvider.*Install onnxruntime-gpu"):
        providers_for("cuda", ["CPUExecutionProvider"])
    assert providers_for("auto", ["CPUExecutionProvider"])[1] == ["CPUExecutionProvider"]


# --- MONAI bundles are read as data -------------------------------------------------------------

def _bundle(folder: Path, network_def: dict, **config) -> Path:
    bundle = folder / "b"
    (bundle / "configs").mkdir(parents=True)
    (bundle / "models").mkdir()
    (bundle / "configs" / "metadata.json").write_text(json.dumps({"name": "b", "version": "1.0"}))
    (bundle / "configs" / "inference.json").write_text(json.dumps({"network_def": network_def, **config}))
    torch.save(_tiny_net().state_dict(), bundle / "models" / "model.pt")
    return _card(folder, bundle / "models" / "model.pt", "{format: monai_bundle, bundle: b, in_channels: 1, "
                 "out_channels: 1}")


GOOD_DEF = {"_target_": "monai.networks.nets.DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1,
            **TINY_PARAMS}


def test_bundle_builds_its_network_through_the_whitelist(tmp_path):
    predictor = load_predictor(_bundle(tmp_path, {**GOOD_DEF, "growth_rate": "@growth"}, growth=4), device="cpu")
    assert predictor.details["network_def"]["growth_rate"] == 4
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = torch.sigmoid(_tiny_net()(x)[:, 0]).numpy()
    assert predictor.predict(x) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(("change", "message"), [
    ({"_target_": "mypackage.nets.Backdoor"}, r"'mypackage.nets.Backdoor' is not a whitelisted MONAI network; "
                                              r"valkit never imports a bundle's _target_"),
    ({"_target_": "DenseNet12"}, r"Did you mean 'DenseNet121'\?"),
    ({"growth_rate": "$__import__('os').system('touch pwned')"}, r"is a Python expression or macro"),
    ({"act": {"_target_": "torch.nn.ReLU"}}, r"nested objects with '_target_' .* are code"),
    ({"_requires_": "$import os"}, r"'_requires_' is part of MONAI's config code"),
    ({"pretrained": True}, r"network_def.pretrained: 'monai.networks.nets.DenseNet' takes no argument 'pretrained'"),
    ({"in_channels": 3}, r"network_def.in_channels is 3, but the card's architecture.in_channels is 1"),
])
def test_bundle_config_code_is_refused(tmp_path, change, message):
    card = _bundle(tmp_path, {**GOOD_DEF, **change})
    with pytest.raises(InputError, match=message):
        load_predictor(card, device="cpu")
    assert not (Path.cwd() / "pwned").exists()
    _, problems = check_model_card(card)  # valkit validate sees the same problem without loading
    assert any(re.search(message, p) for p in problems), problems


# --- card cross-checks: file:line: key.path: message ----------------------------------------------

def _problem(tmp_path, arch: str, *, output: str | None = None, weights: str = "model.onnx",
             explain: bool = False) -> str:
    (tmp_path / weights).write_bytes(b"x")
    card = _card(tmp_path, tmp_path / weights, arch, output=output, explain=explain, sha="ab" * 32)
    with pytest.raises(InputError) as info:
        load_predictor(card, device="cpu")
    return str(info.value)


def test_misspelled_format_suggests(tmp_path):
    message = _problem(tmp_path, "{format: onxx, in_channels: 1, out_channels: 1}")
    assert message == (f"{tmp_path / 'model.yaml'}:6: architecture.format: unknown model format 'onxx'. "
                       "Did you mean 'onnx'? Valid: monai, monai_bundle, onnx, torchscript, torchvision.")


@pytest.mark.parametrize(("arch", "kwargs", "expected"), [
    ("{format: onnx, family: monai.networks.nets.DenseNet, in_channels: 1, out_channels: 1}", {},
     ":6: architecture.family: format 'onnx' takes no family"),
    ("{format: torchvision, family: torchvision.models.resnet19, in_channels: 3, out_channels: 1}",
     {"weights": "model.safetensors"}, "Did you mean 'torchvision.models.resnet18'?"),
    ("{format: torchvision, family: torchvision.models.resnet18, in_channels: 1, out_channels: 1}",
     {"weights": "model.safetensors"}, "architecture.in_channels: torchvision classifiers take 3 input channels"),
    ("{format: torchscript, in_channels: 1, out_channels: 1}", {},
     "weights.file: 'model.onnx': format 'torchscript' reads .ts, .pt, .pth files, not '.onnx'"),
    (ONNX, {"explain": True}, "explainability: Grad-CAM is not available for format 'onnx'"),
    (ONNX, {"output": "{activation: softmax, classes: [normal, nodule], positive_class: nodle}"},
     "output.positive_class: must be one of the classes, found 'nodle'. Did you mean 'nodule'?"),
    (ONNX, {"output": "{activation: softmax, classes: [normal, nodule], positive_class: nodule}"},
     "architecture.out_channels: activation 'softmax' with 2 classes needs out_channels 2, found 1"),
    ("{format: onnx, in_channels: 1, out_channels: 2}", {},
     "architecture.out_channels: activation 'sigmoid' takes one logit, found out_channels 2"),
    (ONNX, {"output": "{activation: softmx, positive_label: x}"},
     "output.activation: unknown value 'softmx'. Did you mean 'softmax'?"),
    ("{format: monai_bundle, in_channels: 1, out_channels: 1}", {"weights": "model.pt"},
     "architecture.bundle: format 'monai_bundle' needs the bundle folder"),
])
def test_card_cross_checks_name_the_key_and_line(tmp_path, arch, kwargs, expected):
    message = _problem(tmp_path, arch, **kwargs)
    assert message.startswith(str(tmp_path / "model.yaml") + ":")
    assert expected in message


def test_validate_reports_protocol_and_card_problems_with_lines(tmp_path, capsys):
    path = _onnx(tmp_path / "model")
    card = _card(tmp_path / "model", path, "{format: onnx, in_channels: 1, out_channels: 1}")
    (tmp_path / "manifest.csv").write_text("case_id,path,label\n")  # a header-only manifest with the core columns
    protocol = tmp_path / "p.yaml"
    protocol.write_text(yaml.safe_dump({
        "id": "v", "version": "1", "title": "t", "intended_use": "tests",
        "regulatory": {"targets": ["FDA"], "document_id": "D", "revision": "A"},
        "model": {"card": "model/model.yaml"}, "datasets": [{"manifest": "manifest.csv"}],
        "reference_standard": {"column": "label", "description": "d"},
        "operating_point": {"source": "fixed", "threshold": 0.5},
        "endpoints": [{"id": "s", "metric": "sensitivity"}]}, sort_keys=False))
    assert main(["validate", str(protocol)]) == 0
    assert "valid, format onnx; weights sha256 matches" in capsys.readouterr().out

    path.write_bytes(path.read_bytes() + b"\0")  # a changed model file
    assert main(["validate", str(protocol)]) == 2
    assert "weights.sha256: the weights file" in capsys.readouterr().err

    card.write_text(card.read_text().replace("format: onnx", "format: onxx"))
    protocol.write_text(protocol.read_text().replace("metric: sensitivity", "metric: sensitivty"))
    assert main(["validate", str(protocol)]) == 2
    err = capsys.readouterr().err
    assert f"{protocol}:" in err and "sensitivty" in err  # the protocol's problem ...
    assert f"{card}:6: architecture.format: unknown model format 'onxx'. Did you mean 'onnx'?" in err  # ... and the card's


def test_softmax_card_scores_the_positive_class():
    data = yaml.safe_load(card_yaml("model.safetensors", "ab" * 32))
    data["architecture"]["out_channels"] = 3
    data["output"] = {"activation": "softmax", "classes": ["a", "b", "c"], "positive_class": "c"}
    card = parse_model_card(data)
    assert card.output.positive_index == 2 and card.output.label == "c"
