"""First-run wizard: township, year and monitoring line, administrator (SPEC §5, §12).

Nothing is written until 完成: then services.setup.complete_first_run does it all in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Callable

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from .. import APP_NAME
from ..services import auth, regions, settings, setup
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import error_label, report_fault, set_error
from .widgets.password import password_edit

PAGE_TOWNSHIP, PAGE_YEAR, PAGE_ADMIN, PAGE_RECOVERY = 0, 1, 2, 3
HINT_STYLE = "color: #555;"


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(HINT_STYLE)
    return label


class _CheckedPage(QWizardPage):
    """A page whose problems() decide both the inline error and whether 下一步 is enabled.

    A problem is shown only once its field has been edited, so an empty page does not open in red."""

    def __init__(self, title: str, subtitle: str):
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.error = error_label(self)
        self._touched: set[QWidget] = set()

    def watch(self, *edits: QLineEdit) -> None:
        for edit in edits:
            edit.textEdited.connect(lambda _t, e=edit: self._edited(e))

    def _edited(self, edit: QWidget) -> None:
        self._touched.add(edit)
        self.refresh()

    def problems(self) -> list[tuple[QWidget, str]]:
        return []

    def refresh(self) -> None:
        shown = [msg for widget, msg in self.problems() if widget in self._touched]
        set_error(self.error, shown[0] if shown else None)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt name)
        return not self.problems()


class TownshipPage(_CheckedPage):
    def __init__(self):
        super().__init__("乡镇（街道）", "本程序服务于一个乡镇（街道）。名称必填，上级区划和区划代码可以不填。")
        self.township = QLineEdit()
        self.township.setPlaceholderText("例如：某某镇")
        self.county = QLineEdit()
        self.city = QLineEdit()
        self.province = QLineEdit()
        self.code = QLineEdit()
        self.code.setPlaceholderText("12 位统计用区划代码（可不填）")
        self.code.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,12}"), self.code))
        form = QFormLayout()
        form.addRow("乡镇/街道名称 *：", self.township)
        form.addRow("所属县（区）：", self.county)
        form.addRow("所属市：", self.city)
        form.addRow("所属省：", self.province)
        form.addRow("乡镇区划代码：", self.code)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.watch(self.township, self.code)

    def problems(self) -> list[tuple[QWidget, str]]:
        out = []
        if not self.township.text().strip():
            out.append((self.township, "请填写乡镇（街道）名称"))
        if (msg := regions.code_problem(self.code.text())):
            out.append((self.code, msg))
        return out


class YearPage(_CheckedPage):
    def __init__(self, year: int, line: str = ""):
        super().__init__("年度与监测线", "选择开始工作的年度，并填写该年度的省定防止返贫监测线。")
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        self.year.setValue(year)
        self.line = QLineEdit(line)
        self.line.setPlaceholderText("请按本省当年文件填写")
        row = QHBoxLayout()
        row.addWidget(self.line, 1)
        row.addWidget(QLabel("元/人·年"))
        form = QFormLayout()
        form.addRow("年度：", self.year)
        form.addRow("监测线 *：", row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_hint(
            "监测线即“省定防止返贫监测线”：由省级每年公布的家庭年人均纯收入标准（元/人·年），"
            "家庭年人均纯收入低于此线且有返贫致贫风险的农户纳入监测。各省标准不同、逐年调整，"
            "本程序不预设数值，请按本省当年文件填写。以后可在“年度设置”中修改，修改会记入操作日志。"))
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.watch(self.line)

    def problems(self) -> list[tuple[QWidget, str]]:
        text = self.line.text().strip()
        if not text:
            return [(self.line, "请填写监测线（元/人·年）")]
        try:
            settings.parse_amount(text, "监测线")
        except settings.SettingsError as exc:
            return [(self.line, str(exc))]
        return []


class AdminPage(_CheckedPage):
    def __init__(self):
        super().__init__("管理员", "创建第一个用户：管理员可以管理用户、村组和年度设置。请牢记密码。")
        self.username = QLineEdit("admin")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText("例如：张三")
        self.password = password_edit(auth.PASSWORD_HINT)
        self.confirm = password_edit()
        form = QFormLayout()
        form.addRow("用户名 *：", self.username)
        form.addRow("姓名：", self.display_name)
        form.addRow("密码 *：", self.password)
        form.addRow("确认密码 *：", self.confirm)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.watch(self.username, self.password, self.confirm)

    def problems(self) -> list[tuple[QWidget, str]]:
        out = []
        if not self.username.text().strip():
            out.append((self.username, "请填写用户名"))
        if (msg := auth.check_new_password(self.password.text(), self.username.text())):
            out.append((self.password, msg))
        if self.confirm.text() != self.password.text():
            out.append((self.confirm, "两次输入的密码不一致"))
        return out

    def validatePage(self) -> bool:  # noqa: N802 (Qt name): runs when 完成 (or 保存) is clicked
        return self.wizard().save()


class RecoveryPage(QWizardPage):
    """After saving: the new database's recovery key, shown once; 完成 only once it is noted."""

    def __init__(self, recovery_key: str):
        super().__init__()
        from .login import recovery_panel
        self.setTitle("恢复密钥")
        self.setSubTitle("设置已保存。请记下恢复密钥。")
        self.confirm = QCheckBox("我已抄写（或打印）恢复密钥，并会存放在安全的地方")
        self.confirm.toggled.connect(lambda _on: self.completeChanged.emit())
        layout = QVBoxLayout(self)
        layout.addWidget(recovery_panel(recovery_key))
        layout.addWidget(self.confirm)
        layout.addStretch(1)

    def isComplete(self) -> bool:  # noqa: N802 (Qt name)
        return self.confirm.isChecked()


class FirstRunWizard(QWizard):
    """Shown when the database has no township or no user. `admin_username` is set on success. With a
    `recovery_key` (a new encrypted database), the administrator page saves (保存) and a last page shows the key."""

    def __init__(self, ctx: AppContext, today: Callable[[], date] = date.today, parent: QWidget | None = None,
                 recovery_key: str | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.admin_username: str | None = None
        self.setWindowTitle(f"首次使用 — {APP_NAME}")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        for which, text in ((QWizard.WizardButton.BackButton, "< 上一步"),
                            (QWizard.WizardButton.NextButton, "下一步 >"),
                            (QWizard.WizardButton.FinishButton, "完成"), (QWizard.WizardButton.CancelButton, "取消"),
                            (QWizard.WizardButton.CommitButton, "保存 >")):
            self.setButtonText(which, text)
        self.setMinimumSize(620, 460)

        self.existing = ctx.read(regions.township)
        year = ctx.read(settings.current_year) or today().year
        known = ctx.read(settings.get_year, year)
        line = f"{known.monitoring_line}" if known and known.monitoring_line is not None else ""

        self.township_page = TownshipPage()
        self.year_page = YearPage(year, line)
        self.admin_page = AdminPage()
        if self.existing is None:
            self.setPage(PAGE_TOWNSHIP, self.township_page)
        else:
            self.year_page.setSubTitle(f"乡镇（街道）“{self.existing.name}”已配置。" + self.year_page.subTitle())
        self.setPage(PAGE_YEAR, self.year_page)
        self.setPage(PAGE_ADMIN, self.admin_page)
        self.recovery_page = None
        if recovery_key:
            self.admin_page.setCommitPage(True)  # saved on 保存; no way back to change what is saved
            self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
            self.recovery_page = RecoveryPage(recovery_key)
            self.setPage(PAGE_RECOVERY, self.recovery_page)

    def first_run(self) -> setup.FirstRun:
        t, y, a = self.township_page, self.year_page, self.admin_page
        name = self.existing.name if self.existing else t.township.text().strip()
        return setup.FirstRun(
            township=name, county=t.county.text().strip() or None, city=t.city.text().strip() or None,
            province=t.province.text().strip() or None, year=y.year.value(), monitoring_line=y.line.text().strip(),
            admin_username=a.username.text().strip(), admin_name=a.display_name.text().strip(),
            admin_password=a.password.text(), township_code=t.code.text().strip() or None)

    def save(self) -> bool:
        """Write everything in one transaction; on a refusal show it on the page and stay."""
        try:
            self.ctx.run(setup.complete_first_run, self.first_run())
        except ServiceError as exc:
            set_error(self.admin_page.error, exc)
            return False
        except Exception as exc:  # a fault: logged and shown (report_fault); the wizard stays open, nothing saved
            report_fault(exc)
            return False
        self.admin_username = self.first_run().admin_username
        return True
