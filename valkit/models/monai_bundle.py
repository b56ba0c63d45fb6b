"""Format ``monai_bundle``: a MONAI bundle folder, read as data.

A bundle is ``configs/metadata.json``, ``configs/inference.json`` (or ``.yaml``) and
``models/model.pt`` (a state dict) or ``models/model.ts`` (TorchScript). valkit never runs a
bundle's config: ``_target_`` strings, ``$`` expressions and ``%`` macros are code in MONAI's
config system, and a protocol or card is data only. Instead:

* with ``models/model.ts`` (``weights.file`` ending ``.ts``), the TorchScript graph is loaded
  as in format ``torchscript`` and the config is not read;
* otherwise ``network_def`` in the inference config is read as data: its ``_target_`` must
  name a network of the MONAI whitelist (:data:`~valkit.models.architectures.ARCHITECTURES`,
  by short or full name, e.g. ``DenseNet121`` or ``monai.networks.nets.DenseNet121``), its
  arguments must be ones a card may set, ``@name`` references are resolved to plain values of
  the config, and anything else (``$...``, ``%...``, other ``_keys_``) is refused with the
  reason. The network is then built through the whitelist and filled from ``model.pt``.

The card's sha256 covers the weights file; the config's sha256 and the resolved
``network_def`` are recorded in results.json (``model.details``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any


from valkit.errors import InputError
from valkit.yaml_lines import read_yaml
from valkit.models import LoadedNetwork
from valkit.models.architectures import ARCHITECTURES, ArchitectureSpec

if TYPE_CHECKING:
    from valkit.model_card import ModelCard

__all__ = ["bundle_problems", "load", "network_def"]

CONFIG_NAMES = ("inference.json", "inference.yaml", "inference.yml")
_SHORT = {spec.attr: (name, spec) for name, spec in ARCHITECTURES.items()}


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else read_yaml(text)  # no aliases, no duplicate keys
    except (OSError, ValueError) as exc:  # YamlInputError is a ValueError
        raise InputError(f"{path}: cannot read the bundle config ({type(exc).__name__}: {exc}).") from None


def _config_path(bundle: Path) -> Path:
    for name in CONFIG_NAMES:
        if (bundle / "configs" / name).is_file():
            return bundle / "configs" / name
    raise InputError(f"{bundle}: not a MONAI bundle with an inference config: expected configs/inference.json "
                     "(or .yaml). Point architecture.bundle at the bundle's root folder.")


def _resolve(value: Any, config: dict, where: str, depth: int = 0) -> Any:
    """A config value as plain data: ``@key`` references followed, code refused."""
    if isinstance(value, str) and value.startswith("@"):
        key = value[1:]
        if depth > 8 or key not in config:
            raise InputError(f"{where}: reference '{value}' does not name a top-level key of the bundle config.")
        return _resolve(config[key], config, where, depth + 1)
    if isinstance(value, str) and value.startswith(("$", "%")):
        raise InputError(f"{where}: '{value}' is a Python expression or macro in MONAI's config system; valkit "
                         "reads bundles as data only. Write the plain value in the config, or ship models/model.ts.")
    if isinstance(value, dict):
        if any(str(k).startswith("_") for k in value):
            raise InputError(f"{where}: nested objects with '_target_' or other '_keys_' are code in MONAI's config "
                             "system; valkit reads bundles as data only. Write plain values, or ship models/model.ts.")
        return {k: _resolve(v, config, where, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, config, where, depth + 1) for v in value]
    return value


def network_def(bundle: Path) -> tuple[str, ArchitectureSpec, dict[str, Any], Path]:
    """(whitelist name, spec, constructor arguments, config path) from the bundle's ``network_def``."""
    from valkit.suggest import did_you_mean_or_list as _did_you_mean

    path = _config_path(bundle)
    config = _read(path)
    where = f"{path}: network_def"
    if not isinstance(config, dict) or "network_def" not in config:
        raise InputError(f"{path}: the bundle config has no 'network_def'; valkit needs it to build the network "
                         "(or ship a TorchScript models/model.ts and name it in weights.file).")
    definition = config["network_def"]
    if isinstance(definition, str) and definition.startswith("@"):
        definition = config.get(definition[1:])
    if not isinstance(definition, dict) or "_target_" not in definition:
        raise InputError(f"{where}: expected a mapping with '_target_', found {definition!r}.")
    target = str(definition["_target_"])
    short = target.rsplit(".", 1)[-1]
    if short not in _SHORT or ("." in target and not target.startswith("monai.networks.nets.")):
        raise InputError(f"{where}._target_: '{target}' is not a whitelisted MONAI network; valkit never imports "
                         "a bundle's _target_." + _did_you_mean(short, _SHORT))
    name, spec = _SHORT[short]
    args = {}
    for key, value in definition.items():
        if key == "_target_":
            continue
        if str(key).startswith("_"):
            raise InputError(f"{where}.{key}: '{key}' is part of MONAI's config code ({key}); valkit reads bundles "
                             "as data only. Remove it from network_def.")
        args[key] = _resolve(value, config, f"{where}.{key}")
    fixed = dict(spec.fixed)
    allowed = spec.params | set(spec.channel_args) | set(fixed)
    for key, value in args.items():
        if key not in allowed:
            raise InputError(f"{where}.{key}: '{name}' takes no argument '{key}' in valkit."
                             + _did_you_mean(key, allowed))
        if key in fixed and value != fixed[key]:
            raise InputError(f"{where}.{key}: must be {fixed[key]!r} (a bundle never triggers a download); "
                             f"found {value!r}.")
    return name, spec, args, path


def _check_channels(card: ModelCard, spec: ArchitectureSpec, args: dict[str, Any], config: Path) -> None:
    arch = card.architecture
    for arg, mine, key in zip(spec.channel_args, (arch.spatial_dims, arch.in_channels, arch.out_channels),
                              ("spatial_dims", "in_channels", "out_channels")):
        if args.get(arg) != mine:
            raise InputError(f"{config}: network_def.{arg} is {args.get(arg)!r}, but the card's "
                             f"architecture.{key} is {mine}. The card must describe the bundle's network.")


def bundle_problems(card: ModelCard) -> list[str]:
    """What is wrong with the card's bundle folder, without building anything (for ``valkit validate``)."""
    bundle = card.bundle_path
    if bundle is None:
        return []
    out = []
    if not (bundle / "configs" / "metadata.json").is_file():
        out.append(f"{bundle}: not a MONAI bundle: configs/metadata.json is missing.")
    if card.weights_path.suffix != ".ts":
        try:
            _, spec, args, path = network_def(bundle)
            _check_channels(card, spec, args, path)
        except InputError as exc:
            out.append(str(exc))
    return out


def load(card: ModelCard, payload: bytes, device: str, *, autocast: bool = True) -> LoadedNetwork:
    import monai.networks.nets as nets

    from valkit.models import monai_nets, torchscript
    from valkit.models.weights import fit_state_dict, state_dict_from_bytes

    bundle = card.bundle_path
    assert bundle is not None  # the card requires it for this format
    problems = [p for p in bundle_problems(card) if "metadata.json" in p]
    if problems:
        raise InputError(problems[0])
    metadata = _read(bundle / "configs" / "metadata.json")
    details: dict[str, Any] = {"bundle": str(card.architecture.bundle),
                               "bundle_name": metadata.get("name") if isinstance(metadata, dict) else None,
                               "bundle_version": metadata.get("version") if isinstance(metadata, dict) else None}
    if card.weights_path.suffix == ".ts":
        loaded = torchscript.load(card, payload, device, autocast=autocast)
        loaded.details = {**details, "network": "TorchScript models/model.ts; the config was not read"}
        return loaded
    name, spec, args, path = network_def(bundle)
    _check_channels(card, spec, args, path)
    params = {k: v for k, v in args.items() if k in spec.params}
    network = monai_nets.construct(nets, spec, params, card, spatial_dims=card.architecture.spatial_dims,
                                   in_channels=card.architecture.in_channels,
                                   out_channels=card.architecture.out_channels)
    fit_state_dict(card, network, state_dict_from_bytes(payload, card.weights_path),
                   what=f"the bundle's network_def ({name} with {params})")
    details.update(network_def={"_target_": name, **args},
                   config=str(path.relative_to(bundle)),
                   config_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    return monai_nets.torch_module(card, network, device, autocast=autocast, details=details)
