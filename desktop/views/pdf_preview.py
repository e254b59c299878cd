"""Pages of a PDF shown inside the program, and sent to a printer.

PySide6-Essentials has no QtPdf, so pages are rasterised with pypdfium2 straight into a QImage
(no Pillow). The preview draws only the pages in view and keeps the last few images, so a
document of a thousand forms opens at once. PDFium is not thread-safe: everything here runs on
the GUI thread.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

import pypdfium2 as pdfium
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPageSize, QPainter, QShortcut
from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..services.errors import ServiceError

ZOOMS = (0.25, 0.33, 0.5, 0.67, 0.75, 0.85, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
GAP = 14          # pixels between pages and around them
CACHE_PAGES = 12  # page images kept (the visible ones and a few around)
BACKGROUND = QColor("#808890")
PROGRESS_DELAY_MS = 500
PRINT_MAX_DPI = 600  # an A4 page at 600 dpi is a 100 MB bitmap: enough for any office printer

_FORMATS = {  # pypdfium2 bitmap mode → QImage format
    "L": QImage.Format.Format_Grayscale8,
    "BGR": QImage.Format.Format_BGR888,
    "RGB": QImage.Format.Format_RGB888,
    "BGRX": QImage.Format.Format_RGB32,   # little-endian B,G,R,x bytes = 0xffRRGGBB words
    "BGRA": QImage.Format.Format_ARGB32,
    "RGBX": QImage.Format.Format_RGBX8888,
    "RGBA": QImage.Format.Format_RGBA8888,
}


def open_pdf(source: Path | str | bytes) -> pdfium.PdfDocument:
    """A document read into memory, so the file is not held open (Windows could not delete it)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return pdfium.PdfDocument(data)


def render_page(page: pdfium.PdfPage, scale: float, rotation: int = 0) -> QImage:
    """The page as an image of `scale` pixels per PDF point (72 per inch)."""
    bitmap = page.render(scale=scale, rotation=rotation, prefer_bgrx=True, rev_byteorder=True)
    fmt = _FORMATS.get(bitmap.mode)
    if fmt is None:
        raise ValueError(f"unsupported bitmap mode {bitmap.mode}")
    image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, fmt)
    return image.copy()  # the QImage above only borrows the bitmap's buffer


def page_list(count: int, ranges: Sequence[tuple[int, int]] | None) -> list[int]:
    """0-based page indexes of 1-based inclusive ranges (None: all pages), clipped to the document."""
    if not ranges:
        return list(range(count))
    out: list[int] = []
    for first, last in ranges:
        out += [i for i in range(max(first, 1) - 1, min(last, count)) if i not in out]
    return out


def print_pdf(source: Path | str | bytes, printer: QPrinter, pages: Sequence[int] | None = None,
              progress: Callable[[int, int], bool] | None = None) -> int:
    """Print pages (0-based; None: all) of a PDF on `printer`, each fitted to the printable area
    and turned when its orientation differs from the paper's. Copies are made here when the
    printer cannot make them. `progress(done, total)` returning False stops (the job is aborted).
    Returns the number of sheets sent."""
    doc = open_pdf(source)
    try:
        order = list(range(len(doc))) if pages is None else [i for i in pages if 0 <= i < len(doc)]
        if printer.pageOrder() == QPrinter.PageOrder.LastPageFirst:
            order.reverse()
        copies = 1 if printer.supportsMultipleCopies() else max(1, printer.copyCount())
        if printer.collateCopies():
            sequence = order * copies
        else:
            sequence = [i for i in order for _ in range(copies)]
        if not sequence:
            return 0
        painter = QPainter()
        if not painter.begin(printer):
            raise ServiceError("无法开始打印：打印机不可用或输出文件无法写入")
        try:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            for n, index in enumerate(sequence):
                if progress is not None and not progress(n, len(sequence)):
                    printer.abort()
                    return n
                if n:
                    printer.newPage()
                _print_page(doc[index], printer, painter)
            if progress is not None:
                progress(len(sequence), len(sequence))
        finally:
            painter.end()
        return len(sequence)
    finally:
        doc.close()


def _print_page(page: pdfium.PdfPage, printer: QPrinter, painter: QPainter) -> None:
    area = printer.pageRect(QPrinter.Unit.DevicePixel)
    w, h = page.get_size()
    turn = (w > h) != (area.width() > area.height())
    if turn:
        w, h = h, w
    fit = min(area.width() / w, area.height() / h)  # device pixels per point
    dpi = max(printer.resolution(), 1)
    scale = fit * min(1.0, PRINT_MAX_DPI / dpi)
    image = render_page(page, scale, rotation=270 if turn else 0)  # landscape: top to the left edge
    target = QRectF((area.width() - w * fit) / 2, (area.height() - h * fit) / 2, w * fit, h * fit)
    painter.drawImage(target, image)


class _Canvas(QWidget):
    """The pages stacked vertically on a grey desk, painted as they come into view."""

    def __init__(self, preview: PdfPreview):
        super().__init__()
        self.preview = preview
        self.rects: list[QRect] = []

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), BACKGROUND)
        preview = self.preview
        if not self.rects:
            painter.setPen(QColor("white"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, preview.placeholder)
            return
        for index, rect in enumerate(self.rects):
            if not rect.intersects(event.rect()):
                continue
            painter.fillRect(rect.translated(3, 3), QColor(0, 0, 0, 70))
            image = preview.page_image(index)
            if image is None:
                painter.fillRect(rect, QColor("white"))
            else:
                painter.drawImage(rect, image)


class PdfPreview(QWidget):
    """A scrollable view of a PDF's pages with zoom (适合宽度, 100%, +/−) and "第 X 页 共 Y 页"."""

    currentPageChanged = Signal(int)  # 0-based

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.placeholder = "尚无预览"
        self._doc: pdfium.PdfDocument | None = None
        self._source: bytes | None = None  # the PDF shown (for printing)
        self._open: list[pdfium.PdfDocument] = []  # closed with the widget, whoever holds the Python wrapper
        def close(*_args, docs=self._open):
            while docs:
                docs.pop().close()
        self.destroyed.connect(close)
        QCoreApplication.instance().aboutToQuit.connect(close)
        self._sizes: list[tuple[float, float]] = []  # page sizes in points
        self._cache: OrderedDict[tuple[int, float], QImage] = OrderedDict()
        self._fit_width = True
        self._zoom = 1.0
        self._current = 0

        self.zoom_out_button = self._tool("−", "缩小（Ctrl+−）", lambda: self.step_zoom(-1))
        self.zoom_in_button = self._tool("+", "放大（Ctrl++）", lambda: self.step_zoom(1))
        self.actual_button = self._tool("100%", "实际大小", lambda: self.set_zoom(1.0))
        self.fit_button = self._tool("适合宽度", "页面宽度适合窗口", self.fit_width)
        self.fit_button.setCheckable(True)
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(44)
        self.prev_button = self._tool("上一页", "上一页（PgUp）", lambda: self.go_to(self._current - 1))
        self.next_button = self._tool("下一页", "下一页（PgDn）", lambda: self.go_to(self._current + 1))
        self.page_label = QLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.zoom_out_button, self.zoom_label, self.zoom_in_button, self.actual_button, self.fit_button):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.prev_button, self.page_label, self.next_button):
            bar.addWidget(w)

        self.canvas = _Canvas(self)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.canvas)
        self.scroll.setWidgetResizable(False)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroll.setStyleSheet(f"QScrollArea {{ background: {BACKGROUND.name()}; }}")
        self.scroll.viewport().installEventFilter(self)
        self.scroll.verticalScrollBar().valueChanged.connect(self._scrolled)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll, 1)

        for keys, fn in ((QKeySequence.StandardKey.ZoomIn, lambda: self.step_zoom(1)),
                         (QKeySequence.StandardKey.ZoomOut, lambda: self.step_zoom(-1)),
                         (QKeySequence(Qt.Key.Key_PageUp), lambda: self.go_to(self._current - 1)),
                         (QKeySequence(Qt.Key.Key_PageDown), lambda: self.go_to(self._current + 1))):
            QShortcut(keys, self, activated=fn, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._layout_pages()

    def _tool(self, text: str, tip: str, fn) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(fn)
        return button

    # ------------------------------------------------------------------ the document

    def load(self, source: Path | str | bytes) -> int:
        """Show a PDF (a path or its bytes) from its first page, fitted to the width; returns the page count."""
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        doc = open_pdf(data)
        self.clear()
        self._fit_width = True
        self._doc, self._source = doc, data
        self._open.append(doc)
        self._sizes = [doc.get_page_size(i) for i in range(len(doc))]
        self._layout_pages()
        self.go_to(0)
        return len(self._sizes)

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self._cache.clear()
        if self._doc is not None:
            self._open.remove(self._doc)
            self._doc.close()
        self._doc = self._source = None
        self._sizes = []
        self._current = 0
        self._layout_pages()

    def print_document(self, printer: QPrinter | None = None, name: str = "") -> int:
        """Print the document shown: on `printer` as it is set up, or after the print dialog (A4;
        all pages, a range or the page in view), with a progress dialog that can cancel. Returns the
        sheets sent (0: nothing printed). Raises ValueError when the printer cannot start."""
        if self._source is None:
            return 0
        count = self.page_count()
        if printer is None:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
            printer.setDocName(name)
            dialog = QPrintDialog(printer, self)
            dialog.setWindowTitle(f"打印 {name}" if name else "打印")
            dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintCurrentPage, True)
            dialog.setMinMax(1, count)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return 0
        pages = self._chosen_pages(printer)
        progress = QProgressDialog("正在打印……", "取消", 0, count, self)
        progress.setWindowTitle("打印")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(PROGRESS_DELAY_MS)

        def step(done: int, total: int) -> bool:
            progress.setMaximum(total)
            progress.setValue(done)
            return not progress.wasCanceled()
        try:
            return print_pdf(self._source, printer, pages, step)
        finally:
            progress.close()

    def _chosen_pages(self, printer: QPrinter) -> list[int] | None:
        which = printer.printRange()
        if which == QPrinter.PrintRange.CurrentPage:
            return [self._current]
        if which == QPrinter.PrintRange.PageRange:
            ranges = printer.pageRanges()
            spans = ([(r.from_, r.to) for r in ranges.toRangeList()] if not ranges.isEmpty()
                     else [(printer.fromPage(), printer.toPage())])
            return page_list(self.page_count(), spans)
        return None

    def page_count(self) -> int:
        return len(self._sizes)

    def current_page(self) -> int:
        return self._current

    def page_image(self, index: int) -> QImage | None:
        """The image of page `index` at the current zoom (rendered when first needed)."""
        if self._doc is None or not 0 <= index < len(self._sizes):
            return None
        dpr = self.devicePixelRatioF()
        key = (index, round(self.scale() * dpr, 4))
        image = self._cache.get(key)
        if image is None:
            page = self._doc[index]
            try:
                image = render_page(page, key[1])
            finally:
                page.close()
            image.setDevicePixelRatio(dpr)
            self._cache[key] = image
            while len(self._cache) > CACHE_PAGES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return image

    # ------------------------------------------------------------------ zoom

    def scale(self) -> float:
        """Screen pixels per PDF point."""
        if self._fit_width and self._sizes:
            room = self.scroll.viewport().width() - 2 * GAP
            return max(0.1, room / max(w for w, _h in self._sizes))
        return self._zoom * self.logicalDpiX() / 72

    def zoom(self) -> float:
        """Zoom as a fraction of the printed size (1.0 = 100%)."""
        return self.scale() * 72 / self.logicalDpiX()

    def set_zoom(self, zoom: float) -> None:
        self._fit_width = False
        self._zoom = min(max(zoom, ZOOMS[0]), ZOOMS[-1])
        self._relayout()

    def fit_width(self) -> None:
        self._fit_width = True
        self._relayout()

    def step_zoom(self, direction: int) -> None:
        now = self.zoom()
        if direction > 0:
            self.set_zoom(next((z for z in ZOOMS if z > now + 0.005), ZOOMS[-1]))
        else:
            self.set_zoom(next((z for z in reversed(ZOOMS) if z < now - 0.005), ZOOMS[0]))

    def _relayout(self) -> None:
        keep = self._current
        self._layout_pages()
        self.go_to(keep)

    def _layout_pages(self) -> None:
        s = self.scale()
        rects, y, width = [], GAP, 0
        for w, h in self._sizes:
            rects.append(QRect(0, y, round(w * s), round(h * s)))
            y += round(h * s) + GAP
            width = max(width, round(w * s))
        total = QSize(width + 2 * GAP, y) if rects else QSize(10, 10)
        view = self.scroll.viewport().size()
        total = total.expandedTo(QSize(view.width(), view.height() if not rects else 0))
        self.canvas.rects = [r.translated((total.width() - r.width()) // 2, 0) for r in rects]
        self.canvas.resize(total)
        self.canvas.update()
        self._update_controls()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.scroll.viewport():
            if event.type() == QEvent.Type.Resize:
                if self._fit_width or not self._sizes:
                    self._relayout()
            elif event.type() == QEvent.Type.Wheel and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.step_zoom(1 if event.angleDelta().y() > 0 else -1)
                return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------ pages

    def go_to(self, index: int) -> None:
        """Scroll page `index` (0-based) to the top of the view."""
        if not self.canvas.rects:
            self._set_current(0)
            return
        index = min(max(index, 0), len(self.canvas.rects) - 1)
        self.scroll.verticalScrollBar().setValue(self.canvas.rects[index].top() - GAP)
        self._set_current(index)

    def _scrolled(self, value: int) -> None:
        probe = value + self.scroll.viewport().height() // 3
        for index, rect in enumerate(self.canvas.rects):
            if rect.bottom() + GAP >= probe:
                self._set_current(index)
                return

    def _set_current(self, index: int) -> None:
        changed = index != self._current
        self._current = index
        self._update_controls()
        if changed:
            self.currentPageChanged.emit(index)

    def visible_pages(self) -> list[int]:
        top = self.scroll.verticalScrollBar().value()
        view = QRect(QPoint(0, top), self.scroll.viewport().size())
        return [i for i, r in enumerate(self.canvas.rects) if r.intersects(view.adjusted(-10 ** 6, 0, 10 ** 6, 0))]

    def page_text(self) -> str:
        return f"第 {self._current + 1} 页 共 {len(self._sizes)} 页" if self._sizes else ""

    def _update_controls(self) -> None:
        has = bool(self._sizes)
        self.page_label.setText(self.page_text())
        self.prev_button.setEnabled(has and self._current > 0)
        self.next_button.setEnabled(has and self._current < len(self._sizes) - 1)
        for b in (self.zoom_in_button, self.zoom_out_button, self.actual_button, self.fit_button):
            b.setEnabled(has)
        self.fit_button.setChecked(self._fit_width)
        self.zoom_label.setText(f"{round(self.zoom() * 100)}%" if has else "")
