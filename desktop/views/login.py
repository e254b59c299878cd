"""Log-in dialog and the dialog to change one's own password."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from .. import APP_NAME
from ..services import auth, setup
from ..services.auth import CurrentUser
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import chinese_buttons, error_label, set_error
from .widgets.password import password_edit


class LoginDialog(QDialog):
    """Username and password; Enter logs in. After exec() == Accepted, `user` is the CurrentUser."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, username: str = "", message: str = ""):
        super().__init__(parent)
        self.ctx = ctx
        self.user: CurrentUser | None = None
        self.setWindowTitle(f"登录 — {APP_NAME}")
        self.setMinimumWidth(380)

        township = ctx.read(setup.township_name)
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
            self.user = self.ctx.run(auth.authenticate, name, password)
        except ServiceError as exc:  # a wrong password, or a locked, read-only or vanished database
            set_error(self.error, exc)
            self.password.clear()
            self.password.setFocus()
            return
        self.accept()


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
        buttons = chinese_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                                   | QDialogButtonBox.StandardButton.Cancel))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
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
