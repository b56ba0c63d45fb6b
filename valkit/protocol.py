"""The study protocol: a YAML file parsed into frozen pydantic models.

A protocol is data only: it is read with ``yaml.safe_load`` semantics (duplicate keys and aliases
refused), every key is
checked (unknown keys are errors, with a "did you mean"), and nothing in it is ever
executed. ``load_protocol`` reports every problem at once, each with the file, the
line and the key path.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from valkit.baseline_config import BaselineOptions
from valkit.errors import InputError
from valkit.explain.config import ExplainabilityOptions
from valkit.latency.config import LatencyOptions
from valkit.protocol_test_data import Eligibility, Secondary, Site
from valkit.reader_study.config import ReaderStudyOptions
from valkit.reference_standard_config import ReferenceStandard
from valkit.strict_model import StrictModel
from valkit.subgroups_config import Subgroups
from valkit.suggest import did_you_mean
from valkit.yaml_lines import YamlInputError, format_loc, line_index, line_of, read_yaml

METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "auc")
PROPORTION_CI_METHODS = ("wilson", "clopper_pearson", "jeffreys", "agresti_coull")
AUC_CI_METHODS = ("delong", "bootstrap", "clustered")


class FDATarget(StrictModel):
    submission_type: Literal["510(k)", "De Novo", "PMA"] = "510(k)"
    product_code: str | None = None
    regulation_number: str | None = Field(None, description="e.g. 21 CFR 892.2090")


class CDSCOTarget(StrictModel):
    device_class: Literal["A", "B", "C", "D"] = "B"
    application: str | None = Field(None, description="e.g. MD-7 / MD-9 import licence")
    class_rationale: str | None = Field(
        None, description="Why the device is in this class under the Medical Devices Rules, 2017 (e.g. the "
                          "classification rule applied); printed in the report's regulatory basis.")


class Regulatory(StrictModel):
    targets: list[Literal["FDA", "CDSCO"]] = Field(min_length=1)
    document_id: str = Field(min_length=1, description="Printed in every page footer.")
    revision: str = Field(min_length=1)
    fda: FDATarget | None = None
    cdsco: CDSCOTarget | None = None
    pre_registered: bool = Field(
        False, description="True: `valkit run` refuses to start unless `valkit lock` recorded these exact files "
                           "before the test labels were first read (docs/traceability.md).")
    masking: list[str] = Field(
        default_factory=list,
        description="Masking (blinding) statements printed in the report's design section, e.g. 'The reference "
                    "standard was established without knowledge of the device output.'")


class ModelRef(StrictModel):
    card: Path = Field(description="Path to models/<id>/model.yaml, relative to the protocol file.")


def _g(x: float) -> str:
    return f"{x:g}"


def _range_text(r: tuple[float, float]) -> str:
    return f"[{_g(r[0])}, {_g(r[1])}]"


class ExternalPredictions(StrictModel):
    """Scores from a vendor model that cannot run inside valkit.

    ``score_range`` declares the scale of the scores (default [0, 1], probabilities); a score
    outside it stops the run before any analysis. Calibration is analysed only on [0, 1].
    """

    path: Path
    case_id_column: str = "case_id"
    score_column: str = "score"
    model_name: str
    model_version: str
    score_range: tuple[float, float] = Field(
        (0.0, 1.0), description="[low, high] of the scores, e.g. [0, 100]; default [0, 1] (probabilities).")
    threshold: float | None = Field(None, description="On the scores' scale (inside score_range).")

    @field_validator("score_range")
    @classmethod
    def _increasing(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError(f"expected [low, high] with low < high, e.g. [0, 100]; found {_range_text(v)}")
        return v

    @field_validator("threshold")
    @classmethod
    def _inside_range(cls, v: float | None, info: ValidationInfo) -> float | None:
        rng = info.data.get("score_range")
        if v is not None and rng is not None:
            _check_in_range(v, rng)
        return v

    @property
    def probabilities(self) -> bool:
        """True when the declared scale is [0, 1] (scores may be read as probabilities)."""
        return tuple(self.score_range) == (0.0, 1.0)


def _check_in_range(threshold: float, rng: tuple[float, float], *, external: bool = True) -> None:
    if not rng[0] <= threshold <= rng[1]:
        fix = ("Give it on the scores' own scale, or declare the scale with predictions.score_range "
               "(e.g. [0, 100])." if external else "A model card's scores are probabilities.")
        raise ValueError(f"threshold {_g(threshold)} is outside the score range {_range_text(rng)}. {fix}")


class Dataset(StrictModel):
    manifest: Path
    site: str | None = Field(None, description="Site label for every row; overrides an empty site column.")
    image_root: Path | None = Field(
        None, description="Folder (relative to the protocol file) that every manifest path must resolve into, "
                          "after symlinks; default: the manifest's own folder.")


class OperatingPoint(StrictModel):
    source: Literal["model_card", "fixed", "choose_on_test_data"] = "model_card"
    threshold: float | None = Field(None, description="On the score scale: [0, 1], or predictions.score_range.")
    rule: Literal["youden", "sensitivity", "specificity"] = "youden"
    target: float | None = Field(None, gt=0, lt=1)

    @model_validator(mode="after")
    def _threshold_when_fixed(self) -> "OperatingPoint":
        if self.source == "fixed" and self.threshold is None:
            raise ValueError("source 'fixed' needs a threshold, e.g. threshold: 0.5")
        if self.source != "fixed" and self.threshold is not None:
            raise ValueError(f"threshold is only used with source 'fixed' (source is '{self.source}')")
        return self


class Endpoint(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    metric: Literal["sensitivity", "specificity", "ppv", "npv", "accuracy", "auc"]
    ci: str | None = Field(None, description="CI method; default wilson for proportions, delong for AUC.")
    confidence_level: float = Field(0.95, gt=0.5, lt=1)
    goal: float | None = Field(None, gt=0, lt=1, description="PASS when the CI lower bound >= goal.")
    primary: bool = True
    planning_value: float | None = Field(None, gt=0, lt=1, description=(
        "The value the study was sized for (the expected sensitivity, ...); the report gives the power at it."))

    @field_validator("ci")
    @classmethod
    def _ci_fits_metric(cls, ci: str | None, info: ValidationInfo) -> str | None:
        metric = info.data.get("metric")
        valid = AUC_CI_METHODS if metric == "auc" else PROPORTION_CI_METHODS
        if metric is None:  # metric itself invalid: accept any known method
            valid = PROPORTION_CI_METHODS + AUC_CI_METHODS
        if ci is not None and ci not in valid:
            raise ValueError(
                f"unknown CI method '{ci}' for {metric or 'this metric'}.{did_you_mean(ci, valid)}"
                f" Valid: {', '.join(valid)}."
            )
        return ci

    @property
    def ci_method(self) -> str:
        return self.ci or ("delong" if self.metric == "auc" else "wilson")


class Analysis(StrictModel):
    seed: int = 20240101
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000)
    cluster_column: str = "patient_id"
    clustering: Literal["auto", "patient", "none"] = Field(
        "auto", description=(
            "How several images per patient change the methods. auto: patient-clustered methods (bootstrap for "
            "proportions, Obuchowski for AUC, cluster-robust variances for heterogeneity and difference tests, the "
            "evidence rule counting patients) wherever some patient has several images, the protocol's method "
            "elsewhere; patient: patient-clustered methods everywhere; none: images treated as independent "
            "(stated as a limitation). Leaving it out uses auto and lists the switch as a deviation."))


class Inference(StrictModel):
    batch_size: int = Field(16, ge=1, le=4096)
    num_workers: int = Field(2, ge=0, le=64)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # "fastest": time every installed pydicom decoding plugin on a few files per transfer syntax,
    # keep those whose output is identical, use the fastest (valkit.latency.decoders); recorded in
    # results.json. "pydicom_default": pydicom's own plugin order.
    pixel_decoder: Literal["fastest", "pydicom_default"] = "fastest"
    executor: Literal["local", "ray"] = Field(
        "local", description=("local: DataLoader workers on this machine. ray: Ray Data (the [ray] extra): decoding as "
                              "CPU tasks, the model as a pool of replicas, one GPU each when the cluster has GPUs; "
                              "same predictions, files and resume rules (docs/scale.md)."))
    ray_address: str | None = Field(
        None, description="executor ray: the cluster to join, given to ray.init(address=...) ('auto', "
                          "'ray://head:10001'); null starts a local Ray on this machine.")
    ray_replicas: int | None = Field(
        None, ge=1, le=4096, description="executor ray: model replicas; default one per GPU of the cluster, else 1.")


class ReportOptions(StrictModel):
    formats: list[Literal["pdf", "html"]] = Field(default_factory=lambda: ["pdf", "html"])
    sponsor: str | None = None
    device_name: str | None = None
    authors: list[str] = Field(default_factory=list)
    templates: Path | None = Field(
        None, description="Folder of report templates, relative to the protocol file: a file here replaces "
                          "valkit's file of the same name (e.g. sections/device.html.j2, report.css).")


class Protocol(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Run directory name: runs/<id>/")
    version: str
    title: str
    intended_use: str
    regulatory: Regulatory
    model: ModelRef | None = None
    predictions: ExternalPredictions | None = None
    datasets: list[Dataset] = Field(min_length=1)
    reference_standard: ReferenceStandard
    operating_point: OperatingPoint = OperatingPoint()
    endpoints: list[Endpoint] = Field(min_length=1)
    subgroups: Subgroups = Subgroups()
    analysis: Analysis = Analysis()
    inference: Inference = Inference()
    report: ReportOptions = ReportOptions()
    explainability: ExplainabilityOptions | None = None
    latency: LatencyOptions | None = None
    reader_study: ReaderStudyOptions | None = None
    baseline: BaselineOptions | None = None
    sites: dict[str, Site] = Field(default_factory=dict, description="Per value of the site column: its country.")
    eligibility: Eligibility | None = Field(None, description="Inclusion/exclusion criteria, printed verbatim.")
    secondary: Secondary | None = Field(None, description="Sensitivity by lesion size band / lesion type.")

    @field_validator("operating_point")
    @classmethod
    def _threshold_on_score_scale(cls, v: OperatingPoint, info: ValidationInfo) -> OperatingPoint:
        ext = info.data.get("predictions")
        if v.threshold is not None:
            _check_in_range(v.threshold, ext.score_range if ext is not None else (0.0, 1.0), external=ext is not None)
        return v

    @model_validator(mode="after")
    def _model_xor_predictions(self) -> "Protocol":
        if (self.model is None) == (self.predictions is None):
            raise ValueError("give exactly one of 'model' (a model card) or 'predictions' (an external file)")
        if self.predictions is not None and self.operating_point.source == "model_card":
            if self.predictions.threshold is None:
                raise ValueError(
                    "external predictions have no model card: set predictions.threshold, "
                    "or operating_point.source: fixed with a threshold"
                )
        ids = [e.id for e in self.endpoints]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"endpoint ids must be unique; repeated: {', '.join(dup)}")
        return self


class LoadedProtocol(BaseModel):
    """A validated protocol with where it came from and its digest."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    protocol: Protocol
    path: Path
    sha256: str

    def resolve(self, p: Path) -> Path:
        """Paths in a protocol are relative to the protocol file."""
        return p if p.is_absolute() else (self.path.parent / p).resolve()


def _fields_at(loc: tuple) -> list[str]:
    """Field names of the model that owns the last key of ``loc`` (for 'did you mean')."""
    model: Any = Protocol
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nxt = None
        for c in candidates:
            for inner in [c, *getattr(c, "__args__", ())]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    nxt = inner
        if nxt is None:
            return []
        model = nxt
    return list(getattr(model, "model_fields", {}))


def _describe(err: dict) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    typ = err["type"]
    if typ == "extra_forbidden":
        key = loc[-1]
        fields = _fields_at(loc)
        return f"unknown key '{key}'.{did_you_mean(key, fields)} Valid keys here: {', '.join(fields)}."
    if typ == "literal_error":
        expected = [s.strip().strip("'") for s in err["ctx"]["expected"].replace(" or ", ", ").split(",")]
        return (
            f"unknown value '{err['input']}'.{did_you_mean(err['input'], expected)}"
            f" Valid: {', '.join(expected)}."
        )
    if typ == "missing":
        return "required key is missing."
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if "input" in err and typ not in ("value_error",) and not isinstance(err["input"], (dict, list)):
        msg += f" (found {err['input']!r})"
    return msg


def protocol_problems(data: Any, *, source: str, text: str = "") -> list[str]:
    """Validate parsed YAML ``data``; return every problem as 'file:line: key.path: message'."""
    if not isinstance(data, dict):
        return [f"{source}: the protocol must be a YAML mapping of keys (id, version, title, ...)."]
    lines = line_index(text)
    try:
        Protocol.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line = line_of(lines, loc)
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {format_loc(loc)}: {_describe(err)}")
        return problems
    return []


def load_protocol(path: str | Path, *, check_paths: bool = True) -> LoadedProtocol:
    """Read, validate and hash a protocol file. Raises InputError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: protocol file not found. Check the path (protocols live in protocols/).")
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    try:
        data = read_yaml(text)
    except YamlInputError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise InputError(f"{where}: {exc}") from None
    problems = protocol_problems(data, source=str(path), text=text)
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s) in the protocol:", problems=problems)
    loaded = LoadedProtocol(
        protocol=Protocol.model_validate(data), path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest()
    )
    if check_paths:
        missing = missing_paths(loaded, text, source=str(path))
        if missing:
            raise InputError(f"{path}: {len(missing)} path(s) in the protocol do not exist:", problems=missing)
    return loaded


def named_files(p: Protocol) -> list[tuple[tuple, Path]]:
    """(key path, path as written) of every file the protocol names: manifests, model card or
    external scores, reader-study inputs (what ``valkit lock`` digests and a run checks exist)."""
    out: list[tuple[tuple, Path]] = [(("datasets", i, "manifest"), d.manifest) for i, d in enumerate(p.datasets)]
    if p.model is not None:
        out.append((("model", "card"), p.model.card))
    if p.predictions is not None:
        out.append((("predictions", "path"), p.predictions.path))
    if p.reader_study is not None:
        out.extend(p.reader_study.paths())
    if p.baseline is not None:
        out.extend(p.baseline.paths())
    return out


def missing_paths(loaded: LoadedProtocol, text: str, *, source: str) -> list[str]:
    """'file:line: key: file not found ...' for every file the protocol names that does not exist."""
    lines = line_index(text)
    p = loaded.protocol
    out = []
    templates = p.report.templates
    if templates is not None and not loaded.resolve(templates).is_dir():
        line = lines.get(("report", "templates"))
        where = f"{source}:{line}" if line else source
        out.append(f"{where}: report.templates: folder not found: {templates} (resolved to "
                   f"{loaded.resolve(templates)}). Give a folder of templates that override valkit's by name "
                   "(e.g. sections/device.html.j2), relative to the protocol file, or leave the key out.")
    for loc, rel in named_files(p):
        resolved = loaded.resolve(rel)
        if not resolved.exists():
            line = lines.get(loc)
            where = f"{source}:{line}" if line else source
            hint = ""
            if loc[0] == "datasets":
                hint = " Build it with `valkit manifest build DICOM_DIR --labels LABELS.csv --out PATH`."
            out.append(f"{where}: {format_loc(loc)}: file not found: {rel} (resolved to {resolved}).{hint}")
    return out


def protocol_json_schema() -> dict:
    """JSON Schema of the protocol format, for editor autocompletion."""
    schema = Protocol.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "valkit protocol"
    return schema
