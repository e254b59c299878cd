"""村组管理: villages (行政村) and their groups (自然村/村民小组), with codes and 农村户籍人口."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..services import regions
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import error_label, ok_cancel, set_error

COL_NAME, COL_CODE, COL_POPULATION, COL_HOUSEHOLDS = range(4)
HEADERS = ("名称", "区划代码", "农村户籍人口", "户数")
EDIT_ROLES = ("admin", "auditor")
ID_ROLE = Qt.ItemDataRole.UserRole


@dataclass
class RegionValues:
    name: str
    code: str | None
    rural_population: int | None


class RegionDialog(QDialog):
    """Name, code and (villages only) 农村户籍人口. `values()` after Accepted."""

    def __init__(self, title: str, parent: QWidget | None = None, *, village: bool,
                 values: RegionValues | None = None, context: str = ""):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(400)
        self.village = village
        self.name = QLineEdit(values.name if values else "")
        self.code = QLineEdit((values.code or "") if values else "")
        self.code.setPlaceholderText("12 位数字，可不填")
        self.code.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,12}"), self.code))
        self.population = QLineEdit()  # "1,250" is accepted; anything unreadable is refused with a message
        self.population.setPlaceholderText("用于计算监测对象占比，如 1250 或 1,250")
        if values and values.rural_population is not None:
            self.population.setText(str(values.rural_population))
        self.error = error_label(self)

        form = QFormLayout()
        if context:
            form.addRow("所属：", QLabel(context))
        form.addRow("行政村名称 *：" if village else "村民小组名称 *：", self.name)
        form.addRow("区划代码：", self.code)
        if village:
            form.addRow("农村户籍人口：", self.population)
        self.buttons = ok_cancel(self, self._accept)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def values(self) -> RegionValues:
        pop = regions.parse_population(self.population.text()) if self.village else None
        return RegionValues(self.name.text().strip(), self.code.text().strip() or None, pop)

    def validate(self) -> str | None:
        if not self.name.text().strip():
            return "名称不能为空"
        if self.village:
            try:
                regions.parse_population(self.population.text())
            except ServiceError as exc:
                return str(exc)
        return regions.code_problem(self.code.text())

    def _accept(self) -> None:
        if (msg := self.validate()):
            set_error(self.error, msg)
            return
        self.accept()


class VillagesPage(QWidget):
    """The tree of villages and groups; add and edit for 管理员 and 乡镇审核员, read-only for others."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.may_edit = ctx.user is None or ctx.user.role in EDIT_ROLES
        self.nodes: dict[int, regions.VillageNode | regions.GroupNode] = {}
        self.village_of: dict[int, int] = {}

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(HEADERS))
        self.tree.setHeaderLabels(list(HEADERS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_CODE, 170), (COL_POPULATION, 120), (COL_HOUSEHOLDS, 90)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.tree.setColumnWidth(col, width)
        head = self.tree.headerItem()
        for col in (COL_POPULATION, COL_HOUSEHOLDS):
            head.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.add_village_button = QPushButton("新增行政村…")
        self.add_group_button = QPushButton("新增村民小组…")
        self.edit_button = QPushButton("编辑…")
        self.refresh_button = QPushButton("刷新")
        buttons = QHBoxLayout()
        for b in (self.add_village_button, self.add_group_button, self.edit_button):
            b.setVisible(self.may_edit)
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)

        self.summary = QLabel()
        self.error = error_label(self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>村组管理</h3>"))
        if not self.may_edit:
            note = QLabel("您的角色只能查看村组；新增或修改请联系管理员或乡镇审核员。")
            note.setStyleSheet("color: #555;")
            layout.addWidget(note)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.summary)

        self.add_village_button.clicked.connect(self.add_village)
        self.add_group_button.clicked.connect(self.add_group)
        self.edit_button.clicked.connect(self.edit_selected)
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: self.edit_selected() if self.may_edit else None)
        self.refresh()

    # ------------------------------------------------------------------ tree

    def refresh(self, select: int | None = None) -> None:
        select = select if select is not None else self.selected_id()
        limit = self.ctx.user.village_ids if self.ctx.user else None
        villages = self.ctx.read(regions.tree, limit)
        self.nodes.clear()
        self.village_of.clear()
        self.tree.clear()
        chosen = None
        groups = households = 0
        for v in villages:
            item = self._item(v.id, v.name, v.code, v.rural_population, v.households)
            self.village_of[v.id] = v.id
            self.nodes[v.id] = v
            for g in v.groups:
                child = self._item(g.id, g.name, g.code, None, g.households)
                item.addChild(child)
                self.nodes[g.id] = g
                self.village_of[g.id] = v.id
                chosen = child if g.id == select else chosen
            groups += len(v.groups)
            households += v.households
            self.tree.addTopLevelItem(item)
            chosen = item if v.id == select else chosen
        self.tree.expandAll()
        if chosen is not None:
            self.tree.setCurrentItem(chosen)
        self.summary.setText(f"共 {len(villages)} 个行政村，{groups} 个村民小组，{households} 户")
        self._selection_changed()

    @staticmethod
    def _item(region_id: int, name: str, code: str | None, population: int | None,
              households: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, code or "", "" if population is None else str(population), str(households)])
        item.setData(COL_NAME, ID_ROLE, region_id)
        for col in (COL_POPULATION, COL_HOUSEHOLDS):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def selected_id(self) -> int | None:
        item = self.tree.currentItem()
        return item.data(COL_NAME, ID_ROLE) if item is not None else None

    def _selection_changed(self) -> None:
        has = self.selected_id() is not None
        self.add_group_button.setEnabled(has)
        self.edit_button.setEnabled(has)
        set_error(self.error, None)

    # ------------------------------------------------------------------ actions

    def _run(self, fn, *args, **kwargs):
        """Run a write; on refusal show the Chinese message under the tree and return None."""
        try:
            return self.ctx.run(fn, *args, **kwargs)
        except ServiceError as exc:
            set_error(self.error, exc)
            return None

    def add_village(self) -> int | None:
        dialog = RegionDialog("新增行政村", self, village=True)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        v = dialog.values()
        new_id = self._run(regions.add_village, v.name, v.code, v.rural_population)
        if new_id is not None:
            self.refresh(select=new_id)
        return new_id

    def add_group(self) -> int | None:
        selected = self.selected_id()
        if selected is None:
            set_error(self.error, "请先选择一个行政村")
            return None
        village_id = self.village_of[selected]
        village = self.nodes[village_id]
        dialog = RegionDialog("新增村民小组", self, village=False, context=village.name)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        v = dialog.values()
        new_id = self._run(regions.add_group, village_id, v.name, v.code)
        if new_id is not None:
            self.refresh(select=new_id)
        return new_id

    def edit_selected(self) -> bool:
        selected = self.selected_id()
        if selected is None:
            set_error(self.error, "请先选择要编辑的行政村或村民小组")
            return False
        node = self.nodes[selected]
        is_village = isinstance(node, regions.VillageNode)
        old = RegionValues(node.name, node.code, node.rural_population if is_village else None)
        context = "" if is_village else self.nodes[self.village_of[selected]].name
        dialog = RegionDialog("编辑行政村" if is_village else "编辑村民小组", self, village=is_village,
                              values=old, context=context)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        new = dialog.values()
        if is_village and new.rural_population is None and old.rural_population is not None:
            set_error(self.error, "农村户籍人口已填写过，不能清空；如有误请改为正确的数值")
            return False
        changes = {}
        if new.name != old.name:
            changes["name"] = new.name
        if new.code != old.code:
            changes["code"] = new.code or ""
        if is_village and new.rural_population != old.rural_population:
            changes["rural_population"] = new.rural_population
        if not changes:
            return False
        done = self._run(lambda s: regions.update_region(s, selected, **changes) or True)
        if done:
            self.refresh(select=selected)
        return bool(done)
