"""首页: the township at a glance (services.overview), every figure clickable to the list behind it.

The figures are computed off the GUI thread (views/operations.py: assess and the warnings take seconds at county
scale); the page shows "正在统计" meanwhile and never blocks the window.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..services import overview
from ..services.codes import codes
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import error_label, set_error, show_error
from .operations import Operation, operations, query
from .warnings_page import Tile
from .widgets.bar_chart import BarChart

# What a tile opens: (page key, filter) handed to MainWindow through `go`.
TILES = (
    # group, key, title, alert when not zero
    ("本乡镇", "households", "农户（户）", False),
    ("本乡镇", "people", "人口（人）", False),
    ("本乡镇", "monitored", "未消除风险的监测对象（户）", False),
    ("本乡镇", "suggested", "建议纳入（疑似应纳未纳）", True),
    ("本月 / 本年", "identified", "识别纳入（户）", False),
    ("本月 / 本年", "removed", "风险消除（户）", False),
    ("本月 / 本年", "clues", "登记线索（条）", False),
    ("本月 / 本年", "clues_open", "待处理线索（条）", True),
    ("待办", "overdue", "逾期步骤", True),
    ("待办", "due_soon", "即将到期", False),
    ("待办", "plan_overdue", "帮扶计划逾期", True),
    ("待办", "revisit_due", "回访到期", True),
    ("待办", "villages", "超过 2% 的村", True),
    ("待办", "quality", "数据质量问题", True),
)


class HomePage(QWidget):
    go = Signal(str)  # a tile's key: MainWindow opens the list behind it

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.data: overview.Overview | None = None
        self._job: Operation | None = None

        self.title = QLabel()
        self.refresh_button = QPushButton("刷新")
        self.refresh_button.setToolTip("重新统计（F5）")
        self.refresh_button.clicked.connect(self.refresh)
        self.busy = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addSpacing(16)
        top.addWidget(self.refresh_button)
        top.addWidget(self.busy, 1)

        self.tiles: dict[str, Tile] = {}
        groups: dict[str, QGridLayout] = {}
        tile_row = QHBoxLayout()
        for group, key, title, _alert in TILES:
            if group not in groups:
                # a village clerk's figures are their villages' (overview's village_ids): the box says so
                box = QGroupBox("本村" if group == "本乡镇" and ctx.user is not None and ctx.user.village_scoped
                                else group)
                grid = QGridLayout(box)
                grid.setSpacing(6)
                groups[group] = grid
                tile_row.addWidget(box, 2 if group == "待办" else 1)
            tile = Tile(title)
            tile.setToolTip(f"单击查看：{title}")
            tile.clicked.connect(lambda k=key: self.go.emit(k))
            self.tiles[key] = tile
            grid = groups[group]
            n = grid.count()
            columns = 3 if group == "待办" else 2
            grid.addWidget(tile, n // columns, n % columns)

        self.by_village = BarChart("各村农户与监测对象（户）")
        self.by_village.clicked.connect(lambda _i: self.go.emit("monitored"))
        self.by_month = BarChart("本年各月识别纳入与风险消除（户）")
        self.by_category = QLabel()
        self.by_category.setWordWrap(True)
        charts = QHBoxLayout()
        charts.addWidget(self.by_village, 3)
        charts.addWidget(self.by_month, 2)

        self.error = error_label(self)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addLayout(tile_row)
        layout.addWidget(self.by_category)
        layout.addLayout(charts, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._show_title()

    # ------------------------------------------------------------------ data

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.data is None or self.data.as_of != self.ctx.today() or self.data.year != self.ctx.year:
            self.refresh()

    def _show_title(self) -> None:
        year = self.ctx.year or "未设置"
        self.title.setText(f"<h3>首页（{year} 年度，截至 {self.ctx.today()}）</h3>")

    def refresh(self) -> None:
        """Start counting on a pool thread; a refresh while one runs waits for it."""
        self._show_title()
        if self.ctx.year is None:
            set_error(self.error, "未设置当前工作年度：请在“年度设置”中设置后再查看首页")
            return
        if self._job is not None:
            return
        year, as_of = self.ctx.year, self.ctx.today()
        villages = self.ctx.user.village_ids if self.ctx.user else None
        ctx = self.ctx
        self._job = query(self, lambda _task: ctx.read(overview.overview, year, as_of, village_ids=villages),
                          self._done, on_error=self._failed)
        self.busy.setText("正在统计……")
        self.refresh_button.setEnabled(False)

    def wait(self, ms: int = 30000) -> bool:
        """For tests and closing: wait for a running count."""
        return operations().wait(ms)

    def _finished(self) -> None:
        self._job = None
        self.busy.setText("")
        self.refresh_button.setEnabled(True)

    def _failed(self, exc) -> None:
        self._finished()
        if isinstance(exc, ServiceError):
            set_error(self.error, exc)
        else:
            show_error(self, exc)

    def _done(self, o: overview.Overview) -> None:
        self._finished()
        self.data = o
        set_error(self.error, o.settings_missing)
        monitored = sum(v.monitored_households for v in o.villages)
        counts = {
            "households": (o.households, None), "people": (o.people, None), "monitored": (monitored, None),
            "suggested": (o.suggested, None),
            "identified": (o.identified_month, o.identified_year), "removed": (o.removed_month, o.removed_year),
            "clues": (o.clues_month, o.clues_year), "clues_open": (o.clues_open, None),  # open now: no month
            "overdue": (o.overdue_steps, None), "due_soon": (o.due_soon, None),
            "plan_overdue": (o.plans_overdue, None), "revisit_due": (o.revisits_due, None),
            "villages": (o.villages_over_ratio, None), "quality": (o.quality_findings, None),
        }
        for _group, key, title, alert in TILES:
            now, year_total = counts[key]
            tile = self.tiles[key]
            tile.set_count(now, alert)
            if year_total is not None:
                tile.caption.setText(f"{title}<br/>本月 {now} · 本年 {year_total}")
        names = codes("category")
        parts = [f"{names.name(c, c)} {n} 户" for c, n in sorted(o.by_category.items())]
        self.by_category.setText("未消除风险的监测对象按类别：" + ("，".join(parts) if parts else "无"))
        self.by_village.set_data([v.village for v in o.villages],
                                 [("农户", [v.households for v in o.villages]),
                                  ("监测对象", [v.monitored_households for v in o.villages]),
                                  ("建议纳入", [v.suggested for v in o.villages])])
        self.by_month.set_data([f"{m}月" for m in range(1, 13)],
                               [("识别纳入", o.identified_by_month), ("风险消除", o.removed_by_month)])

    def tile_count(self, key: str) -> str:
        """The number a tile shows (tests read it as a person would)."""
        return self.tiles[key].count.text()


