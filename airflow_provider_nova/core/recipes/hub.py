"""Resolve Nova recipes from the SageMaker Public Hub, the way the service publishes them.

``DescribeHubContent`` on ``SageMakerPublicHub`` returns a model's document; its
``RecipeCollection`` lists every published recipe with its technique, LoRA or full rank, instance
types and, for SageMaker Training Jobs, the template, override-params document and image. Both
documents are fetched from S3 once per process and cached.

The hub publishes no SMTJ template for the LLM-judge, rubric LLM-judge and RFT evaluations; like the
public Nova SDK, this package bundles its own (``bundled/``, from the published recipes) and falls
back to them for the model generations that have one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.aws import aws_errors
from airflow_provider_nova.core.cache import RecipeCache
from airflow_provider_nova.core.enums import Model, Platform, TrainingMethod, Version
from airflow_provider_nova.core.errors import ConfigurationError, RecipeError
from airflow_provider_nova.core.recipes.overrides import OverrideParams
from airflow_provider_nova.core.recipes.render import parse_template
from airflow_provider_nova.core.s3 import read_object

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

PUBLIC_HUB = "SageMakerPublicHub"

# The hub's CustomizationTechnique for each training method (RFT is published as RLVR), upper case.
TECHNIQUES = {
    TrainingMethod.SFT_LORA: "SFT",
    TrainingMethod.SFT_FULLRANK: "SFT",
    TrainingMethod.RFT_LORA: "RLVR",
    TrainingMethod.RFT: "RLVR",
}
# The evaluation kind (core/evaluation.py TASKS) of each published EvaluationType, and the display
# name words the public Nova SDK selects evaluation recipes by, for entries without EvaluationType.
EVALUATION_TYPES = {
    "DeterministicTextBenchmark": "general_text_benchmark",
    "DeterministicMultiModalBenchmark": "general_multi_modal_benchmark",
    "DeterministicEvaluation": "bring_your_own_dataset",
}
EVALUATION_DISPLAY_NAMES = {
    "general text benchmark": "general_text_benchmark",
    "general multi-modal benchmark": "general_multi_modal_benchmark",
    "bring your own dataset": "bring_your_own_dataset",
}


@dataclass(frozen=True)
class RecipeEntry:
    """One entry of a hub document's ``RecipeCollection``."""

    name: str
    display_name: str
    type: str
    technique: str | None
    peft: str | None
    instance_count: int | None
    instance_types: tuple[str, ...]
    smtj_template_uri: str | None
    smtj_params_uri: str | None
    smtj_image_uri: str | None
    evaluation_kind: str | None = None
    versions: tuple[str, ...] = ()
    hyperpod_template_uri: str | None = None
    hyperpod_params_uri: str | None = None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> RecipeEntry:
        """Read an entry; tolerant where the live hub's spelling is not visible from outside AWS.

        The publisher's metadata writes ``InstanceTypes`` and lower-case technique and ``Peft``
        (``sft``, ``lora``); its hub-entry code and the public SDK use ``SupportedInstanceTypes``
        and upper case. Both spellings are read, techniques compared in upper case, and ``Peft``
        counts by presence (LoRA when set), as the public SDK does.
        """
        versions = raw.get("Versions", ())
        return cls(
            name=raw["Name"],
            display_name=raw.get("DisplayName", raw["Name"]),
            type=raw.get("Type", ""),
            technique=str(raw.get("CustomizationTechnique") or "").upper() or None,
            peft=raw.get("Peft") or None,
            instance_count=raw.get("InstanceCount"),
            instance_types=tuple(raw.get("SupportedInstanceTypes") or raw.get("InstanceTypes") or ()),
            smtj_template_uri=raw.get("SmtjRecipeTemplateS3Uri"),
            smtj_params_uri=raw.get("SmtjOverrideParamsS3Uri"),
            smtj_image_uri=raw.get("SmtjImageUri"),
            evaluation_kind=_evaluation_kind(raw),
            versions=(versions,) if isinstance(versions, str) else tuple(versions),
            hyperpod_template_uri=raw.get("HpEksPayloadTemplateS3Uri"),
            hyperpod_params_uri=raw.get("HpEksOverrideParamsS3Uri"),
            raw=raw,
        )

    @property
    def is_lora(self) -> bool:
        return bool(self.peft)

    def runs_on(self, platform: Platform) -> bool:
        if platform is Platform.SMTJ:
            return bool(self.smtj_template_uri and self.smtj_params_uri and self.smtj_image_uri)
        return bool(self.hyperpod_template_uri and self.hyperpod_params_uri)

    def is_training_for(self, method: TrainingMethod) -> bool:
        if self.type != "FineTuning" or self.technique != TECHNIQUES.get(method):
            return False
        return self.is_lora == method.is_lora

    def same_kind(self, other: RecipeEntry) -> bool:
        """Whether ``other`` is the same recipe kind (type, technique, LoRA, evaluation kind), on any platform."""
        mine = (self.type, self.technique, self.is_lora, self.evaluation_kind)
        return mine == (other.type, other.technique, other.is_lora, other.evaluation_kind)


def _evaluation_kind(raw: dict[str, Any]) -> str | None:
    """The evaluation kind of an entry: its published ``EvaluationType``, else its display name."""
    if raw.get("Type") != "Evaluation":
        return None
    if raw.get("EvaluationType") in EVALUATION_TYPES:
        return EVALUATION_TYPES[raw["EvaluationType"]]
    display = str(raw.get("DisplayName", "")).lower()
    return next((kind for words, kind in EVALUATION_DISPLAY_NAMES.items() if words in display), None)


@dataclass(frozen=True)
class RecipeTemplate:
    """A recipe's template text, its parsed tree (parsed from the text when not given) and its override parameters."""

    entry: RecipeEntry
    text: str
    params: OverrideParams
    tree: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    image_uri: str | None = None  # HyperPod: the training image named in the payload template
    init_image_uri: str | None = None  # HyperPod: the init container's image

    def __post_init__(self) -> None:
        if not self.tree:
            object.__setattr__(self, "tree", parse_template(self.text))

    @classmethod
    def load(cls, entry: RecipeEntry, text: str, params: dict[str, Any]) -> RecipeTemplate:
        return cls(entry=entry, text=text, params=OverrideParams.from_json(params))


BUNDLED_SCHEME = "bundled://"
# Evaluation kinds the hub has no SMTJ template for, per model generation: (file stem in bundled/,
# image tag, instance types). Files, tags and instance types as in the public Nova SDK.
BUNDLED_EVALUATIONS: dict[tuple[str, Version], tuple[str, str, tuple[str, ...]]] = {
    ("llm_judge", Version.ONE): ("llm_judge_one", "SM-TJ-Eval-latest", ("ml.p5.48xlarge",)),
    ("rft", Version.ONE): ("rft_eval_one", "SM-TJ-Eval-latest", ("ml.p5.48xlarge",)),
    ("rft", Version.TWO): ("rft_eval_two", "SM-TJ-Eval-V2-latest", ("ml.p5.48xlarge",)),
    ("rubric_llm_judge", Version.TWO): ("rubric_llm_judge_two", "SM-TJ-Eval-V2-latest", ("ml.p5.48xlarge",)),
}
# The account that publishes the Nova evaluation images in each region.
EVALUATION_IMAGE_ACCOUNTS = {
    "us-east-1": "708977205387",
    "us-west-2": "176779409107",
    "ap-northeast-1": "878185805882",
}


def bundled_evaluation(model: Model, kind: str, region: str) -> RecipeEntry | None:
    """The bundled evaluation recipe of ``kind`` for ``model``'s generation, or None when there is none."""
    found = BUNDLED_EVALUATIONS.get((kind, model.version))
    if found is None:
        return None
    stem, tag, instance_types = found
    account = EVALUATION_IMAGE_ACCOUNTS.get(region)
    if account is None:
        raise RecipeError(
            f"the Nova evaluation image for {kind} is not published in {region}; "
            f"regions: {', '.join(EVALUATION_IMAGE_ACCOUNTS)}"
        )
    return RecipeEntry(
        name=f"bundled:{stem}",
        display_name=f"Nova {kind} evaluation (bundled {stem})",
        type="Evaluation",
        technique=None,
        peft=None,
        instance_count=1,
        instance_types=instance_types,
        smtj_template_uri=f"{BUNDLED_SCHEME}{stem}.yaml",
        smtj_params_uri=f"{BUNDLED_SCHEME}{stem}.json",
        smtj_image_uri=f"{account}.dkr.ecr.{region}.amazonaws.com/nova-evaluation-repo:{tag}",
        evaluation_kind=kind,
    )


def _read_bundled(uri: str) -> str:
    """The text of a ``bundled://<file>`` template or params document, from this package's data."""
    path = resources.files("airflow_provider_nova.core.recipes") / "bundled" / uri[len(BUNDLED_SCHEME) :]
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"bundled recipe file {uri} is missing from the package: {exc}") from exc


def _on_instance_type(candidates: list[RecipeEntry], instance_type: str, what: str) -> RecipeEntry:
    """The first candidate that runs on ``instance_type``; a RecipeError listing the types that do."""
    for entry in candidates:
        if instance_type in entry.instance_types:
            return entry
    allowed = sorted({t for e in candidates for t in e.instance_types})
    raise RecipeError(
        f"instance_type {instance_type!r} is not supported for {what}; supported instance types: {', '.join(allowed)}"
    )


class RecipeHub:
    """Finds the published recipe for a (model, method, platform, instance type).

    :param clients: the AWS clients to call the hub and S3 with.
    :param cache: where answers are kept (an hour); the clients' own cache by default.
    """

    def __init__(self, clients: AwsClients, cache: RecipeCache | None = None) -> None:
        self.clients = clients
        self.cache = cache if cache is not None else clients.recipe_cache

    def _key(self, service: str, *parts: str) -> tuple[str, ...]:
        """The endpoint the ``service`` client really sends to, the region and the account, then ``parts``."""
        clients = self.clients
        return (clients.endpoint_of(service), clients.region_name, clients.account_id(), *parts)

    def recipes(self, model: Model) -> list[RecipeEntry]:
        """All recipes the hub publishes for ``model`` in this region."""
        entries: list[RecipeEntry] = self.cache.get_or_load(
            self._key("sagemaker", "doc", model.hub_content_name), lambda: self._describe(model)
        )
        return entries

    def _describe(self, model: Model) -> list[RecipeEntry]:
        with aws_errors("DescribeHubContent"):
            answer = self.clients.sagemaker.describe_hub_content(
                HubName=PUBLIC_HUB, HubContentType="Model", HubContentName=model.hub_content_name
            )
        document = json.loads(answer["HubContentDocument"])
        return [RecipeEntry.from_document(raw) for raw in document.get("RecipeCollection", [])]

    def select_training(
        self, model: Model, method: TrainingMethod, platform: Platform, instance_type: str
    ) -> RecipeEntry:
        """The training recipe for these choices; RecipeError that lists what exists otherwise."""
        if method not in TECHNIQUES:
            raise RecipeError(
                f"{method.name} is not a training method; use one of {', '.join(m.name for m in TECHNIQUES)}"
            )
        candidates = [e for e in self.recipes(model) if e.is_training_for(method) and e.runs_on(platform)]
        if not candidates:
            raise RecipeError(
                f"no published {platform.value} recipe for {model.name} with {method.name} in "
                f"{self.clients.region_name}; the hub offers: {self._offered(model, platform)}"
            )
        return _on_instance_type(candidates, instance_type, f"{model.name} {method.name} on {platform.value}")

    def select_evaluation(self, model: Model, kind: str, platform: Platform, instance_type: str) -> RecipeEntry:
        """The evaluation recipe of ``kind`` for ``model``; RecipeError that lists what exists otherwise."""
        candidates = [
            e
            for e in self.recipes(model)
            if e.type == "Evaluation" and e.evaluation_kind == kind and e.runs_on(platform)
        ]
        if not candidates and platform is Platform.SMTJ:
            bundled = bundled_evaluation(model, kind, self.clients.region_name)
            candidates = [bundled] if bundled else []
        if not candidates:
            offered = sorted(
                {str(e.evaluation_kind) for e in self.recipes(model) if e.type == "Evaluation" and e.runs_on(platform)}
            )
            extra = sorted(k for k, v in BUNDLED_EVALUATIONS if v is model.version and k not in offered)
            also = f"; bundled: {', '.join(extra)}" if extra and platform is Platform.SMTJ else ""
            raise RecipeError(
                f"no published {platform.value} {kind} evaluation recipe for {model.name} in "
                f"{self.clients.region_name}; the hub offers: {', '.join(offered) or 'none'}{also}"
            )
        return _on_instance_type(candidates, instance_type, f"{model.name} {kind} evaluation on {platform.value}")

    def _offered(self, model: Model, platform: Platform) -> str:
        methods = [
            m.name for m in TECHNIQUES if any(e.is_training_for(m) and e.runs_on(platform) for e in self.recipes(model))
        ]
        return ", ".join(methods) or "no training recipes"

    def template(self, entry: RecipeEntry, platform: Platform = Platform.SMTJ) -> RecipeTemplate:
        """The template and override params of ``entry`` on ``platform`` (HyperPod: also its images)."""
        if platform is Platform.SMHP:
            return self._hyperpod_template(entry)
        if not (entry.smtj_template_uri and entry.smtj_params_uri):
            raise RecipeError(f"recipe {entry.name} has no SageMaker Training Jobs template")
        template_uri, params_uri = entry.smtj_template_uri, entry.smtj_params_uri

        def load() -> RecipeTemplate:
            if template_uri.startswith(BUNDLED_SCHEME) and params_uri.startswith(BUNDLED_SCHEME):
                return RecipeTemplate.load(entry, _read_bundled(template_uri), json.loads(_read_bundled(params_uri)))
            with aws_errors("GetObject"):
                text = read_object(self.clients.s3, template_uri).decode("utf-8")
                params = json.loads(read_object(self.clients.s3, params_uri))
            return RecipeTemplate.load(entry, text, params)

        template: RecipeTemplate = self.cache.get_or_load(self._key("s3", "template", template_uri, params_uri), load)
        return template

    def _hyperpod_template(self, entry: RecipeEntry) -> RecipeTemplate:
        """The recipe template and images read from ``entry``'s HyperPod payload template."""
        from airflow_provider_nova.core.hyperpod.payload import parse_payload

        uri = entry.hyperpod_template_uri
        if not uri:
            raise RecipeError(f"recipe {entry.name} has no HyperPod payload template")

        def load() -> RecipeTemplate:
            with aws_errors("GetObject"):
                payload = parse_payload(read_object(self.clients.s3, uri).decode("utf-8"), uri)
            params = self.hyperpod_params(entry)
            return RecipeTemplate(
                entry,
                payload.recipe_template,
                params,
                image_uri=payload.image_uri,
                init_image_uri=payload.init_image_uri,
            )

        template: RecipeTemplate = self.cache.get_or_load(self._key("s3", "hyperpod-template", uri), load)
        return template

    def hyperpod_params(self, entry: RecipeEntry) -> OverrideParams:
        """The override parameters of ``entry`` on HyperPod."""
        uri = entry.hyperpod_params_uri
        if not uri:
            raise RecipeError(f"recipe {entry.name} has no HyperPod override parameters")

        def load() -> OverrideParams:
            with aws_errors("GetObject"):
                return OverrideParams.from_json(json.loads(read_object(self.clients.s3, uri)))

        params: OverrideParams = self.cache.get_or_load(self._key("s3", "hyperpod-params", uri), load)
        return params

    def allowed_replicas(self, model: Model, entry: RecipeEntry, instance_type: str) -> tuple[int, ...] | None:
        """The instance counts published for ``entry`` on ``instance_type``; None when none are published.

        SMTJ templates hold ``run.replicas`` as a literal, so, like the public Nova SDK, the counts
        come from the ``replicas`` enum of the HyperPod recipe of the same kind that runs on the
        instance type (often the same hub entry). Evaluation runs on one instance.
        """
        if entry.type == "Evaluation":
            return (1,)
        for sibling in self.recipes(model):
            if sibling.same_kind(entry) and sibling.runs_on(Platform.SMHP) and instance_type in sibling.instance_types:
                params = self.hyperpod_params(sibling)
                enum = params["replicas"].enum if "replicas" in params else None
                return tuple(int(c) for c in enum) if enum else None
        return None

    def check_replicas(
        self, model: Model, entry: RecipeEntry, instance_type: str, count: int, label: str | None = None
    ) -> None:
        """ConfigurationError naming the allowed counts, and where ``count`` is allowed, when it is not.

        :param label: what runs, for the message (``NOVA_MICRO SFT_LORA``); the model's name by default.
        """
        allowed = self.allowed_replicas(model, entry, instance_type)
        if allowed is None or count in allowed:
            return
        elsewhere: list[str] = []
        for other in self.recipes(model):
            if other.same_kind(entry) and other.runs_on(Platform.SMTJ):
                for kind in other.instance_types:
                    counts = self.allowed_replicas(model, other, kind)
                    if kind not in elsewhere and (counts is None or count in counts):
                        elsewhere.append(kind)
        hint = f"; {count} instance(s) are allowed on {', '.join(elsewhere)}" if elsewhere else ""
        raise ConfigurationError(
            f"instance_count {count} is not allowed for {label or model.name} on {instance_type} (recipe {entry.name}); "
            f"allowed counts: {', '.join(str(c) for c in allowed)}{hint}"
        )
