"""The model and tier catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.core.catalog import Catalog, custom_tier
from desktop_app.core.errors import CatalogError


def test_seed_models_and_limits() -> None:
    catalog = Catalog.load()
    expected = {
        "claude-opus-4-7": (3.75, None, "opus"),
        "claude-sonnet-4-6": (3.0, None, "sonnet"),
        "claude-haiku-4-5": (2.0, None, "haiku"),
        "claude-sonnet-3-7": (1.15, 1568, "sonnet"),
    }
    for model_id, (mp, edge, family) in expected.items():
        model = catalog.get(model_id)
        assert model.known
        assert (model.image.max_megapixels, model.image.max_long_edge, model.family) == (
            mp,
            edge,
            family,
        )
        assert model.context_window == 200_000
        assert model.max_output == 8192
    sonnet = catalog.get("claude-sonnet-4-6")
    assert sonnet.output_ceiling == 64_000
    assert sonnet.beta_for(8192) is None
    assert sonnet.beta_for(8193) == "output-128k-2025-02-19"
    assert catalog.get("claude-haiku-4-5").beta_for(100_000) is None


def test_unknown_model_is_conservative() -> None:
    model = Catalog.load().get("claude-nova-1")
    assert not model.known
    assert (model.image.max_megapixels, model.image.max_long_edge, model.max_output) == (
        1.15,
        1568,
        8192,
    )


def test_tiers() -> None:
    catalog = Catalog.load()
    assert [t.name for t in catalog.tiers] == ["Tier 1", "Tier 2", "Tier 3", "Tier 4"]
    assert catalog.tier("tier-3").rpm == {"opus": 80, "sonnet": 200, "haiku": 400}
    assert catalog.tier("nonsense").id == catalog.default_tier
    custom = custom_tier({"opus": 7, "sonnet": 0})
    assert custom.rpm_for("opus") == 7
    assert custom.rpm_for("sonnet") == 1


def test_remote_merge_adds_models_updates_figures_and_caches(tmp_path: Path) -> None:
    catalog = Catalog.load()
    added = catalog.merge_remote(
        [
            {"id": "claude-haiku-4-5", "display_name": "Haiku 4.5", "max_tokens": 64000},
            {
                "id": "claude-opus-5-5",
                "display_name": "Opus 5.5",
                "line": "opus",
                "max_input_tokens": 1_000_000,
                "max_tokens": 128_000,
            },
            {"id": "claude-old", "lifecycle": "retired"},
            {"display_name": "no id"},
        ]
    )
    assert added == ["claude-opus-5-5"]
    haiku = catalog.get("claude-haiku-4-5")
    assert (haiku.display_name, haiku.max_output, haiku.image.max_megapixels) == (
        "Haiku 4.5",
        64000,
        2.0,
    )
    new = catalog.get("claude-opus-5-5")
    assert new.known
    assert new.family == "opus"
    assert new.context_window == 1_000_000
    # Image limits are never loosened by the remote answer.
    assert new.image.max_megapixels == 1.15
    assert "claude-old" not in catalog

    catalog.save_cache(tmp_path)
    reloaded = Catalog.load(tmp_path)
    assert reloaded.get("claude-opus-5-5") == new
    assert reloaded.get("claude-haiku-4-5").max_output == 64000


def test_damaged_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "models-cache.json").write_text("{not json", encoding="utf-8")
    assert Catalog.load(tmp_path).get("claude-opus-4-7").known
    (tmp_path / "models-cache.json").write_text(json.dumps({"models": [{"id": 1}]}))
    assert Catalog.load(tmp_path).get("claude-opus-4-7").known


def test_malformed_catalog_data_raises_catalog_error() -> None:
    with pytest.raises(CatalogError, match="malformed"):
        Catalog.from_json({"models": [{"id": "x"}]})
