"""Opens the main window and every dialog on a real X display (Xvfb, xcb platform) and prints, as JSON, each
window's frame and every visible button's rectangle in screen coordinates. Run by test_fits_1366.py in its own
process (the test process runs Qt offscreen). Usage: python geometry_probe.py WORKDIR"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(workdir: Path) -> int:
    os.environ["FANPIN_DATA_DIR"] = str(workdir / "data")
    from PySide6.QtWidgets import QAbstractButton, QWidget

    from desktop.app import create_main_window, setup_application
    from desktop.services import auth, measures, regions, register, settings
    from desktop.services.context import AppContext
    from desktop.services.db import init_db, sqlite_url
    from desktop.services.idnumber import make_id
    from desktop.services.register import HouseholdData, MemberData

    auth.SCRYPT_N = 2**4
    app = setup_application(["probe"])
    db = init_db(sqlite_url(workdir / "probe.sqlite3"))
    empty = init_db(sqlite_url(workdir / "empty.sqlite3"))  # the first-run wizard: a database without users
    today = date(2024, 11, 20)
    with db.session(bootstrap="probe") as s:
        regions.init_township(s, "稷下街道", county="临淄区", city="淄博市", province="山东省")
        v1 = regions.add_village(s, "东村", rural_population=1200)
        g1 = regions.add_group(s, v1, "一组")
        settings.set_year(s, 2024, monitoring_line="7100")
        settings.set_current_year(s, 2024)
        auth.create_user(s, "admin", "管理员", "admin", "Jx-adm-2024")
        s.commit()
    with db.session() as s:
        user = auth.authenticate(s, "admin", "Jx-adm-2024")
        s.commit()
    ctx = AppContext(db=db, user=user, year=2024, today=lambda: today)
    members = [MemberData(name="张三", sex="1", id_number=make_id("370305", date(1970, 3, 5), 1, "1"), relation="01",
                          labor="02", a17_medical=True),
               MemberData(name="李四", sex="2", id_number=make_id("370305", date(1972, 8, 9), 2, "2"), relation="02",
                          labor="02", a17_medical=True)]
    hid = ctx.run(register.save_household, HouseholdData(household_no="3703050010010001", village_id=v1,
                                                          group_id=g1, phone="13800000000"), members, today, user)
    _data, saved_members = ctx.read(register.get_household, hid)
    from desktop.services import workflow
    clue = ctx.run(workflow.record_clue, "01", date(2024, 11, 4), household_id=hid, as_of=today)
    case_id = ctx.run(workflow.open_identification, clue, as_of=today)
    ctx.run(workflow.complete_step, case_id, "verify", date(2024, 11, 5), data={"authorized": True}, as_of=today)
    case = ctx.read(workflow.view, case_id, today)

    window = create_main_window(ctx)
    window.show()
    app.processEvents()

    from desktop.views.clue_dialog import ApplicationDialog, ClueDialog, GreenChannelDialog, RemovalDialog
    from desktop.views.correction_dialogs import (
        CaseDateDialog,
        CloseHouseholdDialog,
        ReopenHouseholdDialog,
        StepCorrectionDialog,
        VoidCaseDialog,
    )
    from desktop.views.crash_dialog import CrashDialog
    from desktop.views.export_dialog import ExportDialog
    from desktop.views.first_run import FirstRunWizard
    from desktop.views.household_editor import HouseholdEditor
    from desktop.views.import_wizard import ImportWizard
    from desktop.views.login import ChangePasswordDialog, LoginDialog
    from desktop.views.member_dialogs import MemberEventDialog, MoveMemberDialog
    from desktop.views.plan_editor import MeasureDialog, PlanEditor
    from desktop.views.screening_page import VisitDialog
    from desktop.views.users_page import AddUserDialog, PasswordDialog, VillagesDialog
    from desktop.views.villages_page import RegionDialog

    users = ctx.read(auth.list_users)
    names = {v1: "东村"}
    makers = {
        "main window": lambda: window,
        "户编辑（已有户）": lambda: HouseholdEditor(ctx, hid, window),
        "户编辑（新增户）": lambda: HouseholdEditor(ctx, None, window, village_id=v1, group_id=g1),
        "成员变更（新增）": lambda: MemberEventDialog(ctx, hid, ["birth", "married_in", "moved_in"], None, window),
        "成员变更（减少）": lambda: MemberEventDialog(ctx, hid, ["death", "married_out", "moved_out"],
                                                 saved_members[1], window),
        "迁往他户": lambda: MoveMemberDialog(ctx, saved_members[1], hid, window),
        "登记线索": lambda: ClueDialog(ctx, window),
        "绿色通道": lambda: GreenChannelDialog(ctx, window),
        "风险消除": lambda: RemovalDialog(ctx, window),
        "申请回退": lambda: ApplicationDialog(ctx, "rollback", window),
        "帮扶措施": lambda: MeasureDialog(ctx, hid, parent=window),
        "帮扶计划": lambda: PlanEditor(ctx, hid, None, window),
        "走访": lambda: VisitDialog(3, today, window),
        "新增用户": lambda: AddUserDialog(ctx, names, window),
        "重置密码": lambda: PasswordDialog(ctx, users[0], window),
        "负责的村": lambda: VillagesDialog(ctx, users[0], names, window),
        "新增行政村": lambda: RegionDialog("新增行政村", window, village=True),
        "登录": lambda: LoginDialog(ctx),
        "修改密码": lambda: ChangePasswordDialog(ctx, window),
        "首次启动向导": lambda: FirstRunWizard(AppContext(empty, bootstrap=True), today=lambda: today),
        "导入 Excel": lambda: ImportWizard(ctx, window),
        "导出 Excel": lambda: ExportDialog(ctx, window),
        "程序内部错误": lambda: CrashDialog("Traceback…\n" * 80, workdir / "log.txt", window),
        "更正步骤": lambda: StepCorrectionDialog(ctx, case, case.steps[0], window),
        "更正发起日期": lambda: CaseDateDialog(ctx, case, window),
        "作废流程": lambda: VoidCaseDialog(ctx, case, window),
        "户注销": lambda: CloseHouseholdDialog(ctx, hid, "3703050010010001", window),
        "恢复已注销的户": lambda: ReopenHouseholdDialog(ctx, hid, "3703050010010001", window),
    }
    del measures  # (imported for the plan dialogs' services)
    out = []
    for name, make in makers.items():
        w: QWidget = make()
        w.show()
        for _ in range(5):
            app.processEvents()
        frame = w.frameGeometry()
        buttons = []
        for b in w.findChildren(QAbstractButton):
            if not b.isVisible() or not b.text():
                continue
            top_left = b.mapToGlobal(b.rect().topLeft())
            buttons.append({"text": b.text(), "x": top_left.x(), "y": top_left.y(),
                            "w": b.width(), "h": b.height()})
        screen = w.screen().availableGeometry()
        out.append({"name": name, "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
                    "screen": [screen.x(), screen.y(), screen.width(), screen.height()], "buttons": buttons})
        if w is not window:
            w.hide()
            w.deleteLater()
            app.processEvents()
    print(json.dumps(out, ensure_ascii=False))
    window.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
