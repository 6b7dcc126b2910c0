r"""The settings pane: model, tier, request options, connection and API key.

Every control writes straight to the :class:`SettingsStore` (there is no Apply
button), and every store change is written back into the controls with their
signals blocked, so a change never echoes back.

Stop sequences are typed comma-separated in one line. A backslash escapes:
``\,`` is a comma inside a sequence, ``\\`` a backslash, ``\n`` a newline and
``\t`` a tab. Spaces around each sequence are dropped unless escaped with
``\s``. Any other backslash is kept as it is. For example
``END, \n\nHuman:, a\,b`` gives three sequences.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.api.ratelimit import LimitFigures, RateLimitSnapshot
from desktop_app.core.catalog import CUSTOM_TIER_ID, FAMILIES, Catalog, ModelInfo, custom_tier
from desktop_app.core.settings import (
    MAX_CUSTOM_RPM,
    MAX_STALL_TIMEOUT,
    MIN_STALL_TIMEOUT,
    Settings,
    base_url_problem,
)
from desktop_app.core.wire.request import base_url_from_env
from desktop_app.ui.settings.api_key import ApiKeyState
from desktop_app.ui.settings.settings_store import SettingsStore

_ESCAPES = {",": ",", "\\": "\\", "n": "\n", "t": "\t", "s": " "}
_UNESCAPES = {"\\": "\\\\", ",": "\\,", "\n": "\\n", "\t": "\\t"}


# -- text helpers (pure) ------------------------------------------------------------------


def parse_stop_sequences(text: str) -> tuple[str, ...]:
    """Split the stop-sequence line on unescaped commas (see the module docstring)."""
    items: list[str] = []
    # Each character with a flag: escaped characters survive the trimming.
    current: list[tuple[str, bool]] = []

    def finish() -> None:
        start, end = 0, len(current)
        while start < end and not current[start][1] and current[start][0].isspace():
            start += 1
        while end > start and not current[end - 1][1] and current[end - 1][0].isspace():
            end -= 1
        item = "".join(ch for ch, _ in current[start:end])
        if item:
            items.append(item)
        current.clear()

    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            # An unknown escape keeps both characters, so Windows paths survive.
            current.extend([(_ESCAPES[nxt], True)] if nxt in _ESCAPES else [("\\", True)])
            if nxt and nxt not in _ESCAPES:
                current.append((nxt, False))
        elif ch == ",":
            finish()
        else:
            current.append((ch, False))
    finish()
    return tuple(items)


def format_stop_sequences(sequences: Sequence[str]) -> str:
    """The line :func:`parse_stop_sequences` turns back into ``sequences``."""
    parts = []
    for seq in sequences:
        escaped = "".join(_UNESCAPES.get(ch, ch) for ch in seq)
        # Edge spaces would be trimmed away on parsing, so escape those.
        lead = len(escaped) - len(escaped.lstrip(" "))
        escaped = "\\s" * lead + escaped[lead:]
        trail = len(escaped) - len(escaped.rstrip(" "))
        if trail:
            escaped = escaped[: len(escaped) - trail] + "\\s" * trail
        parts.append(escaped)
    return ", ".join(parts)


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


def _figure(name: str, figures: LimitFigures | None, suffix: str = "") -> str | None:
    if figures is None:
        return None
    if figures.remaining is not None and figures.limit is not None:
        return f"{name} {figures.remaining:,}/{figures.limit:,}{suffix}"
    if figures.remaining is not None:
        return f"{name} {figures.remaining:,} left"
    if figures.limit is not None:
        return f"{name} limit {figures.limit:,}"
    return None


def rate_limit_summary(snapshot: RateLimitSnapshot | None) -> str:
    """One line on the service's latest rate-limit figures, or ``No response yet``.

    For example ``Requests 48/50 left · tokens 79,000/80,000 · resets 10:32:05``.
    """
    if snapshot is None:
        return "No response yet"
    server = snapshot.server
    # Accounts limited on input and output tokens separately get no combined figure.
    token_kinds = ("tokens",) if "tokens" in server else ("input-tokens", "output-tokens")
    candidates = [_figure("requests", server.get("requests"), " left")]
    candidates += [_figure(kind.replace("-", " "), server.get(kind)) for kind in token_kinds]
    parts = [part for part in candidates if part is not None]
    resets = [figures.reset for figures in server.values() if figures.reset is not None]
    if resets:
        # Local wall-clock time, to compare with the clock on the screen.
        parts.append(f"resets {min(resets).astimezone().strftime('%H:%M:%S')}")
    text = " · ".join(parts) if parts else "No response yet"
    if snapshot.paused_for >= 1.0:
        text += f" · waiting {snapshot.paused_for:.0f} s"
    return text[0].upper() + text[1:]


# -- the pane --------------------------------------------------------------------------------


def _label(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def _info_label(object_name: str, accessible_name: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)  # may show names from the service
    label.setObjectName(object_name)
    label.setAccessibleName(accessible_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _name(widget: QWidget, object_name: str, accessible_name: str) -> None:
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible_name)


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
        column.addWidget(self._build_key_group(content))
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
        self._sync_key_state()
        self.show_rate_limits(None)
        self._connect()

    # -- building ----------------------------------------------------------------------------

    def _build_model_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Model and rate limits", parent)
        form = QFormLayout(group)

        self.model_selector = QComboBox(group)
        _name(self.model_selector, "modelSelector", "Model")
        for model in self._catalog.models:
            self.model_selector.addItem(model.display_name, model.id)
        form.addRow(_label("&Model", self.model_selector, group), self.model_selector)
        self.model_info_label = _info_label("modelInfoLabel", "Model limits", group)
        form.addRow(self.model_info_label)

        self.tier_selector = QComboBox(group)
        _name(self.tier_selector, "tierSelector", "Rate-limit tier")
        for tier in self._catalog.tiers:
            self.tier_selector.addItem(tier.name, tier.id)
        self.tier_selector.addItem("Custom", CUSTOM_TIER_ID)
        form.addRow(_label("T&ier", self.tier_selector, group), self.tier_selector)

        self.custom_rpm_box = QWidget(group)
        self.custom_rpm_box.setObjectName("customRpmBox")
        custom_form = QFormLayout(self.custom_rpm_box)
        custom_form.setContentsMargins(0, 0, 0, 0)
        self.custom_rpm_spins: dict[str, QSpinBox] = {}
        for family in FAMILIES:
            spin = QSpinBox(self.custom_rpm_box)
            title = family.capitalize()
            _name(spin, f"customRpm{title}", f"{title} requests per minute")
            spin.setRange(1, MAX_CUSTOM_RPM)
            spin.setSuffix(" RPM")
            custom_form.addRow(_label(f"{title}", spin, self.custom_rpm_box), spin)
            self.custom_rpm_spins[family] = spin
        form.addRow(self.custom_rpm_box)

        self.tier_rpm_label = _info_label("tierRpmLabel", "Tier requests per minute", group)
        form.addRow(self.tier_rpm_label)
        self.rate_limit_label = _info_label(
            "rateLimitLabel", "Rate limits from the service", group
        )
        form.addRow(self.rate_limit_label)
        return group

    def _build_request_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Requests", parent)
        form = QFormLayout(group)

        self.max_tokens_spin = QSpinBox(group)
        _name(self.max_tokens_spin, "maxTokensSpin", "Maximum output tokens")
        self.max_tokens_spin.setGroupSeparatorShown(True)
        form.addRow(_label("Max &tokens", self.max_tokens_spin, group), self.max_tokens_spin)

        self.temperature_check, self.temperature_spin = self._optional_number(
            group, form, "Te&mperature", "temperature", "Temperature"
        )
        self.top_p_check, self.top_p_spin = self._optional_number(
            group, form, "Top &P", "topP", "Top P"
        )

        self.stop_sequences_edit = QLineEdit(group)
        _name(self.stop_sequences_edit, "stopSequencesEdit", "Stop sequences")
        self.stop_sequences_edit.setPlaceholderText("None (comma-separated)")
        self.stop_sequences_edit.setToolTip(
            "Comma-separated. Type \\, for a comma, \\n for a new line, "
            "\\s for a space at either end and \\\\ for a backslash."
        )
        form.addRow(
            _label("&Stop sequences", self.stop_sequences_edit, group), self.stop_sequences_edit
        )

        self.system_prompt_edit = QPlainTextEdit(group)
        _name(self.system_prompt_edit, "systemPromptEdit", "System prompt")
        # Tab must move on to the next control, as everywhere else in the pane.
        self.system_prompt_edit.setTabChangesFocus(True)
        self.system_prompt_edit.setPlaceholderText("None")
        form.addRow(
            _label("S&ystem prompt", self.system_prompt_edit, group), self.system_prompt_edit
        )

        self.prompt_caching_check = QCheckBox("Reuse the unchanged start of each request", group)
        _name(self.prompt_caching_check, "promptCachingCheck", "Prompt caching")
        form.addRow(
            _label("Prompt &caching", self.prompt_caching_check, group), self.prompt_caching_check
        )
        return group

    def _optional_number(
        self, group: QGroupBox, form: QFormLayout, label: str, key: str, title: str
    ) -> tuple[QCheckBox, QDoubleSpinBox]:
        row = QWidget(group)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        check = QCheckBox("Set", row)
        _name(check, f"{key}Check", f"Set {title.lower()}")
        spin = QDoubleSpinBox(row)
        _name(spin, f"{key}Spin", title)
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(1.0)
        spin.setToolTip("Unset: not sent, so the model's default applies.")
        layout.addWidget(check)
        layout.addWidget(spin, 1)
        form.addRow(_label(label, check, group), row)
        return check, spin

    def _build_connection_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Connection", parent)
        form = QFormLayout(group)
        self.base_url_edit = QLineEdit(group)
        _name(self.base_url_edit, "baseUrlEdit", "Base URL")
        self.base_url_edit.setPlaceholderText(base_url_from_env(""))
        form.addRow(_label("&Base URL", self.base_url_edit, group), self.base_url_edit)
        self.base_url_message = _info_label("baseUrlMessage", "Base URL problem", group)
        self.base_url_message.hide()
        form.addRow(self.base_url_message)

        self.stall_timeout_spin = QSpinBox(group)
        _name(
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
            _label("Wait for &new content", self.stall_timeout_spin, group),
            self.stall_timeout_spin,
        )
        return group

    def _build_key_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("API key", parent)
        form = QFormLayout(group)
        self.api_key_edit = QLineEdit(group)
        _name(self.api_key_edit, "apiKeyEdit", "API key")
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setPlaceholderText("sk-ant-…")
        form.addRow(_label("API &key", self.api_key_edit, group), self.api_key_edit)

        buttons = QWidget(group)
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        self.save_key_button = QPushButton("Save key", buttons)
        _name(self.save_key_button, "saveKeyButton", "Save key in the system keychain")
        self.session_key_button = QPushButton("Use for this session only", buttons)
        _name(self.session_key_button, "sessionKeyButton", "Use key for this session only")
        self.forget_key_button = QPushButton("Forget key", buttons)
        _name(self.forget_key_button, "forgetKeyButton", "Forget key")
        for button in (self.save_key_button, self.session_key_button, self.forget_key_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        form.addRow(buttons)
        self.key_status_label = _info_label("keyStatusLabel", "API key status", group)
        form.addRow(self.key_status_label)
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
        self.api_key_edit.textChanged.connect(self._on_api_key_text_changed)
        self.save_key_button.clicked.connect(self._on_save_key_clicked)
        self.session_key_button.clicked.connect(self._on_session_key_clicked)
        self.forget_key_button.clicked.connect(self._on_forget_key_clicked)
        self._store.changed.connect(self._on_store_changed)
        self._key_state.changed.connect(self._sync_key_state)

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

    # -- API key -----------------------------------------------------------------------------

    def _sync_key_state(self) -> None:
        state = self._key_state
        source = state.source
        if source == "environment":
            text = "Using ANTHROPIC_API_KEY from the environment"
        elif source == "keychain":
            text = "Key saved in the system keychain"
        elif source == "session":
            text = "Key kept for this session only: Iris forgets it when it quits"
        elif not state.keychain_available:
            text = (
                "No system keychain is available here: the key will be kept for this session only"
            )
        else:
            text = "No key: Iris runs the offline demo"
        self.key_status_label.setText(text)
        self.session_key_button.setVisible(not state.keychain_available)
        self.forget_key_button.setEnabled(source is not None)
        typed = self.api_key_edit.text().strip()
        # Once the typed key is in use, it has no business staying in the field.
        if typed and typed == state.key():
            self.api_key_edit.clear()
        self._on_api_key_text_changed(self.api_key_edit.text())

    def _on_api_key_text_changed(self, text: str) -> None:
        has_text = bool(text.strip())
        self.save_key_button.setEnabled(has_text)
        self.session_key_button.setEnabled(has_text)

    def _on_save_key_clicked(self) -> None:
        self._key_state.save(self.api_key_edit.text())

    def _on_session_key_clicked(self) -> None:
        self._key_state.use_for_session(self.api_key_edit.text())

    def _on_forget_key_clicked(self) -> None:
        self.api_key_edit.clear()
        self._key_state.forget()
