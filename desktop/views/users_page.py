"""用户管理 (管理员 only): users, roles, the villages of a 村级录入员, passwords, enabling."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import auth, regions
from ..services.codes import codes
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import confirm, error_label, ok_cancel, set_error, show_info
from .widgets.password import password_edit

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class UsersModel(QAbstractTableModel):
    COL_USERNAME, COL_NAME, COL_ROLE, COL_VILLAGES, COL_STATE = range(5)
    HEADERS = ("用户名", "姓名", "角色", "负责行政村", "状态")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[auth.UserRow] = []
        self.village_names: dict[int, str] = {}

    def set_rows(self, rows: list[auth.UserRow], village_names: dict[int, str]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.village_names = village_names
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            if col == self.COL_USERNAME:
                return row.username
            if col == self.COL_NAME:
                return row.display_name
            if col == self.COL_ROLE:
                return row.role_name
            if col == self.COL_VILLAGES:
                if not auth.limited_to_villages(row.role):
                    return "全部"
                return "、".join(self.village_names.get(v, str(v)) for v in row.village_ids)
            if col == self.COL_STATE:
                if role == SORT_ROLE:
                    return (row.active, -row.locked_minutes)
                state = ("启用，需重置密码后才能登录" if row.needs_password else "启用") if row.active else "停用"
                return f"{state}，登录已锁定（还剩 {row.locked_minutes} 分钟）" if row.locked_minutes else state
        if role == Qt.ItemDataRole.ForegroundRole and not row.active:
            return Qt.GlobalColor.gray
        return None


def _village_list(villages: dict[int, str], checked: tuple[int, ...] = ()) -> QListWidget:
    box = QListWidget()
    for vid, name in villages.items():
        item = QListWidgetItem(name)
        item.setData(Qt.ItemDataRole.UserRole, vid)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if vid in checked else Qt.CheckState.Unchecked)
        box.addItem(item)
    box.setMaximumHeight(160)
    return box


def _checked(box: QListWidget) -> list[int]:
    return [box.item(i).data(Qt.ItemDataRole.UserRole) for i in range(box.count())
            if box.item(i).checkState() == Qt.CheckState.Checked]



class AddUserDialog(QDialog):
    def __init__(self, ctx: AppContext, villages: dict[int, str], parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.new_id: int | None = None
        self.setWindowTitle("新增用户")
        self.setMinimumWidth(420)
        self.username = QLineEdit()
        self.display_name = QLineEdit()
        self.role = QComboBox()
        for c in codes("role"):
            self.role.addItem(c.name, c.code)
        self.role.setCurrentIndex(self.role.findData("clerk"))
        self.villages = _village_list(villages)
        self.password = password_edit(auth.PASSWORD_HINT)
        self.confirm = password_edit()
        self.error = error_label(self)
        form = QFormLayout()
        form.addRow("用户名 *：", self.username)
        form.addRow("姓名：", self.display_name)
        form.addRow("角色：", self.role)
        self.villages_label = QLabel("负责行政村 *：")
        form.addRow(self.villages_label, self.villages)
        form.addRow("初始密码 *：", self.password)
        form.addRow("确认密码 *：", self.confirm)
        buttons = ok_cancel(self, self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        note = QLabel("管理员、乡镇审核员可处理全部行政村；村级录入员只能录入所选的行政村。")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.role.currentIndexChanged.connect(self._role_changed)
        self._role_changed()

    def _role_changed(self, *_args) -> None:
        clerk = auth.limited_to_villages(self.role.currentData())
        self.villages.setVisible(clerk)
        self.villages_label.setVisible(clerk)

    def save(self) -> None:
        role = self.role.currentData()
        village_ids = _checked(self.villages) if auth.limited_to_villages(role) else None
        if (msg := auth.check_password_pair(self.password.text(), self.confirm.text(), self.username.text())):
            set_error(self.error, msg)
            return
        try:
            self.new_id = self.ctx.run(auth.create_user, self.username.text(), self.display_name.text(), role,
                                       self.password.text(), village_ids)
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.accept()


class PasswordDialog(QDialog):
    """The administrator sets a new password for a user (the old one is not asked)."""

    def __init__(self, ctx: AppContext, user: auth.UserRow, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.user = user
        self.setWindowTitle(f"重置密码 — {user.display_name}（{user.username}）")
        self.password = password_edit(auth.PASSWORD_HINT)
        self.confirm = password_edit()
        self.error = error_label(self)
        form = QFormLayout()
        form.addRow("新密码：", self.password)
        form.addRow("确认新密码：", self.confirm)
        buttons = ok_cancel(self, self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def save(self) -> None:
        if (msg := auth.check_password_pair(self.password.text(), self.confirm.text(), self.user.username)):
            set_error(self.error, msg)
            return
        try:
            self.ctx.run(auth.reset_password, self.user.id, self.password.text())
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.accept()


class VillagesDialog(QDialog):
    """Change the villages of a 村级录入员."""

    def __init__(self, ctx: AppContext, user: auth.UserRow, villages: dict[int, str], parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.user = user
        self.setWindowTitle(f"负责行政村 — {user.display_name}（{user.username}）")
        self.villages = _village_list(villages, user.village_ids)
        self.error = error_label(self)
        buttons = ok_cancel(self, self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("勾选该村级录入员可以录入的行政村："))
        layout.addWidget(self.villages)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def save(self) -> None:
        try:
            self.ctx.run(auth.set_user_villages, self.user.id, _checked(self.villages))
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.accept()


class UsersPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = UsersModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for col, width in ((UsersModel.COL_USERNAME, 140), (UsersModel.COL_NAME, 140), (UsersModel.COL_ROLE, 130),
                           (UsersModel.COL_STATE, 80)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(UsersModel.COL_VILLAGES, QHeaderView.ResizeMode.Stretch)

        self.add_button = QPushButton("新增用户…")
        self.password_button = QPushButton("重置密码…")
        self.villages_button = QPushButton("负责行政村…")
        self.active_button = QPushButton("停用")
        self.unlock_button = QPushButton("解除锁定")
        self.unlock_button.setToolTip(f"连续 {auth.LOCK_AFTER} 次登录失败的账号锁定 {auth.LOCK_MINUTES} 分钟；"
                                      "确认是本人后可立即解除")
        self.error = error_label(self)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.password_button, self.villages_button, self.active_button,
                  self.unlock_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>用户管理</h3>"))
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)

        self.add_button.clicked.connect(self.add_user)
        self.password_button.clicked.connect(self.reset_password)
        self.villages_button.clicked.connect(self.edit_villages)
        self.active_button.clicked.connect(self.toggle_active)
        self.unlock_button.clicked.connect(self.unlock)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        current = self.selected()
        select = select if select is not None else (current.id if current else None)
        self.village_names = {v.id: v.name for v in self.ctx.read(regions.tree, counts=False)}
        self.model.set_rows(self.ctx.read(auth.list_users), self.village_names)
        for i, row in enumerate(self.model.rows):
            if row.id == select:
                self.table.selectRow(i)
        self._selection_changed()

    def selected(self) -> auth.UserRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.data(rows[0], ROW_ROLE) if rows else None

    def select_username(self, username: str) -> None:
        for i, row in enumerate(self.model.rows):
            if row.username == username:
                self.table.selectRow(i)

    def _selection_changed(self, *_args) -> None:
        row = self.selected()
        for b in (self.password_button, self.active_button):
            b.setEnabled(row is not None)
        self.villages_button.setEnabled(row is not None and auth.limited_to_villages(row.role))
        self.active_button.setText("启用" if row is not None and not row.active else "停用")
        self.unlock_button.setEnabled(row is not None and row.locked_minutes > 0)
        set_error(self.error, None)

    def add_user(self) -> None:
        if not self.village_names:
            set_error(self.error, "提示：尚未建立行政村，只能新增管理员或乡镇审核员；"
                                  "村级录入员请在“村组管理”建村后再新增。")
        dialog = AddUserDialog(self.ctx, self.village_names, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.refresh(select=dialog.new_id)

    def reset_password(self) -> None:
        row = self.selected()
        if row is not None and PasswordDialog(self.ctx, row, self).exec() == QDialog.DialogCode.Accepted:
            show_info(self, f"已为“{row.display_name}”设置新密码。")

    def edit_villages(self) -> None:
        row = self.selected()
        if row is not None and VillagesDialog(self.ctx, row, self.village_names, self).exec() == \
                QDialog.DialogCode.Accepted:
            self.refresh(select=row.id)

    def toggle_active(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.active and self.ctx.user is not None and row.id == self.ctx.user.id:
            set_error(self.error, "不能停用当前登录的用户")
            return
        if row.active and not confirm(self, f"停用后“{row.display_name}”将不能登录；已打开的窗口在下一次操作时"
                                            "退出登录。以后重新启用时，需要为其重置密码。确定停用吗？"):
            return
        try:
            self.ctx.run(auth.set_user_active, row.id, not row.active)
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.refresh(select=row.id)

    def unlock(self) -> None:
        row = self.selected()
        if row is None:
            return
        try:
            self.ctx.run(auth.unlock_user, row.id)
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.refresh(select=row.id)
        show_info(self, f"已解除“{row.display_name}”的登录锁定，现在可以登录。")
