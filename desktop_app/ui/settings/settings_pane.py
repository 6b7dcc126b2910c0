"""The settings pane: model, tier, request options, connection and API key.

Every control writes straight to the :class:`SettingsStore` (there is no Apply
button), and every store change is written back into the controls with their
signals blocked, so a change never echoes back. How stop sequences are typed is
described in :mod:`desktop_app.core.settings`.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.api.ratelimit import RateLimitSnapshot, rate_limit_summary
from desktop_app.core.catalog import (
    CUSTOM_TIER_ID,
    FAMILIES,
    Catalog,
    ModelInfo,
    custom_tier,
    model_summary,
)
from desktop_app.core.settings import (
    MAX_CUSTOM_RPM,
    MAX_STALL_TIMEOUT,
    MIN_STALL_TIMEOUT,
    Settings,
    base_url_problem,
    format_stop_sequences,
    parse_stop_sequences,
)
from desktop_app.core.wire.request import base_url_from_env
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.api_key_section import ApiKeySection
from desktop_app.ui.settings.form import buddy_label, info_label, named
from desktop_app.ui.settings.settings_store import SettingsStore


class SettingsPane(QWidget):
    """All settings in one scrollable column; changes apply at once.

    The controls are public attributes (``model_selector``, ``tier_selector``,
    ``max_tokens_spin``, ...) and carry stable object names (``modelSelector``,
    ``tierSelector``, ``maxTokensSpin``, ...) for tests and accessibility tools.
    """

    def __init__(
        self,
        store: SettingsStore,
        catalog: Catalog,
        key_state: ApiKeyState,
        parent: QWidget | None = None,
    ) -> None:
        """Build the controls, fill them from ``store`` and ``key_state``, and connect them."""
        super().__init__(parent)
        self.setObjectName("settingsPane")
        self.setAccessibleName("Settings")
        self._store = store
        self._catalog = catalog
        self._key_state = key_state

        scroll = QScrollArea(self)
        scroll.setObjectName("settingsScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # The scroll area itself needs no Tab stop: the controls inside have them.
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        content = QWidget(scroll)
        column = QVBoxLayout(content)
        scroll.setWidget(content)

        column.addWidget(self._build_model_group(content))
        column.addWidget(self._build_request_group(content))
        column.addWidget(self._build_connection_group(content))
        self.key_section = ApiKeySection(key_state, content)
        column.addWidget(self.key_section)
        # The key's controls, as attributes of the pane like every other control.
        self.api_key_edit = self.key_section.api_key_edit
        self.save_key_button = self.key_section.save_key_button
        self.session_key_button = self.key_section.session_key_button
        self.forget_key_button = self.key_section.forget_key_button
        self.key_status_label = self.key_section.key_status_label
        column.addStretch(1)

        order: list[QWidget] = [
            self.model_selector,
            self.tier_selector,
            *self.custom_rpm_spins.values(),
            self.max_tokens_spin,
            self.temperature_check,
            self.temperature_spin,
            self.top_p_check,
            self.top_p_spin,
            self.stop_sequences_edit,
            self.system_prompt_edit,
            self.prompt_caching_check,
            self.base_url_edit,
            self.stall_timeout_spin,
            self.api_key_edit,
            self.save_key_button,
            self.session_key_button,
            self.forget_key_button,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

        self._sync_all()
        self.show_rate_limits(None)
        self._connect()

    # -- building ----------------------------------------------------------------------------

    def _build_model_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Model and rate limits", parent)
        form = QFormLayout(group)

        self.model_selector = QComboBox(group)
        named(self.model_selector, "modelSelector", "Model")
        for model in self._catalog.models:
            self.model_selector.addItem(model.display_name, model.id)
        form.addRow(buddy_label("&Model", self.model_selector, group), self.model_selector)
        self.model_info_label = info_label("modelInfoLabel", "Model limits", group)
        form.addRow(self.model_info_label)

        self.tier_selector = QComboBox(group)
        named(self.tier_selector, "tierSelector", "Rate-limit tier")
        for tier in self._catalog.tiers:
            self.tier_selector.addItem(tier.name, tier.id)
        self.tier_selector.addItem("Custom", CUSTOM_TIER_ID)
        form.addRow(buddy_label("T&ier", self.tier_selector, group), self.tier_selector)

        self.custom_rpm_box = QWidget(group)
        self.custom_rpm_box.setObjectName("customRpmBox")
        custom_form = QFormLayout(self.custom_rpm_box)
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
        form.addRow(self.rate_limit_label)
        return group

    def _build_request_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Requests", parent)
        form = QFormLayout(group)

        self.max_tokens_spin = QSpinBox(group)
        named(self.max_tokens_spin, "maxTokensSpin", "Maximum output tokens")
        self.max_tokens_spin.setGroupSeparatorShown(True)
        form.addRow(buddy_label("Max &tokens", self.max_tokens_spin, group), self.max_tokens_spin)

        self.temperature_check, self.temperature_spin = self._optional_number(
            group, form, "Te&mperature", "temperature", "Temperature"
        )
        self.top_p_check, self.top_p_spin = self._optional_number(
            group, form, "Top &P", "topP", "Top P"
        )

        self.stop_sequences_edit = QLineEdit(group)
        named(self.stop_sequences_edit, "stopSequencesEdit", "Stop sequences")
        self.stop_sequences_edit.setPlaceholderText("None (comma-separated)")
        self.stop_sequences_edit.setToolTip(
            "Comma-separated. Type \\, for a comma, \\n for a new line, "
            "\\s for a space at either end and \\\\ for a backslash."
        )
        form.addRow(
            buddy_label("&Stop sequences", self.stop_sequences_edit, group),
            self.stop_sequences_edit,
        )

        self.system_prompt_edit = QPlainTextEdit(group)
        named(self.system_prompt_edit, "systemPromptEdit", "System prompt")
        # Tab must move on to the next control, as everywhere else in the pane.
        self.system_prompt_edit.setTabChangesFocus(True)
        self.system_prompt_edit.setPlaceholderText("None")
        form.addRow(
            buddy_label("S&ystem prompt", self.system_prompt_edit, group), self.system_prompt_edit
        )

        self.prompt_caching_check = QCheckBox("Reuse the unchanged start of each request", group)
        named(self.prompt_caching_check, "promptCachingCheck", "Prompt caching")
        form.addRow(
            buddy_label("Prompt &caching", self.prompt_caching_check, group),
            self.prompt_caching_check,
        )
        return group

    def _optional_number(
        self, group: QGroupBox, form: QFormLayout, label: str, key: str, title: str
    ) -> tuple[QCheckBox, QDoubleSpinBox]:
        row = QWidget(group)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        check = QCheckBox("Set", row)
        named(check, f"{key}Check", f"Set {title.lower()}")
        spin = QDoubleSpinBox(row)
        named(spin, f"{key}Spin", title)
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(1.0)
        spin.setToolTip("Unset: not sent, so the model's default applies.")
        layout.addWidget(check)
        layout.addWidget(spin, 1)
        form.addRow(buddy_label(label, check, group), row)
        return check, spin

    def _build_connection_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Connection", parent)
        form = QFormLayout(group)
        self.base_url_edit = QLineEdit(group)
        named(self.base_url_edit, "baseUrlEdit", "Base URL")
        self.base_url_edit.setPlaceholderText(base_url_from_env(""))
        form.addRow(buddy_label("&Base URL", self.base_url_edit, group), self.base_url_edit)
        self.base_url_message = info_label("baseUrlMessage", "Base URL problem", group)
        self.base_url_message.hide()
        form.addRow(self.base_url_message)

        self.stall_timeout_spin = QSpinBox(group)
        named(
            self.stall_timeout_spin,
            "stallTimeoutSpin",
            "Seconds to wait for new content before a reply counts as stalled",
        )
        self.stall_timeout_spin.setRange(int(MIN_STALL_TIMEOUT), int(MAX_STALL_TIMEOUT))
        self.stall_timeout_spin.setSuffix(" s")
        self.stall_timeout_spin.setToolTip(
            "A reply that brings no new text for this long (only keep-alive traffic, "
            "or nothing) is ended; what arrived is kept."
        )
        form.addRow(
            buddy_label("Wait for &new content", self.stall_timeout_spin, group),
            self.stall_timeout_spin,
        )
        return group

    def _connect(self) -> None:
        self.model_selector.currentIndexChanged.connect(self._on_model_selected)
        self.tier_selector.currentIndexChanged.connect(self._on_tier_selected)
        for spin in self.custom_rpm_spins.values():
            spin.valueChanged.connect(self._on_custom_rpm_changed)
        self.max_tokens_spin.valueChanged.connect(self._on_max_tokens_changed)
        self.temperature_check.toggled.connect(self._on_temperature_changed)
        self.temperature_spin.valueChanged.connect(self._on_temperature_changed)
        self.top_p_check.toggled.connect(self._on_top_p_changed)
        self.top_p_spin.valueChanged.connect(self._on_top_p_changed)
        self.stop_sequences_edit.textEdited.connect(self._on_stop_sequences_edited)
        self.system_prompt_edit.textChanged.connect(self._on_system_prompt_changed)
        self.prompt_caching_check.toggled.connect(self._on_prompt_caching_toggled)
        self.base_url_edit.textEdited.connect(self._on_base_url_edited)
        self.stall_timeout_spin.valueChanged.connect(self._on_stall_timeout_changed)
        self._store.changed.connect(self._on_store_changed)

    # -- public ------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """List the catalog's models again (after it was refreshed from the service)."""
        with QSignalBlocker(self.model_selector):
            self.model_selector.clear()
            for model in self._catalog.models:
                self.model_selector.addItem(model.display_name, model.id)
        self._sync_model()

    def show_rate_limits(self, snapshot: RateLimitSnapshot | None) -> None:
        """Show the service's latest remaining/limit figures (None: no response yet)."""
        self.rate_limit_label.setText(rate_limit_summary(snapshot))

    # -- widgets -> store --------------------------------------------------------------------

    @property
    def _settings(self) -> Settings:
        return self._store.settings

    def _on_model_selected(self, index: int) -> None:
        model_id = self.model_selector.itemData(index)
        if not isinstance(model_id, str):
            return
        model = self._catalog.get(model_id)
        # One update, so the model and its clamped max_tokens are saved together.
        self._store.update(
            model=model_id, max_tokens=model.clamp_max_tokens(self._settings.max_tokens)
        )

    def _on_tier_selected(self, index: int) -> None:
        tier_id = self.tier_selector.itemData(index)
        if isinstance(tier_id, str):
            self._store.update(tier=tier_id)

    def _on_custom_rpm_changed(self) -> None:
        self._store.update(
            custom_rpm={family: spin.value() for family, spin in self.custom_rpm_spins.items()}
        )

    def _on_max_tokens_changed(self, value: int) -> None:
        self._store.update(max_tokens=value)

    def _on_temperature_changed(self) -> None:
        self.temperature_spin.setEnabled(self.temperature_check.isChecked())
        value = self.temperature_spin.value() if self.temperature_check.isChecked() else None
        self._store.update(temperature=value)

    def _on_top_p_changed(self) -> None:
        self.top_p_spin.setEnabled(self.top_p_check.isChecked())
        value = self.top_p_spin.value() if self.top_p_check.isChecked() else None
        self._store.update(top_p=value)

    def _on_stop_sequences_edited(self, text: str) -> None:
        self._store.update(stop_sequences=parse_stop_sequences(text))

    def _on_system_prompt_changed(self) -> None:
        self._store.update(system_prompt=self.system_prompt_edit.toPlainText())

    def _on_prompt_caching_toggled(self, checked: bool) -> None:
        self._store.update(prompt_caching=checked)

    def _on_base_url_edited(self, text: str) -> None:
        url = text.strip()
        problem = base_url_problem(url)
        hint = "" if problem is None else f"Not saved. {problem}"
        if problem is not None:
            self.base_url_message.setText(hint)
        self.base_url_message.setVisible(problem is not None)
        # Screen readers hear the problem on the field itself, not only in the label.
        self.base_url_edit.setAccessibleDescription(hint)
        if problem is None:
            self._store.update(base_url=url)

    def _on_stall_timeout_changed(self, value: int) -> None:
        self._store.update(stall_timeout=float(value))

    # -- store -> widgets --------------------------------------------------------------------

    def _on_store_changed(self, name: str) -> None:
        sync = {
            "model": self._sync_model,
            "tier": self._sync_tier,
            "custom_rpm": self._sync_tier,
            "max_tokens": self._sync_max_tokens,
            "temperature": self._sync_sampling,
            "top_p": self._sync_sampling,
            "stop_sequences": self._sync_stop_sequences,
            "system_prompt": self._sync_system_prompt,
            "prompt_caching": self._sync_prompt_caching,
            "base_url": self._sync_base_url,
            "stall_timeout": self._sync_stall_timeout,
        }.get(name)
        if sync is not None:
            sync()

    def _sync_all(self) -> None:
        self._sync_model()
        self._sync_tier()
        self._sync_max_tokens()
        self._sync_sampling()
        self._sync_stop_sequences()
        self._sync_system_prompt()
        self._sync_prompt_caching()
        self._sync_base_url()
        self._sync_stall_timeout()

    def _current_model(self) -> ModelInfo:
        return self._catalog.get(self._settings.model)

    def _sync_model(self) -> None:
        model = self._current_model()
        index = self.model_selector.findData(model.id)
        with QSignalBlocker(self.model_selector):
            if index < 0:
                # A model the catalog does not list (typed into the file, say) stays selectable.
                self.model_selector.addItem(model.display_name, model.id)
                index = self.model_selector.count() - 1
            self.model_selector.setCurrentIndex(index)
        self.model_info_label.setText(model_summary(model))
        with QSignalBlocker(self.max_tokens_spin):
            self.max_tokens_spin.setRange(1, model.output_ceiling)
        self._sync_tier()
        clamped = model.clamp_max_tokens(self._settings.max_tokens)
        if clamped != self._settings.max_tokens:
            self._store.update(max_tokens=clamped)
        else:
            self._sync_max_tokens()

    def _sync_tier(self) -> None:
        settings = self._settings
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

    def _sync_max_tokens(self) -> None:
        with QSignalBlocker(self.max_tokens_spin):
            self.max_tokens_spin.setValue(self._settings.max_tokens)

    def _sync_sampling(self) -> None:
        for value, check, spin in (
            (self._settings.temperature, self.temperature_check, self.temperature_spin),
            (self._settings.top_p, self.top_p_check, self.top_p_spin),
        ):
            with QSignalBlocker(check), QSignalBlocker(spin):
                check.setChecked(value is not None)
                spin.setEnabled(value is not None)
                if value is not None:
                    spin.setValue(value)

    def _sync_stop_sequences(self) -> None:
        current = self._settings.stop_sequences
        # Leave the user's spelling alone while it means the same sequences once
        # validated: rewriting it mid-word (a lone "\n" is dropped as blank) would
        # wreck what they are typing.
        typed = Settings(stop_sequences=parse_stop_sequences(self.stop_sequences_edit.text()))
        if typed.validate().stop_sequences != current:
            with QSignalBlocker(self.stop_sequences_edit):
                self.stop_sequences_edit.setText(format_stop_sequences(current))

    def _sync_system_prompt(self) -> None:
        # Resetting the text would move the cursor, so only do it for outside changes.
        if self.system_prompt_edit.toPlainText() != self._settings.system_prompt:
            with QSignalBlocker(self.system_prompt_edit):
                self.system_prompt_edit.setPlainText(self._settings.system_prompt)

    def _sync_prompt_caching(self) -> None:
        with QSignalBlocker(self.prompt_caching_check):
            self.prompt_caching_check.setChecked(self._settings.prompt_caching)

    def _sync_base_url(self) -> None:
        if self.base_url_edit.text().strip() != self._settings.base_url:
            with QSignalBlocker(self.base_url_edit):
                self.base_url_edit.setText(self._settings.base_url)
        self.base_url_message.hide()
        self.base_url_edit.setAccessibleDescription("")

    def _sync_stall_timeout(self) -> None:
        with QSignalBlocker(self.stall_timeout_spin):
            self.stall_timeout_spin.setValue(round(self._settings.stall_timeout))
