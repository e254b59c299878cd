"""First start on a computer: 单机 (a database file on this PC) or 县级数据库 (the county's PostgreSQL server).

Shown before the first-run wizard when no --db was given, nothing was chosen before and there is no database file
yet. The choice is remembered in the data folder (paths.save_database) without any password: the server's password
comes from PGPASSWORD, a pgpass file or the OS keyring (services.db.server_password), never from a plain file and
never from FANPIN_PASSWORD, which is the program user's own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..paths import save_database
from ..services.db import POSTGRES_DRIVER, ServerUnreachable, init_db
from ..services.errors import ServiceError
from .errors import chinese_buttons, error_label, set_error

HINT_STYLE = "color: #555;"


class DatabaseChoiceDialog(QDialog):
    def __init__(self, default_file: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"选择数据库 — {APP_NAME}")
        self.default_file = default_file
        self.target: Path | str | None = None
        layout = QVBoxLayout(self)
        self.single = QRadioButton("单机：数据保存在本电脑上（一个乡镇一台电脑）")
        self.county = QRadioButton("县级数据库：多台电脑共用县里的 PostgreSQL 数据库")
        self.single.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.single)
        group.addButton(self.county)
        layout.addWidget(self.single)
        file_hint = QLabel(f"数据库文件：{default_file}")
        file_hint.setStyleSheet(HINT_STYLE)
        file_hint.setWordWrap(True)
        layout.addWidget(file_hint)
        layout.addWidget(self.county)
        self.server = QWidget()
        form = QFormLayout(self.server)
        self.host = QLineEdit()
        self.host.setPlaceholderText("例如：10.12.0.5")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(5432)
        self.database = QLineEdit()
        self.database.setPlaceholderText("例如：fanpin_jixia")
        self.user = QLineEdit()
        self.user.setPlaceholderText("数据库用户名（由县里的管理员提供）")
        form.addRow("服务器地址", self.host)
        form.addRow("端口", self.port)
        form.addRow("数据库名", self.database)
        form.addRow("数据库用户", self.user)
        pw = QLabel("数据库密码不在这里填写、也不保存在配置文件中：请由管理员放在环境变量 PGPASSWORD、"
                    "本机的 pgpass 文件，或系统钥匙串（服务名 fanpin-workbench）中。")
        pw.setWordWrap(True)
        pw.setStyleSheet(HINT_STYLE)
        form.addRow(pw)
        layout.addWidget(self.server)
        self.error = error_label(self)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        chinese_buttons(buttons)
        buttons.accepted.connect(self.choose)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.county.toggled.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.server.setEnabled(self.county.isChecked())

    def url(self) -> str:
        host, name, user = self.host.text().strip(), self.database.text().strip(), self.user.text().strip()
        return f"{POSTGRES_DRIVER}://{user}@{host}:{self.port.value()}/{name}"

    def problem(self) -> str | None:
        if self.single.isChecked():
            return None
        missing = [label for label, edit in (("服务器地址", self.host), ("数据库名", self.database),
                                             ("数据库用户", self.user)) if not edit.text().strip()]
        return f"请填写{'、'.join(missing)}" if missing else None

    def choose(self) -> None:
        problem = self.problem()
        if problem:
            set_error(self.error, problem)
            return
        target: Path | str = self.default_file if self.single.isChecked() else self.url()
        if self.county.isChecked():  # try it now: a wrong address or password is said here, not after a restart
            try:
                init_db(str(target)).dispose()
            except ServerUnreachable as exc:
                set_error(self.error, exc)
                return
            except ServiceError as exc:
                set_error(self.error, exc)
                return
        try:
            save_database(str(target))
        except (OSError, ValueError) as exc:
            set_error(self.error, f"不能保存选择：{exc}")
            return
        self.target = target
        self.accept()
