"""Headless command line (SPEC §11). Errors go to stderr in Chinese with a non-zero exit:
1 a refused request (a ServiceError), 2 wrong usage, 3 a fault in the program (one Chinese line naming the log
file; the traceback is in the log, desktop/logs.py)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from pathlib import Path

from . import APP_NAME, __version__, logs

# Every sub-command of SPEC §11: these never open the window, even before they are implemented.
COMMANDS = ("init", "config", "import", "export", "assess", "check", "report", "demo", "recover")


class UsageError(Exception):
    """A command that cannot run as asked; code 2 is wrong usage, 1 a refused request."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse that speaks Chinese about wrong usage and exits 2."""

    MESSAGES = (("the following arguments are required", "缺少必需参数"),
                ("unrecognized arguments", "无法识别的参数"), ("invalid choice", "无效的选择"),
                ("expected one argument", "需要一个值"), ("invalid", "无效"), ("argument ", "参数 "))

    def error(self, message: str):  # argparse API
        for english, chinese in self.MESSAGES:
            message = message.replace(english, chinese)
        sys.stderr.write(f"用法错误：{message}\n")
        self.print_usage(sys.stderr)
        raise SystemExit(2)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期“{text}”无效，应为 YYYY-MM-DD") from None


def _year(text: str) -> int:
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise argparse.ArgumentTypeError(f"年度“{text}”无效")
    return int(text)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"“{text}”应为正整数")
    return int(text)


DB_HELP = ("数据库：SQLite 文件路径，或县级数据库的地址 postgresql+psycopg://用户@主机:端口/库名"
           "（其密码取自 PGPASSWORD、pgpass 文件或系统钥匙串，不写在命令行或配置文件中）")


def _db_target(text: str) -> Path | str:
    """--db: a server's database URL (the county edition), or an SQLite file (a path or an sqlite:/// URL)."""
    from .services.targets import database_target  # not db: a path needs no SQLAlchemy to parse
    return database_target(text)


def _shown(target: Path | str) -> str:
    from .services.db import shown_url
    return shown_url(str(target))


def _user_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="用户名（优先于环境变量 FANPIN_USER）；密码取自环境变量 FANPIN_PASSWORD，"
                                   "或在终端上提示输入")


def build_parser(argv: list[str] | None = None) -> Parser:
    """The command line's parser. The report kinds (their names and titles in the help) are read only when `argv`
    can need them: no command, help, `report` or something not a command; reading them imports the reports and
    with them SQLAlchemy, the models and the rules, about 0.9 s of CPU (2-core machine, load ~5) that
    every other command's start (and its usage error) paid before."""
    p = Parser(prog="python -m desktop", description=f"{APP_NAME}（无窗口命令）")
    sub = p.add_subparsers(dest="command", parser_class=Parser)

    s = sub.add_parser("init", help="创建空数据库并配置乡镇")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    s.add_argument("--township", required=True)
    s.add_argument("--county")
    s.add_argument("--city")
    s.add_argument("--province")
    s.add_argument("--code", help="乡镇 12 位统计用区划代码")
    s.add_argument("--year", type=_year, help="当前工作年度")
    s.add_argument("--monitoring-line", help="当前年度监测线（元/人·年）")
    s.add_argument("--admin-user", required=True, help="第一个管理员的用户名")
    s.add_argument("--admin-password", required=True, help="第一个管理员的密码")

    s = sub.add_parser("config", help="年度设置：监测线、当地农村人均纯收入、县农村居民人均可支配收入")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("--year", required=True, type=_year)
    s.add_argument("--monitoring-line")
    s.add_argument("--rural-average")
    s.add_argument("--county-income")
    s.add_argument("--period-start", type=_date)
    s.add_argument("--period-end", type=_date)
    s.add_argument("--status-date", type=_date, help="状态时点")
    s.add_argument("--current", action="store_true", help="设为当前工作年度")

    s = sub.add_parser("import", help="导入交换工作簿或全国系统一人一行的名单（.xlsx/.xls/.csv，全部检查无误才写入）")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("file", type=Path, metavar="FILE.xlsx|.xls|.csv")
    s.add_argument("--year", type=_year, help="收入各列所属年度（默认当前工作年度）")
    s.add_argument("--accept-unknown-columns", action="store_true",
                   help="文件中有不认识的要紧列（状态、户类型、类别、收入、风险等）时仍然导入（这些列不保存）")
    s.add_argument("--create-villages", action="store_true",
                   help="村名与已有的行政村相近（如 杨平村 / 杨坪村）时仍按新村建立")
    s.add_argument("--include-hidden", action="store_true",
                   help="文件中隐藏的工作表、隐藏行或隐藏列会被当作数据读取时仍然导入（不加此项则拒绝并列出它们）")

    s = sub.add_parser("export", help="导出 Excel 工作簿：本程序的交换格式，或全国系统的监测对象信息格式")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("file", type=Path, metavar="FILE.xlsx")
    s.add_argument("--year", type=_year, help="收入各列所属年度（默认当前工作年度）")
    s.add_argument("--layout", choices=("program", "national"), default="program",
                   help="program：交换工作簿（户信息、家庭成员…，默认）；national：全国系统一人一行的监测对象信息")

    s = sub.add_parser("assess", help="按年度测算收入并给出建议类别及理由（JSON）")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("--year", required=True, type=_year)
    s.add_argument("--as-of", type=_date, help="按此日期判断（默认今天）")
    s.add_argument("--household", action="append", help="户编号（可重复）")

    s = sub.add_parser("check", help="数据质量检查（JSON）")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("--year", required=True, type=_year)
    s.add_argument("--as-of", type=_date, help="按此日期判断（默认今天）")

    if argv is None or not argv or argv[0] == "report" or argv[0] not in HANDLERS:
        from .services.reports import REPORT_KINDS
        s = sub.add_parser("report", help="生成打印用的 PDF 文书：" + "、".join(k.title for k in REPORT_KINDS.values()))
        s.add_argument("kind", choices=list(REPORT_KINDS), metavar="KIND",
                       help="、".join(f"{k.key}（{k.title}）" for k in REPORT_KINDS.values()))
    else:  # another command: its parse never reaches this parser
        s = sub.add_parser("report", help="生成打印用的 PDF 文书")
        s.add_argument("kind", metavar="KIND")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--year", type=_year, help="年度（默认当前工作年度）")
    s.add_argument("--as-of", type=_date, help="文书日期与判断日期（默认：当前年度为今天，往年为该年 12 月 31 日）")
    s.add_argument("--village", help="行政村名称")
    s.add_argument("--household", action="append", help="户编号（可重复）；公示可重印已完成公示的户")

    s = sub.add_parser("demo", help="生成演示用的乡镇数据（试用与性能测试）")
    s.add_argument("--db", required=True, type=_db_target, help=DB_HELP)
    _user_option(s)
    s.add_argument("--households", required=True, type=_positive_int)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--year", type=_year)
    s.add_argument("--as-of", type=_date)

    s = sub.add_parser("recover", help="所有管理员密码都遗失时：用首次设置时打印的恢复密钥为管理员设置新密码")
    s.add_argument("--db", required=True, type=_db_target, help="加密的数据库文件（县级数据库没有恢复密钥）")
    s.add_argument("--recovery-key", help="恢复密钥（不给出时在终端上提示输入）")
    s.add_argument("--admin-user", required=True, help="管理员的用户名（不存在时新建一个管理员）")
    s.add_argument("--admin-password", required=True, help="新密码")
    return p


def _open_new(target: Path | str):
    """The database of init and a new demo: a new SQLite file is created encrypted (its recovery key is printed
    once); a server's database (PostgreSQL) opens without a key, its encryption at rest being the server's."""
    from .services.db import database_url, init_db
    return init_db(database_url(target))


def _is_new(target: Path | str) -> bool:
    """No database there yet: a missing or empty SQLite file (a server's database is new when it has no user)."""
    from .services.targets import is_url
    return not is_url(target) and (not Path(target).exists() or Path(target).stat().st_size == 0)


RECOVERY_NOTE = ("恢复密钥（只显示这一次）：{key}\n"
                 "请抄写或打印后锁在办公室保险柜中。所有密码都遗失时，只有它能打开数据库"
                 "（python -m desktop recover，或登录界面的“忘记密码”）；程序不保存它的明文，丢失后无法补发。")


def _print_recovery(key: str | None) -> None:
    if key:
        print(RECOVERY_NOTE.format(key=key))


def credentials(a) -> tuple[str, str]:
    """Who is acting: --user (which wins) or FANPIN_USER; the password from FANPIN_PASSWORD or, on a terminal,
    a prompt without echo. Missing credentials are a refused request (exit 1)."""
    name = (a.user or os.environ.get("FANPIN_USER") or "").strip()
    if not name:
        raise UsageError("请指定用户：--user 用户名，或设置环境变量 FANPIN_USER")
    password = os.environ.get("FANPIN_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError(f"缺少用户“{name}”的密码：请设置环境变量 FANPIN_PASSWORD，或在终端上运行以输入密码")
        password = getpass.getpass(f"用户“{name}”的密码：")
    return name, password


def _login(a):
    """Log in as the command line's user, then open the database (the password unwraps an SQLite file's key; a
    server's database opens first and checks the password in its users table); their role and villages then
    apply as in the window. Returns the open database and the user."""
    from .services.targets import is_url
    if not is_url(a.db) and not a.db.exists():
        raise UsageError(f"数据库不存在：{a.db}（请先运行 init）")
    name, password = credentials(a)
    # only now the database code: a refusal above (no database, no password) answers without loading it
    from .services import opening
    from .services.db import init_db
    if is_url(a.db):
        db = init_db(str(a.db))
        try:
            return db, opening.Gate(db=db).log_in(name, password).user
        except BaseException:
            db.dispose()
            raise
    opened = opening.log_in(a.db, name, password)
    if opened.recovery_key:  # a database from before encryption, converted by this log-in
        print(f"数据库 {a.db} 及其备份已转换为加密文件。")
        _print_recovery(opened.recovery_key)
    return opened.db, opened.user


def _session(a):
    """A session acting as the logged-in user of this command, on the database opened by the log-in."""
    db, user = _login(a)
    return db.session(user)


def cmd_init(a) -> int:
    from .services.targets import is_url
    if a.monitoring_line and not a.year:
        raise UsageError("给出 --monitoring-line 时须同时给出 --year", code=2)
    if not _is_new(a.db) and not is_url(a.db):  # before loading the database code: this refusal needs none of it
        raise UsageError(f"数据库已初始化：{a.db}")
    from .services import auth, regions, settings, setup
    if (problem := auth.check_new_password(a.admin_password, a.admin_user)):
        raise UsageError(f"管理员密码不可用：{problem}")
    db = _open_new(a.db)
    with db.session() as s:
        if auth.user_count(s) or setup.township_name(s) is not None:
            db.dispose()
            raise UsageError(f"数据库已初始化：{_shown(a.db)}")
    with db.session(bootstrap=a.admin_user) as s:
        regions.init_township(s, a.township, a.county, a.city, a.province, a.code)
        if a.year:
            settings.set_year(s, a.year, monitoring_line=a.monitoring_line)
            settings.set_current_year(s, a.year)
        auth.create_user(s, a.admin_user, a.admin_user, "admin", a.admin_password)
        s.commit()
    print(f"已创建数据库 {_shown(a.db)}{'（加密）' if db.key else ''}，乡镇：{a.township}")
    _print_recovery(db.recovery_key)
    db.dispose()
    return 0


def cmd_recover(a) -> int:
    from .services import opening
    from .services.db import is_url
    if is_url(a.db):
        raise UsageError("县级数据库（PostgreSQL）没有恢复密钥：管理员的密码由数据库管理员在服务器上处理")
    if not a.db.exists():
        raise UsageError(f"数据库不存在：{a.db}")
    key = a.recovery_key
    if not key:
        if not sys.stdin.isatty():
            raise UsageError("请用 --recovery-key 给出恢复密钥，或在终端上运行以输入")
        key = getpass.getpass("恢复密钥：")
    opened = opening.recover(a.db, key, a.admin_user, a.admin_password)
    opened.db.dispose()
    print(f"已用恢复密钥为管理员“{opened.user.username}”设置新密码，可以用它登录了")
    return 0


def _describe(ys) -> str:
    def money(v):
        return "未设置" if v is None else f"{v:,.2f} 元"
    return (f"{ys.year} 年度：监测线 {money(ys.monitoring_line)}；当地农村人均纯收入 {money(ys.rural_average)}；"
            f"县农村居民人均可支配收入 {money(ys.county_income)}；统计期 {ys.period_start} 至 {ys.period_end}；"
            f"状态时点 {ys.status_time_point}")


# The commands below import what they use after the log-in (_session): a refused request does not load it.

def cmd_config(a) -> int:
    with _session(a) as s:
        from .services import settings
        ys = settings.set_year(s, a.year, monitoring_line=a.monitoring_line, rural_average=a.rural_average,
                               county_income=a.county_income, period_start=a.period_start,
                               period_end=a.period_end, status_time_point=a.status_date)
        if a.current or settings.current_year(s) is None:
            settings.set_current_year(s, a.year)
        s.commit()
    print(_describe(ys))
    return 0


DEMO_ADMIN, DEMO_PASSWORD = "admin", "admin123"


def cmd_demo(a) -> int:
    from .services import auth, demo, opening, regions, settings, setup
    from .services.db import is_url
    db = _open_new(a.db) if _is_new(a.db) or is_url(a.db) else None
    if db is not None and is_url(a.db):
        with db.session() as s:
            if auth.user_count(s):  # a server's database already set up: log in like any other command
                db.dispose()
                db = None
    if db is not None:  # a new database: the demo township, admin / admin123
        with db.session(bootstrap=DEMO_ADMIN) as s:
            if setup.township_name(s) is None:
                regions.init_township(s, "演示镇", "演示县", "演示市", "演示省")
            auth.create_user(s, DEMO_ADMIN, "管理员", "admin", DEMO_PASSWORD, exempt_from_rule=True)
            s.commit()
        print(f"已创建演示管理员账号 {DEMO_ADMIN}，密码 {DEMO_PASSWORD}（仅供试用：此密码不符合密码规则，"
              "是唯一的例外；正式使用请用 init 建库并设置安全的密码）")
        _print_recovery(db.recovery_key)
        user = opening.Gate(db=db).log_in(DEMO_ADMIN, DEMO_PASSWORD).user
    else:
        db, user = _login(a)
    with db.session(user) as s:
        year = a.year or settings.current_year(s) or (a.as_of or date.today()).year
        as_of = a.as_of or date(year, 10, 31)

        def progress(done: int, total: int) -> None:
            if sys.stderr.isatty():
                sys.stderr.write(f"\r生成中 {done}/{total} 户")
        result = demo.generate(s, a.households, seed=a.seed, year=year, as_of=as_of, progress=progress)
        s.commit()
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(f"已生成 {result.households} 户 {result.members} 人（{result.villages} 个行政村），"
          f"监测中 {result.monitored} 户，已消除风险 {result.removed} 户，用时 {result.elapsed:.1f} 秒")
    return 0


def cmd_assess(a) -> int:
    with _session(a) as s:
        from .services import assess
        results = assess.assess(s, a.year, a.as_of or date.today(), household_nos=a.household)
    print(assess.dumps_assessments(results))
    return 0


def cmd_check(a) -> int:
    with _session(a) as s:
        from .services import assess, checks
        findings = checks.run_checks(s, a.year, a.as_of or date.today())
    print(assess.dumps([f.to_json() for f in findings]))
    return 0


STDERR_ERRORS = 200  # errors of a rejected file printed on stderr; all of them are in the error workbook


def _year_of(a, s) -> int:
    from .services import settings
    year = a.year or settings.current_year(s)
    if year is None:
        raise UsageError("未设置当前工作年度：请用 --year 指定年度", code=2)
    return year


def cmd_import(a) -> int:
    if not a.file.is_file():
        raise UsageError(f"要导入的文件不存在：{a.file}", code=2)
    with _session(a) as s:
        from .services import exchange
        year = _year_of(a, s)
        pv = exchange.preview(s, a.file, year, accept_unknown_columns=a.accept_unknown_columns,
                              create_villages=a.create_villages, include_hidden=a.include_hidden)
        if pv.people:
            print(f"识别为{pv.layout_text()}")
        for line in pv.sheet_notes:
            print(line)
        for line in _ignored_lines(pv):
            print(line)
        if not pv.ok:
            target = exchange.errors_path(a.file)
            exchange.write_error_workbook(pv.errors, target, source=a.file, total=pv.error_count)
            sys.stderr.write(f"导入被拒绝：“{a.file.name}”有 {pv.error_count} 处错误，数据库未作任何修改。\n")
            for issue in pv.errors[:STDERR_ERRORS]:
                sys.stderr.write(f"  {issue.text()}\n")
            if pv.error_count > STDERR_ERRORS:
                sys.stderr.write(f"  ……另有 {pv.error_count - STDERR_ERRORS} 处，见错误清单\n")
            sys.stderr.write(f"错误清单已写入：{target}\n")
            return 1
        result = exchange.apply(s, pv, as_of=date.today())
        s.commit()
    print(f"已导入“{a.file.name}”（{year} 年收入）：{result.summary()}")
    if result.backup is not None:
        print(f"导入前的数据库备份：{result.backup}")
    if result.findings_note:
        print(result.findings_note)
    elif result.findings:
        print(_findings_line(result.findings, year))
    else:
        print("数据质量检查：导入的户未发现问题")
    return 0


FINDING_KINDS_SHOWN = 8  # kinds of finding named after an import; a county file can have sixty


def _findings_line(findings, year: int) -> str:
    """One line after an import: how many findings in how many households, the most frequent kinds with their counts,
    and where to see the rest (a county file's findings come in dozens of kinds: one line must stay readable)."""
    from collections import Counter

    from .services.checks import TITLES
    households = len({f.household_no for f in findings})
    kinds = Counter(f.code for f in findings).most_common()
    detail = "；".join(f"{TITLES[c]} {n} 条" for c, n in kinds[:FINDING_KINDS_SHOWN])
    rest = kinds[FINDING_KINDS_SHOWN:]
    if rest:
        detail += f"；……另有 {len(rest)} 类 {sum(n for _c, n in rest)} 条"
    return (f"数据质量检查（不影响导入）：{len(findings)} 条问题，涉及 {households} 户：{detail}。"
            f"全部问题见窗口的“数据质量”页，或 python -m desktop check --db … --year {year}")


def _ignored_lines(pv) -> list[str]:
    """What the import does not store, always said (SPEC §11)."""
    def some(names: list[str], shown: int = 40) -> str:  # a file can have 16,384 columns of anything
        return "、".join(names[:shown]) + (f" 等 {len(names)} 列" if len(names) > shown else "")

    out = []
    if pv.ignored:
        out.append(f"不认识、未导入的列：{some(pv.ignored)}")
    if pv.left_out:
        out.append(f"认识但本程序不保存的列：{some(pv.left_out)}")
    if pv.converted:
        out.append(f"换算后保存的列：{some(pv.converted)}")
    if pv.data is not None:
        out += pv.data.derived  # facts the file leaves unknown (A17 that its A26 column does not settle)
    return out


def _check_output(path: Path, suffix: str, what: str) -> None:
    """An output file must have the right extension and an existing folder (wrong usage otherwise)."""
    if path.suffix.lower() != suffix:
        raise UsageError(f"{what}应以 {suffix} 结尾：{path}", code=2)
    if not path.parent.is_dir():
        raise UsageError(f"文件夹不存在：{path.parent}", code=2)


def cmd_export(a) -> int:
    _check_output(a.file, ".xlsx", "导出文件")
    with _session(a) as s:
        from .services import exchange
        year = _year_of(a, s)
        write = exchange.export_national if a.layout == "national" else exchange.export_workbook
        result = write(s, a.file, year)
    print(f"{result.summary()}：{result.path}（{result.size / 2**20:.1f} MB，用时 {result.elapsed:.1f} 秒）")
    return 0


def cmd_report(a) -> int:
    from .services import reports
    kind = reports.REPORT_KINDS[a.kind]
    if a.village and not kind.takes_village:
        raise UsageError(f"{a.kind}（{kind.title}）不接受 --village", code=2)
    if a.household and not kind.takes_households:
        raise UsageError(f"{a.kind}（{kind.title}）不接受 --household", code=2)
    from .services.dates import report_as_of
    _check_output(a.out, ".pdf", "输出文件")
    with _session(a) as s:
        year = _year_of(a, s)
        as_of = a.as_of or report_as_of(year, date.today())
        try:
            result = reports.render(s, a.kind, a.out, year=year, as_of=as_of, village=a.village,
                                    household_nos=a.household)
        except OSError as e:  # e.g. the PDF is open in a viewer on Windows
            raise UsageError(f"无法写入 {a.out}：{e}") from None
    for warning in result.warnings:
        sys.stderr.write(f"提示：{warning}\n")
    print(f"已生成{kind.title} {result.pages} 页（{result.households} 户）：{result.path}")
    return 0


HANDLERS = {"init": cmd_init, "config": cmd_config, "import": cmd_import, "export": cmd_export, "report": cmd_report,
            "assess": cmd_assess, "check": cmd_check, "demo": cmd_demo, "recover": cmd_recover}


def main(argv: list[str]) -> int:
    if argv and argv[0] in COMMANDS and argv[0] not in HANDLERS:
        sys.stderr.write(f"错误：此版本尚未提供“{argv[0]}”命令\n")
        return 2
    args = build_parser(argv).parse_args(argv)
    if args.command is None:
        build_parser(argv).print_usage(sys.stderr)
        return 2
    from .services.errors import ServiceError
    log_path = logs.setup_logging()
    logs.install_hooks(report=lambda _details: _tell_fault(log_path))  # a fault in another thread
    logs.log.info("命令行：%s", args.command)  # the command only: its arguments may hold a password
    try:
        return HANDLERS[args.command](args)
    except UsageError as e:
        sys.stderr.write(f"错误：{e}\n")
        return e.code
    except ServiceError as e:
        sys.stderr.write(f"错误：{e}\n")
        return 1
    except (BrokenPipeError, KeyboardInterrupt):
        raise  # output piped into `head`, or Ctrl+C: not faults (__main__ handles the pipe)
    except Exception as e:
        from .services import failures
        path = getattr(args, "db", None)
        failure = failures.translate(e, path if isinstance(path, Path) else None)  # disk full, locked, read-only, gone
        if failure is not None:  # the computer's state, not a fault: what to do, the traceback to the log
            sys.stderr.write(f"错误：{failure}\n")
            return 1
        # a fault in the program: the traceback to the log, one line to the person
        logs.log_exception(type(e), e, e.__traceback__, f"（命令 {args.command}）")
        _tell_fault(log_path)
        return logs.INTERNAL_ERROR_EXIT


def _tell_fault(log_path: Path) -> None:
    sys.stderr.write(f"程序内部错误：命令未能完成，详细信息已写入日志文件 {log_path}\n")


def gui(argv: list[str]) -> int:
    """No sub-command: open the window (optionally on --db PATH)."""
    p = Parser(prog="python -m desktop", description=f"{APP_NAME}：不带子命令时打开程序窗口。"
               f"子命令：{'、'.join(COMMANDS)}")
    p.add_argument("--db", type=_db_target, help="数据库文件（默认在用户数据目录）或县级数据库地址（postgresql+psycopg://…）")
    p.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}", help="显示版本号并退出")
    args = p.parse_args(argv)
    logs.setup_logging()
    logs.install_hooks()  # until the window's dialog is installed (app.run_gui), faults are only logged
    logs.log.info("程序窗口启动")
    from .app import run_gui
    return run_gui(args.db)
