"""Settings › Models and rate limits: the default model, its limits, the tier and its figures."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QGroupBox, QSpinBox, QWidget

from desktop_app.core.api.ratelimit import RateLimitSnapshot, rate_limit_summary
from desktop_app.core.catalog import (
    CUSTOM_TIER_ID,
    FAMILIES,
    Catalog,
    ModelInfo,
    custom_tier,
    model_summary,
)
from desktop_app.core.settings import MAX_CUSTOM_RPM
from desktop_app.ui.settings.form import (
    SettingsPage,
    buddy_label,
    form_for,
    info_label,
    named,
)
from desktop_app.ui.settings.settings_store import SettingsStore


def fill_models(selector: QComboBox, catalog: Catalog) -> None:
    """List the catalog's models in ``selector``: their names, with their ids as data."""
    selector.clear()
    for model in catalog.models:
        selector.addItem(model.display_name, model.id)


def select_model(selector: QComboBox, model: ModelInfo) -> None:
    """Select ``model``; one the catalog does not list (typed into a file) is added."""
    index = selector.findData(model.id)
    if index < 0:
        selector.addItem(model.display_name, model.id)
        index = selector.count() - 1
    selector.setCurrentIndex(index)


class ModelPage(SettingsPage):
    """The model new conversations use, its limits, the rate-limit tier and the latest figures."""

    def __init__(
        self, store: SettingsStore, catalog: Catalog, parent: QWidget | None = None
    ) -> None:
        """Build the page on ``store`` and ``catalog``."""
        super().__init__("modelsPage", "Models and rate limits", parent)
        self._store = store
        self._catalog = catalog
        self.column.addWidget(self._build_model_group())
        self.column.addWidget(self._build_tier_group())
        self.finish()
        self._sync_model()
        self.show_rate_limits(None)
        self.model_selector.currentIndexChanged.connect(self._on_model_selected)
        self.tier_selector.currentIndexChanged.connect(self._on_tier_selected)
        for spin in self.custom_rpm_spins.values():
            spin.valueChanged.connect(self._on_custom_rpm_changed)
        store.changed.connect(self._on_store_changed)

    @property
    def tab_order(self) -> list[QWidget]:
        """The page's controls, top to bottom."""
        return [self.model_selector, self.tier_selector, *self.custom_rpm_spins.values()]

    def _build_model_group(self) -> QGroupBox:
        group = QGroupBox("Model", self.content)
        form = form_for(group)
        self.model_selector = QComboBox(group)
        named(self.model_selector, "modelSelector", "Model")
        fill_models(self.model_selector, self._catalog)
        form.addRow(buddy_label("&Model", self.model_selector, group), self.model_selector)
        self.model_info_label = info_label("modelInfoLabel", "Model limits", group)
        form.addRow(self.model_info_label)
        return group

    def _build_tier_group(self) -> QGroupBox:
        group = QGroupBox("Rate limits", self.content)
        form = form_for(group)
        self.tier_selector = QComboBox(group)
        named(self.tier_selector, "tierSelector", "Rate-limit tier")
        for tier in self._catalog.tiers:
            self.tier_selector.addItem(tier.name, tier.id)
        self.tier_selector.addItem("Custom", CUSTOM_TIER_ID)
        form.addRow(buddy_label("T&ier", self.tier_selector, group), self.tier_selector)

        self.custom_rpm_box = QWidget(group)
        self.custom_rpm_box.setObjectName("customRpmBox")
        custom_form = form_for(self.custom_rpm_box)
        custom_form.setContentsMargins(0, 0, 0, 0)
        self.custom_rpm_spins: dict[str, QSpinBox] = {}
        for family in FAMILIES:
            spin = QSpinBox(self.custom_rpm_box)
            title = family.capitalize()
            named(spin, f"customRpm{title}", f"{title} requests per minute")
            spin.setRange(1, MAX_CUSTOM_RPM)
            spin.setSuffix(" RPM")
            custom_form.addRow(buddy_label(f"{title}", spin, self.custom_rpm_box), spin)
            self.custom_rpm_spins[family] = spin
        form.addRow(self.custom_rpm_box)

        self.tier_rpm_label = info_label("tierRpmLabel", "Tier requests per minute", group)
        form.addRow(self.tier_rpm_label)
        self.rate_limit_label = info_label("rateLimitLabel", "Rate limits from the service", group)
        form.addRow("Latest from the service:", self.rate_limit_label)
        return group

    # -- public ------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """List the catalog's models again (after it was refreshed from the service)."""
        with QSignalBlocker(self.model_selector):
            fill_models(self.model_selector, self._catalog)
        self._sync_model()

    def show_rate_limits(self, snapshot: RateLimitSnapshot | None) -> None:
        """Show the service's latest remaining/limit figures (None: no response yet)."""
        self.rate_limit_label.setText(rate_limit_summary(snapshot))

    # -- widgets -> store --------------------------------------------------------------------

    def _on_model_selected(self, index: int) -> None:
        model_id = self.model_selector.itemData(index)
        if not isinstance(model_id, str):
            return
        model = self._catalog.get(model_id)
        # One update, so the model and its clamped max_tokens are saved together.
        self._store.update(
            model=model_id, max_tokens=model.clamp_max_tokens(self._store.settings.max_tokens)
        )

    def _on_tier_selected(self, index: int) -> None:
        tier_id = self.tier_selector.itemData(index)
        if isinstance(tier_id, str):
            self._store.update(tier=tier_id)

    def _on_custom_rpm_changed(self) -> None:
        self._store.update(
            custom_rpm={family: spin.value() for family, spin in self.custom_rpm_spins.items()}
        )

    # -- store -> widgets --------------------------------------------------------------------

    def _on_store_changed(self, name: str) -> None:
        if name == "model":
            self._sync_model()
        elif name in ("tier", "custom_rpm"):
            self._sync_tier()

    def _current_model(self) -> ModelInfo:
        return self._catalog.get(self._store.settings.model)

    def _sync_model(self) -> None:
        model = self._current_model()
        with QSignalBlocker(self.model_selector):
            select_model(self.model_selector, model)
        self.model_info_label.setText(model_summary(model))
        self._sync_tier()

    def _sync_tier(self) -> None:
        settings = self._store.settings
        is_custom = settings.tier == CUSTOM_TIER_ID
        tier = (
            custom_tier(settings.custom_rpm_map)
            if is_custom
            else self._catalog.tier(settings.tier)
        )
        with QSignalBlocker(self.tier_selector):
            self.tier_selector.setCurrentIndex(self.tier_selector.findData(tier.id))
        for family, spin in self.custom_rpm_spins.items():
            with QSignalBlocker(spin):
                spin.setValue(settings.custom_rpm_map.get(family, spin.minimum()))
        self.custom_rpm_box.setVisible(is_custom)
        model = self._current_model()
        rpm = tier.rpm_for(model.family)
        family = model.family.capitalize() if model.family in FAMILIES else "this model"
        text = f"{rpm:,} requests per minute for {family}"
        if model.family not in FAMILIES:
            text += " (the tier's strictest figure, as its family is unknown)"
        self.tier_rpm_label.setText(text)
