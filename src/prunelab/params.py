"""params.yaml, validated once into frozen, typed specs.

Every stage starts by calling ``load_params()``: an unknown key (with the closest
valid one suggested), a wrong type, a value out of range or a contradictory
combination stops the stage in a second, in one line naming the key, before any
data or model is loaded. The library receives these specs, never a dict of YAML.

pydantic v2 rather than hand-written dataclasses: ``extra="forbid"`` refuses unknown
keys at every depth, strict types refuse ``"half"`` for a number, and the range and
literal constraints sit beside the field they constrain. It is already installed as
a dependency of DVC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prunelab.errors import ParamsError
from prunelab.params_messages import describe_error

PARAMS_FILE = Path("params.yaml")

UNSTRUCTURED_METHODS = ("magnitude", "wanda", "sparsegpt", "snip", "movement")
ONE_SHOT_METHODS = ("wanda", "sparsegpt", "snip")  # defined on a calibration sample: they prune once
GRADUAL_METHODS = ("movement",)  # scored by fine-tuning itself: they prune while it runs
# Pruned while the pre-trained model is fine-tuned (Sanh et al. 2020), the baseline its teacher: at the fine-tuned
# baseline's optimum the gradients are noise, and −w·∂L/∂w summed over them ranks its largest weights lowest.
FROM_PRETRAINED = ("movement",)
SPARSEGPT_SCOPES = ("per_output", "per_layer")

Method = Literal["magnitude", "wanda", "sparsegpt", "snip", "movement"]
Scope = Literal["global", "per_layer", "per_output"]
Target = Literal["attention", "ffn", "embeddings", "pooler", "classifier"]
# How fine-tuning updates the embedding tables (fine_tune.adamw, fine_tune.trained_variables).
EmbeddingUpdate = Literal["dense", "lazy", "frozen"]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]
PositiveInt = Annotated[int, Field(ge=1)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataSpec(Spec):
    local_dir: str | None = None
    train_size: PositiveInt
    # Whole training sentences, none of their phrases trained on (data.draw_splits): every choice is made on it,
    # never on dev.
    selection_size: PositiveInt = 2000
    # None: the subset is drawn from every row alike (about a tenth are whole sentences); a share: that
    # fraction of it whole sentences, the rest shorter phrases (docs/decisions/training-rows.md).
    whole_sentence_share: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class ModelSpec(Spec):
    checkpoint: str
    max_length: Annotated[int, Field(ge=8, le=512)]


class DistillSpec(Spec):
    alpha: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    temperature: Annotated[float, Field(gt=0.0)] = 2.0
    hidden_weight: Annotated[float, Field(ge=0.0)] = 0.0
    # Rows of the pool (training rows outside the subset and the selection set's phrases) also trained on,
    # from the teacher's predictions alone: their labels are not used, so the student learns nothing the
    # baseline was not taught, only more of what it knows (a transfer set, Hinton et al. 2015).
    transfer_size: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _transfer_needs_a_teacher(self):
        if self.transfer_size and not (self.alpha or self.hidden_weight):
            raise ValueError(f"distill.transfer_size {self.transfer_size}: transfer rows are learnt from the "
                             "teacher alone; set distill.alpha above 0 or transfer_size to 0")
        return self


class FineTuneSpec(Spec):
    """One fine-tuning run: the baseline's, or a pruned model's recovery."""

    epochs: Annotated[int, Field(ge=0)]
    batch_size: PositiveInt
    learning_rate: Annotated[float, Field(gt=0.0)]
    warmup_ratio: Annotated[float, Field(ge=0.0, le=1.0)]
    weight_decay: Annotated[float, Field(ge=0.0)]
    embedding_update: EmbeddingUpdate = "dense"
    distill: DistillSpec = DistillSpec()

    @property
    def uses_teacher(self) -> bool:
        return bool(self.distill.alpha or self.distill.hidden_weight)

    def record(self) -> dict:
        """Every setting, as the run records state them (the distillation's as ``distill_alpha``, ...)."""
        return (self.model_dump(exclude={"distill"})
                | {f"distill_{name}": value for name, value in self.distill.model_dump().items()})


class TrainSpec(FineTuneSpec):
    bucket_lengths: list[PositiveInt]


class StructuredSpec(Spec):
    """The structured model: heads and FFN neurons removed to a FLOPs target, and its own recovery."""

    flops_target: Annotated[float, Field(gt=0.0, le=1.0)]
    # width: heads and FFN neurons from every layer (Kwon et al. 2022); depth: whole layers (LayerDrop's question)
    criterion: Literal["width", "depth"] = "width"
    importance_sentences: PositiveInt
    score: Literal["fisher", "taylor"] = "fisher"
    reference_length: Annotated[float, Field(gt=0.0)] = 25.0
    allow_layer_removal: bool = False
    min_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    recovery: FineTuneSpec

    @model_validator(mode="after")
    def _floor_fits_the_target(self):
        # FLOPs grow linearly with the heads and neurons kept, so a floor of min_fraction of every
        # layer's units costs about min_fraction of the dense FLOPs on its own.
        if self.min_fraction > self.flops_target:
            raise ValueError(
                f"structured.min_fraction {self.min_fraction} keeps at least {self.min_fraction:.0%} of every "
                f"layer's heads and neurons, more than structured.flops_target {self.flops_target} allows; "
                "lower min_fraction or raise flops_target")
        return self


class PruneSpec(Spec):
    """The main pruned model: an unstructured method, its mask policy and schedule, and its recovery."""

    method: str
    sparsity: Fraction
    scope: Scope
    n_m: str | None = None
    targets: list[Target]
    calibration_size: PositiveInt
    schedule: Literal["oneshot", "gradual"]
    begin_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    end_fraction: Annotated[float, Field(gt=0.0, le=1.0)]
    frequency: PositiveInt
    recovery: FineTuneSpec

    @model_validator(mode="after")
    def _consistent(self):
        if self.method == "structured":
            raise ValueError("prune.method 'structured' is not a pruning method here: the structured model is always "
                             "built by the `structured` stage from the structured section (models/structured); "
                             f"choose one of {', '.join(UNSTRUCTURED_METHODS)}")
        if self.method not in UNSTRUCTURED_METHODS:
            raise ValueError(f"prune.method {self.method!r} is not one of {', '.join(UNSTRUCTURED_METHODS)}")
        if self.schedule == "gradual" and (self.method in ONE_SHOT_METHODS or self.n_m):
            what = f"prune.method {self.method}" if self.method in ONE_SHOT_METHODS else f"prune.n_m {self.n_m}"
            raise ValueError(f"prune.schedule gradual: {what} prunes once; set prune.schedule to oneshot "
                             "(recovery still uses prune.recovery.epochs)")
        if self.method in GRADUAL_METHODS and self.schedule != "gradual":
            raise ValueError(f"prune.method {self.method} scores weights by how fine-tuning moves them; set "
                             "prune.schedule to gradual")
        if self.schedule == "gradual" and self.recovery.epochs == 0:
            raise ValueError("prune.schedule gradual prunes during fine-tuning: set prune.recovery.epochs >= 1 or "
                             "prune.schedule oneshot")
        if self.begin_fraction >= self.end_fraction:
            raise ValueError(f"prune.begin_fraction {self.begin_fraction} must be below prune.end_fraction "
                             f"{self.end_fraction}: the ramp begins before it ends")
        if self.method == "sparsegpt" and self.scope not in SPARSEGPT_SCOPES:
            raise ValueError(f"prune.scope {self.scope}: sparsegpt prunes each kernel on its own; set prune.scope to "
                             f"{' or '.join(SPARSEGPT_SCOPES)}")
        if self.n_m is not None:
            n, m = parse_n_m(self.n_m, "prune.n_m")
            if abs(self.sparsity - (1 - n / m)) > 1e-9:
                raise ValueError(f"prune.n_m {self.n_m} prunes exactly {1 - n / m:g} of the weights, not sparsity "
                                 f"{self.sparsity}; set prune.sparsity to {1 - n / m:g}")
        return self

    @property
    def pattern(self) -> tuple[int, int] | None:
        return parse_n_m(self.n_m) if self.n_m else None


class SweepSpec(Spec):
    methods: dict[Method, Scope]
    sparsities: list[Fraction]
    flops_targets: list[Annotated[float, Field(gt=0.0, le=1.0)]]
    recovery: bool = False

    @model_validator(mode="after")
    def _sparsegpt_scope(self):
        gradual = [m for m in self.methods if m in GRADUAL_METHODS]
        if gradual:
            raise ValueError(f"sweep.methods {gradual}: the sweep prunes one-shot, and {gradual[0]} prunes while "
                             "fine-tuning; compare it with the frontier (make frontier)")
        scope = self.methods.get("sparsegpt")
        if scope is not None and scope not in SPARSEGPT_SCOPES:
            raise ValueError(f"sweep.methods.sparsegpt ranks within {scope}; sparsegpt needs "
                             f"{' or '.join(SPARSEGPT_SCOPES)}")
        return self


class LongerRecovery(Spec):
    """Frontier points with more to recover, laid over the frontier's recovery: the unstructured points at or above
    ``from_sparsity``, and the structured ones at ``to_flops_target`` of the FLOPs or fewer."""

    from_sparsity: Fraction
    to_flops_target: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    recovery: dict[str, int | float | str]


class FrontierSpec(Spec):
    """``make frontier``: a DVC experiment a point, pruned and recovered by the main run's own stages."""

    methods: dict[Method, Scope]  # each unstructured method and the scope it ranks within
    sparsities: list[Fraction]
    flops_targets: list[Annotated[float, Field(gt=0.0, le=1.0)]]
    criteria: list[Literal["width", "depth"]]
    # Every point's recovery: keys of prune.recovery (and structured.recovery), dotted below it, with the value
    # every point takes: the same budget for every method, so that they compare.
    recovery: dict[str, int | float | str] = {}
    longer: LongerRecovery | None = None

    def point_recovery(self, structured: bool, level: float) -> dict[str, int | float | str]:
        """The recovery overrides of a point: unstructured at sparsity ``level``, or structured keeping ``level``
        of the encoder's FLOPs."""
        longer = self.longer and (level <= (self.longer.to_flops_target or 0) if structured
                                  else level >= self.longer.from_sparsity)
        return self.recovery | (self.longer.recovery if longer else {})


class EvaluateSpec(Spec):
    batch_size: PositiveInt = 32


class BenchmarkSpec(Spec):
    rounds: PositiveInt = 12
    passes: PositiveInt = 3
    batch1_sentences: PositiveInt = 16
    batch_size: PositiveInt = 32
    lengths: list[PositiveInt] = [16, 32, 64, 128]
    length_rounds: PositiveInt = 6
    # Models whose artifacts are also timed at fixed lengths. The pruned model's graphs are the baseline's
    # with zeros in its kernels, so its curve would repeat the baseline's; its batch-1 and batch-32
    # ratios against the baseline are measured either way.
    length_sweep: list[Literal["baseline", "pruned", "structured"]] = ["baseline", "structured"]
    threads: PositiveInt | None = None
    aa_max_halfwidth: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05


class DeploySpec(Spec):
    variants: list[Literal["fp32", "int8", "fp16"]] = ["fp32", "int8"]
    max_accuracy_drop: Annotated[float, Field(ge=0.0)] = 1.0  # points
    # The report recommends the fastest artifact whose selection-set accuracy is within this of the baseline's.
    recommend_within_points: Annotated[float, Field(ge=0.0)] = 1.5


class ReportSpec(Spec):
    # `make quick` sets it: the report then opens by saying it is a quick look at a small slice.
    quick_look: bool = False


class Params(Spec):
    seed: Annotated[int, Field(ge=0)]
    data: DataSpec
    model: ModelSpec
    train: TrainSpec
    prune: PruneSpec
    structured: StructuredSpec
    sweep: SweepSpec
    frontier: FrontierSpec | None = None
    evaluate: EvaluateSpec = EvaluateSpec()
    benchmark: BenchmarkSpec = BenchmarkSpec()
    deploy: DeploySpec = DeploySpec()
    report: ReportSpec = ReportSpec()

    @model_validator(mode="after")
    def _frontier_recovery_is_a_recovery(self):
        if self.frontier is None:
            return self
        longer = self.frontier.recovery | (self.frontier.longer.recovery if self.frontier.longer else {})
        for key, section, recovery, overrides in (
                ("recovery", "prune", self.prune.recovery, self.frontier.recovery),
                ("recovery", "structured", self.structured.recovery, self.frontier.recovery),
                ("longer.recovery", "prune", self.prune.recovery, longer),
                ("longer.recovery", "structured", self.structured.recovery, longer)):
            try:
                with_overrides(recovery, overrides)
            except ValidationError as err:
                error = err.errors()[0]
                raise ValueError(f"frontier.{key} does not make {section}.recovery a recovery: "
                                 f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}") from None
        return self

    @model_validator(mode="after")
    def _buckets_end_at_max_length(self):
        lengths = self.train.bucket_lengths
        if not lengths or lengths != sorted(set(lengths)) or lengths[0] < 2 or lengths[-1] != self.model.max_length:
            raise ValueError(
                f"train.bucket_lengths {lengths} must be increasing lengths >= 2 ending at model.max_length "
                f"({self.model.max_length}), for example [16, 32, 64, {self.model.max_length}]")
        too_long = [n for n in self.benchmark.lengths if n > self.model.max_length]
        if too_long:
            raise ValueError(f"benchmark.lengths {too_long} exceed model.max_length ({self.model.max_length})")
        return self


def with_overrides(recipe: FineTuneSpec, overrides: dict) -> FineTuneSpec:
    """``recipe`` with each dotted key of ``overrides`` (``epochs``, ``distill.transfer_size``) set."""
    raw = recipe.model_dump()
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})  # an unknown section stays, for the schema to refuse by name
            if not isinstance(node, dict):
                raise ParamsError(f"frontier.recovery: {key} sets a key inside {part}, which is not a section")
        node[last] = value
    return FineTuneSpec.model_validate(raw)


def parse_n_m(text: str, key: str = "N:M pattern") -> tuple[int, int]:
    """``"2:4"`` -> (2, 4), with 0 < N < M."""
    try:
        n, m = (int(part) for part in str(text).split(":"))
    except ValueError:
        raise ParamsError(f"{key} {text!r} must look like '2:4'") from None
    if not 0 < n < m:
        raise ParamsError(f"{key} {n}:{m} needs 0 < N < M")
    return n, m


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate ``path``; any problem is one ``ParamsError`` line naming the key."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run the stage from the repository's root.") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path} is not valid YAML: {err}") from None
    return parse_params(raw, str(path))


def parse_params(raw, where: str = "params.yaml") -> Params:
    try:
        return Params.model_validate(raw if raw is not None else {})
    except ValidationError as err:
        errors = err.errors()
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ParamsError(f"{where}: {describe_error(errors[0], Params)}{more}") from None
    except ParamsError as err:
        raise ParamsError(f"{where}: {err}") from None
