"""Model and rate-limit-tier catalog: shipped data, merged with ``GET /v1/models``.

The shipped ``resources/models.json`` always works offline. When a key is set the
app may refresh from the service; the answer is merged over the shipped data and
cached on disk, but the catalog never depends on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from desktop_app.core.errors import CatalogError
from desktop_app.core.resources import resource_path

CATALOG_FILE = "models.json"
CACHE_FILE = "models-cache.json"
CUSTOM_TIER_ID = "custom"
FAMILIES = ("opus", "sonnet", "haiku")


MANY_IMAGES_THRESHOLD = 20
"""Above this many images in one request, every side must fit :data:`MANY_IMAGES_MAX_SIDE`."""
MANY_IMAGES_MAX_SIDE = 2000


@dataclasses.dataclass(frozen=True)
class ImageLimits:
    """What one model accepts for an image before the service would downscale it.

    Attributes:
        max_megapixels: Largest area, in millions of pixels.
        max_long_edge: Largest long side in pixels, or None when only the area counts.
    """

    max_megapixels: float
    max_long_edge: int | None = None

    @property
    def max_pixels(self) -> int:
        """The area limit in pixels."""
        return int(self.max_megapixels * 1_000_000)


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """One model's limits.

    Attributes:
        id: The model id sent to the API.
        display_name: A name for people.
        family: ``opus``, ``sonnet``, ``haiku`` or ``unknown``; rate limits are per family.
        context_window: Input tokens the model accepts.
        max_output: The output ceiling without any beta header.
        extended_max_output: The ceiling with ``extended_output_beta`` sent, if any.
        extended_output_beta: The ``anthropic-beta`` value that unlocks it.
        image: Image limits.
        known: False when the catalog had to guess conservative limits.
    """

    id: str
    display_name: str
    family: str
    context_window: int
    max_output: int
    image: ImageLimits
    extended_max_output: int | None = None
    extended_output_beta: str | None = None
    known: bool = True

    @property
    def output_ceiling(self) -> int:
        """The largest ``max_tokens`` this model takes with any header we can send."""
        return max(self.max_output, self.extended_max_output or 0)

    def clamp_max_tokens(self, requested: int) -> int:
        """Clamp a requested ``max_tokens`` into ``1..output_ceiling``."""
        return max(1, min(requested, self.output_ceiling))

    def beta_for(self, max_tokens: int) -> str | None:
        """Return the beta header a request with ``max_tokens`` needs, if any."""
        if max_tokens > self.max_output and self.extended_output_beta is not None:
            return self.extended_output_beta
        return None


@dataclasses.dataclass(frozen=True)
class Tier:
    """A rate-limit tier: requests per minute for each model family."""

    id: str
    name: str
    rpm: Mapping[str, int]

    def rpm_for(self, family: str) -> int:
        """Requests per minute for ``family``; the strictest figure when it is unknown."""
        if family in self.rpm:
            return self.rpm[family]
        return min(self.rpm.values()) if self.rpm else 1


def custom_tier(rpm: Mapping[str, int]) -> Tier:
    """Build the user's own tier from the figures they typed."""
    return Tier(CUSTOM_TIER_ID, "Custom", {k: max(1, int(v)) for k, v in rpm.items()})


def _family_of(model_id: str, line: str | None = None) -> str:
    for family in FAMILIES:
        if family in model_id:
            return family
    if line in FAMILIES:
        return line
    return "unknown"


def _model_from_json(entry: Mapping[str, Any]) -> ModelInfo:
    extended = entry.get("extended_output") or {}
    return ModelInfo(
        id=str(entry["id"]),
        display_name=str(entry.get("display_name") or entry["id"]),
        family=str(entry.get("family") or _family_of(str(entry["id"]))),
        context_window=int(entry["context_window"]),
        max_output=int(entry["max_output"]),
        extended_max_output=int(extended["max_output"]) if extended else None,
        extended_output_beta=str(extended["beta"]) if extended else None,
        image=ImageLimits(
            float(entry["image_max_megapixels"]),
            None
            if entry.get("image_max_long_edge") is None
            else int(entry["image_max_long_edge"]),
        ),
        known=bool(entry.get("known", True)),
    )


def _model_to_json(model: ModelInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": model.id,
        "display_name": model.display_name,
        "family": model.family,
        "context_window": model.context_window,
        "max_output": model.max_output,
        "image_max_megapixels": model.image.max_megapixels,
        "image_max_long_edge": model.image.max_long_edge,
        "known": model.known,
    }
    if model.extended_max_output is not None:
        entry["extended_output"] = {
            "max_output": model.extended_max_output,
            "beta": model.extended_output_beta,
        }
    return entry


class Catalog:
    """The models and tiers Iris knows, with conservative defaults for the rest."""

    def __init__(
        self,
        models: Iterable[ModelInfo],
        tiers: Iterable[Tier],
        *,
        unknown: Mapping[str, Any],
        default_model: str,
        default_tier: str,
    ) -> None:
        """Build a catalog from parsed data; use :meth:`load` for the shipped file."""
        self._models = {m.id: m for m in models}
        self._tiers = {t.id: t for t in tiers}
        self._unknown = dict(unknown)
        self.default_model = default_model
        self.default_tier = default_tier

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Catalog:
        """Parse the ``models.json`` structure."""
        try:
            return cls(
                (_model_from_json(m) for m in data["models"]),
                (Tier(str(t["id"]), str(t["name"]), dict(t["rpm"])) for t in data["tiers"]),
                unknown=data["unknown_model"],
                default_model=str(data["default_model"]),
                default_tier=str(data["default_tier"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"the model catalog is malformed: {exc}") from exc

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> Catalog:
        """Load the shipped catalog, then overlay the cached remote models if present."""
        with resource_path(CATALOG_FILE).open("rb") as fh:
            catalog = cls.from_json(json.load(fh))
        if cache_dir is not None:
            catalog._load_cache(cache_dir / CACHE_FILE)
        return catalog

    # -- lookups ---------------------------------------------------------------------------

    @property
    def models(self) -> list[ModelInfo]:
        """Every known model, shipped ones first."""
        return list(self._models.values())

    @property
    def tiers(self) -> list[Tier]:
        """The fixed tiers (Custom is built by :func:`custom_tier`)."""
        return list(self._tiers.values())

    def tier(self, tier_id: str) -> Tier:
        """Return a tier by id; an unknown id falls back to the default tier."""
        return self._tiers.get(tier_id) or self._tiers[self.default_tier]

    def get(self, model_id: str) -> ModelInfo:
        """Return a model; an id the catalog does not know gets conservative limits."""
        model = self._models.get(model_id)
        if model is not None:
            return model
        return ModelInfo(
            id=model_id,
            display_name=model_id,
            family=_family_of(model_id),
            context_window=int(self._unknown["context_window"]),
            max_output=int(self._unknown["max_output"]),
            image=ImageLimits(
                float(self._unknown["image_max_megapixels"]),
                int(self._unknown["image_max_long_edge"]),
            ),
            known=False,
        )

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    # -- remote refresh --------------------------------------------------------------------

    def merge_remote(self, entries: Iterable[Mapping[str, Any]]) -> list[str]:
        """Merge ``GET /v1/models`` entries; return the ids that were added.

        The service's ``max_input_tokens`` and ``max_tokens`` are authoritative for
        the account, so they replace the shipped figures. Image limits are never
        loosened from the remote answer, which does not carry them.
        """
        added: list[str] = []
        for entry in entries:
            model_id = entry.get("id")
            if not isinstance(model_id, str) or not model_id:
                continue
            if entry.get("lifecycle") == "retired":
                continue
            current = self.get(model_id)
            context = entry.get("max_input_tokens")
            max_tokens = entry.get("max_tokens")
            line = entry.get("line")
            merged = dataclasses.replace(
                current,
                display_name=str(entry.get("display_name") or current.display_name),
                family=current.family
                if current.family != "unknown"
                else _family_of(model_id, line if isinstance(line, str) else None),
                context_window=context
                if isinstance(context, int) and context > 0
                else current.context_window,
                max_output=max_tokens
                if isinstance(max_tokens, int) and max_tokens > 0
                else current.max_output,
                known=True,
            )
            if model_id not in self._models:
                added.append(model_id)
            self._models[model_id] = merged
        return added

    def save_cache(self, cache_dir: Path) -> None:
        """Write the merged models to the cache, atomically."""
        cache_dir.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"schema_version": 1, "models": [_model_to_json(m) for m in self._models.values()]},
            indent=1,
        )
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".models-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, cache_dir / CACHE_FILE)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _load_cache(self, path: Path) -> None:
        # A damaged or foreign cache is ignored: the shipped data always works.
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            models = [_model_from_json(m) for m in data["models"]]
        except (OSError, ValueError, KeyError, TypeError):
            return
        for model in models:
            self._models[model.id] = model


def _tokens(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}K"
    return f"{n:,}"


def _megapixels(mp: float) -> str:
    text = f"{mp:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def model_summary(model: ModelInfo) -> str:
    """One line on a model's limits, e.g. ``200K context · 8,192 max output · ...``."""
    output = f"{model.max_output:,} max output"
    if model.extended_max_output is not None and model.extended_max_output > model.max_output:
        output += f" ({model.extended_max_output:,} with extended output)"
    image = f"images up to {_megapixels(model.image.max_megapixels)} MP"
    if model.image.max_long_edge is not None:
        image += f" and {model.image.max_long_edge:,} px on the long side"
    parts = [f"{_tokens(model.context_window)} context", output, image]
    if not model.known:
        parts.append("limits guessed: not in the catalog")
    return " · ".join(parts)
