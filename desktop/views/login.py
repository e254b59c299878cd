"""Log-in dialog and the dialog to change one's own password."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..services import auth
from ..services.auth import CurrentUser
from ..services.context import AppContext
from ..services.errors import ServiceError
from ..services.opening import DatabaseDamaged, Gate, Opened
from .errors import chinese_buttons, error_label, ok_cancel, set_error
from .widgets.password import password_edit


class LoginDialog(QDialog):
    """Username and password; Enter logs in — which, on an encrypted file, is what opens the database. After
    exec() == Accepted, `user` is the CurrentUser and `opened` what the log-in opened (gate.db the database).
    A database found damaged once unlocked ends the dialog with `damaged` set (the caller offers a backup)."""

    def __init__(self, gate: Gate | AppContext, parent: QWidget | None = None, username: str = "",
                 message: str = ""):
        super().__init__(parent)
        self.gate = gate if isinstance(gate, Gate) else Gate(db=gate.db)
        self.user: CurrentUser | None = None
        self.opened: Opened | None = None
        self.damaged: DatabaseDamaged | None = None
        self.setWindowTitle(f"登录 — {APP_NAME}")
        self.setMinimumWidth(380)

        township = self.gate.township()
        title = QLabel(APP_NAME)
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle = QLabel(township or "")
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setVisible(township is not None)

        self.username = QLineEdit(username)
        self.username.setPlaceholderText("用户名")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("密码")
        self.error = error_label(self)

        form = QFormLayout()
        form.addRow("用户名：", self.username)
        form.addRow("密码：", self.password)

        self.buttons = chinese_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                                        | QDialogButtonBox.StandardButton.Cancel))
        self.login_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.login_button.setText("登录")
        self.login_button.setDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("退出")
        self.buttons.accepted.connect(self.try_login)
        self.buttons.rejected.connect(self.reject)
        self.forgot = QPushButton("忘记密码…")
        self.forgot.setToolTip("所有管理员的密码都遗失时，用首次设置时打印的恢复密钥设置新密码")
        self.forgot.setAutoDefault(False)
        self.forgot.clicked.connect(self.recover)
        if self.gate.path is not None:  # an encrypted file has a recovery key; a county server's database has none
            self.buttons.addButton(self.forgot, QDialogButtonBox.ButtonRole.HelpRole)
        else:
            self.forgot.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        # Enter anywhere presses the default button (登录); try_login moves on to an empty password.
        self.username.textEdited.connect(lambda _t: set_error(self.error, None))
        self.password.textEdited.connect(lambda _t: set_error(self.error, None))
        (self.password if username else self.username).setFocus()
        if message:  # why the log-in is asked again (e.g. the account was disabled while its window was open)
            set_error(self.error, message)

    def try_login(self) -> None:
        name, password = self.username.text().strip(), self.password.text()
        if name and not password and self.username.hasFocus():
            self.password.setFocus()
            return
        if not name or not password:
            set_error(self.error, "请输入用户名和密码")
            return
        try:
            self.opened = self.gate.log_in(name, password)
        except DatabaseDamaged as exc:
            self.damaged = exc
            self.reject()
            return
        except ServiceError as exc:  # a wrong password, or a locked, read-only or vanished database
            set_error(self.error, exc)
            self.password.clear()
            self.password.setFocus()
            return
        self.user = self.opened.user
        self.accept()

    def recover(self) -> None:
        dialog = RecoverDialog(self.gate, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.opened is not None:
            self.opened = dialog.opened
            self.user = dialog.opened.user
            self.accept()


class RecoverDialog(QDialog):
    """Every administrator password lost: the recovery key printed at the first run, and a new password for an
    administrator (an existing one, or a new name)."""

    def __init__(self, gate: Gate, parent: QWidget | None = None):
        super().__init__(parent)
        self.gate = gate
        self.opened: Opened | None = None
        self.setWindowTitle("用恢复密钥设置管理员密码")
        intro = QLabel("恢复密钥是首次设置时显示并打印、存放在办公室保险柜中的 30 位字母和数字（如 "
                       "ABCDE-12345-…）。输入后可为一位管理员设置新密码；输入一个新的用户名则新建一位管理员。")
        intro.setWordWrap(True)
        self.key = QLineEdit()
        self.key.setPlaceholderText("XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
        self.username = QLineEdit("admin")
        self.new = password_edit(auth.PASSWORD_HINT)
        self.confirm = password_edit()
        self.error = error_label(self)
        form = QFormLayout()
        form.addRow("恢复密钥：", self.key)
        form.addRow("管理员用户名：", self.username)
        form.addRow("新密码：", self.new)
        form.addRow("确认新密码：", self.confirm)
        buttons = ok_cancel(self, self.save, "设置并登录")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def save(self) -> None:
        if (msg := auth.check_password_pair(self.new.text(), self.confirm.text(), self.username.text())):
            set_error(self.error, msg)
            return
        try:
            self.opened = self.gate.recover(self.key.text(), self.username.text().strip(), self.new.text())
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.accept()


class RecoveryKeyDialog(QDialog):
    """The recovery key, shown once (a database converted to encryption at this log-in): to be copied by hand or
    printed and kept in the office safe. Closes only once the box is ticked."""

    def __init__(self, recovery_key: str, converted: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"恢复密钥 — {APP_NAME}")
        layout = QVBoxLayout(self)
        if converted:
            done = QLabel("数据库和全部备份已转换为加密文件。")
            done.setWordWrap(True)
            layout.addWidget(done)
        layout.addWidget(recovery_panel(recovery_key))
        self.confirm = QCheckBox("我已抄写（或打印）恢复密钥，并会存放在安全的地方")
        layout.addWidget(self.confirm)
        buttons = chinese_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Ok))
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(False)
        self.confirm.toggled.connect(ok.setEnabled)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def reject(self) -> None:  # Esc does not skip it
        if self.confirm.isChecked():
            super().reject()


def recovery_panel(recovery_key: str) -> QWidget:
    """The recovery key in large type, with what it is for and a button to copy it."""
    panel = QWidget()
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    text = QLabel("数据库已加密：只有用户的密码能打开它。下面的恢复密钥用于所有密码都遗失的那一天"
                  "（登录界面的“忘记密码”），它只显示这一次，程序不保存它的明文，丢失后无法补发。"
                  "请抄写或打印出来，存放在办公室保险柜中，不要存放在这台电脑上。")
    text.setWordWrap(True)
    key = QLabel(recovery_key)
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(key.font().pointSizeF() * 1.6)
    font.setBold(True)
    key.setFont(font)
    key.setAlignment(Qt.AlignmentFlag.AlignCenter)
    key.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    copy = QPushButton("复制到剪贴板")
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(recovery_key))
    layout.addWidget(text)
    layout.addWidget(key)
    layout.addWidget(copy, alignment=Qt.AlignmentFlag.AlignCenter)
    return panel


class ChangePasswordDialog(QDialog):
    """The logged-in user changes their own password (the old one is asked for)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("修改密码")
        self.old = password_edit()
        self.new = password_edit(auth.PASSWORD_HINT)
        self.confirm = password_edit()
        self.error = error_label(self)
        form = QFormLayout()
        form.addRow("原密码：", self.old)
        form.addRow("新密码：", self.new)
        form.addRow("确认新密码：", self.confirm)
        buttons = ok_cancel(self, self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def validate(self) -> str | None:
        return auth.check_password_pair(self.new.text(), self.confirm.text(), self.ctx.user.username)

    def save(self) -> None:
        if (msg := self.validate()):
            set_error(self.error, msg)
            return
        try:
            self.ctx.run(auth.change_password, self.ctx.user.id, self.old.text(), self.new.text())
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.accept()
