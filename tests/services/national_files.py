"""Files shaped like the national system's exports (SPEC §9.1): one sheet, one row a person, a title
row and a merged group row above the header, national column names and national wordings. The
column list is copied from SPEC §9.1 and the public checker Gzuwkj/fuping, not from the program's
resources, so a test fails when the program stops reading what the national system writes.
Writers: .xlsx (openpyxl, with merged cells), .xls (xlwt, BIFF8), .csv (UTF-8, UTF-8 with BOM,
GB18030)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import openpyxl

from desktop.services.idnumber import make_id

GROUPS = [
    (
        "基础信息",
        [
            "序号",
            "县",
            "乡",
            "村",
            "户编号",
            "人编号",
            "姓名",
            "性别",
            "证件类型",
            "证件号码",
            "出生日期",
            "与户主关系",
            "户类型",
            "监测对象类别",
        ],
    ),
    (
        "家庭成员信息",
        [
            "民族",
            "文化程度",
            "在校生状况",
            "义务教育阶段未上学原因",
            "失学或辍学原因",
            "健康状况",
            "劳动技能",
            "务工所在地",
            "务工时间",
            "公益性岗位",
            "公益性岗位(月数)",
            "享受低保政策情况",
            "享受特困供养政策情况",
            "是否参加城乡居民基本医疗保险",
            "是否参加城镇职工基本医疗保险",
            "是否参加大病保险",
            "是否参加城乡居民基本养老保险",
            "是否接受医疗救助",
        ],
    ),
    (
        "两不愁三保障及饮水安全",
        [
            "是否危房户",
            "是否解决安全饮用水",
            "是否义务教育阶段适龄儿童少年失学辍学",
            "是否有家庭成员未参加城乡居民（职工）基本医疗保险",
        ],
    ),
    (
        "收入情况",
        [
            "人均纯收入（元）",
            "工资性收入",
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
            "理赔收入",
            "合规自付支出",
        ],
    ),
    (
        "风险信息",
        [
            "致贫/返贫风险1",
            "致贫/返贫风险2",
            "致贫/返贫风险3",
            "致贫/返贫风险4",
            "致贫/返贫风险5",
            "其他备注",
            "识别监测时间",
            "消除监测时间",
            "风险是否已消除",
            "风险消除方式",
            "整户无劳动能力兜底保障户",
        ],
    ),
    (
        "帮扶措施",
        [
            "产业帮扶",
            "就业帮扶",
            "金融帮扶",
            "公益性岗位帮扶",
            "住房安全保障",
            "饮水安全保障",
            "健康帮扶",
            "义务教育保障",
            "教育帮扶",
            "综合保障",
            "社会帮扶",
            "搬迁",
            "生产生活条件改善",
            "基础设施建设",
        ],
    ),
    (
        "风险消除后情况",
        [
            "风险消除后是否义务教育阶段适龄儿童少年失学辍学",
            "风险消除后是否住房损毁",
            "风险消除后是否有家庭成员未参加城乡居民（职工）基本医疗保险",
            "风险消除后是否饮水设施损毁",
            "风险消除后工资性收入",
            "风险消除后生产经营性收入",
            "风险消除后财产性收入",
            "风险消除后转移性收入",
            "风险消除后生产经营性支出",
            "风险消除后家庭纯收入",
            "风险消除后家庭人均纯收入",
            "风险消除后理赔收入",
            "风险消除后合规自付支出",
        ],
    ),
]
COLUMNS = [c for _g, cols in GROUPS for c in cols]
TITLE = "（自定义）监测对象信息"

AREA = "370305"  # 临淄区
ID = {
    k: make_id(AREA, born, serial, sex)
    for k, (born, serial, sex) in {
        "wang": (date(1968, 3, 5), 11, "1"),
        "li": (date(1970, 8, 9), 12, "2"),
        "wang_son": (date(2012, 6, 1), 13, "1"),
        "zhao": (date(1955, 1, 20), 21, "1"),
        "zhao_wife": (date(1957, 2, 2), 22, "2"),
        "sun": (date(1980, 12, 12), 31, "2"),
    }.items()
}


def sample_rows() -> list[dict]:
    """Three households, as a county hands them out: national wordings, "/" for blank."""
    wang = dict(
        县="临淄区",
        乡="稷下街道",
        村="东村",
        户编号="370305001001000001",
        户类型="脱贫户",
        监测对象类别="脱贫不稳定户",
        是否危房户="否",
        是否解决安全饮用水="否",
        是否义务教育阶段适龄儿童少年失学辍学="否",
        工资性收入="12000",
        生产经营性收入="3,000.50",
        财产性收入="0",
        转移性收入="1200",
        生产经营性支出="800",
        理赔收入="/",
        合规自付支出="5000",
        **{"人均纯收入（元）": "3466.83", "致贫/返贫风险1": "因病", "致贫/返贫风险2": "因学"},
        识别监测时间="202305",
        风险是否已消除="否",
        整户无劳动能力兜底保障户="否",
        产业帮扶="种植业,养殖业",
        健康帮扶="医疗救助",
        公益性岗位帮扶="护林员",
    )
    zhao = dict(
        县="临淄区",
        乡="稷下街道",
        村="西村",
        户编号="370305001002000002",
        户类型="一般农户",
        监测对象类别="边缘易致贫户",
        是否危房户="否",
        是否解决安全饮用水="是",
        是否义务教育阶段适龄儿童少年失学辍学="否",
        工资性收入="0",
        转移性收入="9600",
        **{"致贫/返贫风险1": "缺劳动力", "致贫/返贫风险2": "因安全饮水"},
        识别监测时间="202203",
        消除监测时间="202402",
        风险是否已消除="是",
        风险消除方式="帮扶消除",
        整户无劳动能力兜底保障户="是",
        综合保障="低保",
        饮水安全保障="是",
        风险消除后是否义务教育阶段适龄儿童少年失学辍学="否",
        风险消除后是否住房损毁="否",
        风险消除后是否饮水设施损毁="否",
        风险消除后工资性收入="0",
        风险消除后转移性收入="10200",
        风险消除后家庭纯收入="10200",
        风险消除后家庭人均纯收入="5100",
        风险消除后合规自付支出="0",
        **{"风险消除后是否有家庭成员未参加城乡居民（职工）基本医疗保险": "否"},
    )
    sun = dict(
        县="临淄区",
        乡="稷下街道",
        村="东村",
        户编号="370305001001000003",
        户类型="脱贫户",
        监测对象类别="",
        是否危房户="否",
        是否解决安全饮用水="是",
        是否义务教育阶段适龄儿童少年失学辍学="否",
    )
    rows = [
        {
            **wang,
            "人编号": "P1",
            "姓名": "王大山",
            "性别": "男",
            "证件类型": "居民身份证",
            "证件号码": ID["wang"],
            "出生日期": "19680305",
            "与户主关系": "户主",
            "民族": "土家",
            "文化程度": "初中",
            "在校生状况": "非在校生",
            "健康状况": "慢性病",
            "劳动技能": "普通劳动",
            "务工所在地": "广东省深圳市宝安区",
            "务工时间": "10",
            "公益性岗位": "护林员",
            "公益性岗位(月数)": "12",
            "享受低保政策情况": "未享受",
            "享受特困供养政策情况": "未享受",
            "是否参加城乡居民基本医疗保险": "是",
            "是否参加城镇职工基本医疗保险": "否",
            "是否参加大病保险": "是",
            "是否参加城乡居民基本养老保险": "是",
            "是否接受医疗救助": "否",
        },
        {
            **wang,
            "人编号": "P2",
            "姓名": "李小花",
            "性别": "女",
            "证件号码": ID["li"],
            "与户主关系": "配偶",
            "民族": "汉族",
            "文化程度": "小学",
            "健康状况": "健康",
            "劳动技能": "技能劳动能力",
            "是否参加城乡居民基本医疗保险": "否",
            "是否参加城镇职工基本医疗保险": "是",
            "是否参加大病保险": "没有",
            "是否参加城乡居民基本养老保险": "是的",
        },
        {
            **wang,
            "人编号": "P3",
            "姓名": "王小河",
            "性别": "男",
            "证件号码": ID["wang_son"],
            "与户主关系": "长子",
            "民族": "汉族",
            "在校生状况": "七年级",
            "健康状况": "健康",
            "劳动技能": "无劳动力",
            "是否参加城乡居民基本医疗保险": "是",
            "是否参加城镇职工基本医疗保险": "否",
        },
        {
            **zhao,
            "姓名": "赵老汉",
            "性别": "男",
            "证件号码": ID["zhao"],
            "与户主关系": "户主",
            "民族": "汉族",
            "文化程度": "本科及研究生及以上",
            "健康状况": "残疾",
            "劳动技能": "丧失劳动力",
            "享受低保政策情况": "农村低保",
            "是否参加城乡居民基本医疗保险": "是",
            "是否参加城镇职工基本医疗保险": "否",
        },
        {
            **zhao,
            "姓名": "钱老太",
            "性别": "女",
            "证件号码": ID["zhao_wife"],
            "与户主关系": "配偶",
            "民族": "汉族",
            "健康状况": "长期慢性病",
            "劳动技能": "无劳动力",
            "享受低保政策情况": "农村低保",
            "是否参加城乡居民基本医疗保险": "是",
            "是否参加城镇职工基本医疗保险": "否",
        },
        {
            **sun,
            "姓名": "孙秀英",
            "性别": "女",
            "证件号码": ID["sun"],
            "与户主关系": "户主",
            "民族": "汉族",
            "文化程度": "高职高专",
            "健康状况": "健康",
            "劳动技能": "普通劳动",
        },
    ]
    return rows


def grid(rows: list[dict], columns: list[str] = COLUMNS, title: bool = True, groups: bool = True) -> list[list]:
    """The sheet as rows of cells: title, group row (group name in its first column), header, data."""
    out = []
    if title:
        out.append([TITLE] + [None] * (len(columns) - 1))
    if groups:
        row = []
        done = set()
        for c in columns:
            g = next(g for g, cols in GROUPS if c in cols) if any(c in cols for _g, cols in GROUPS) else None
            row.append(g if g not in done else None)
            done.add(g)
        out.append(row)
    out.append(list(columns))
    for i, r in enumerate(rows, 1):
        out.append([str(i) if c == "序号" else r.get(c) for c in columns])
    return out


def write_xlsx(path: Path, cells: list[list], sheet: str = TITLE, merge: bool = True) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in cells:
        ws.append(row)
    if merge and cells and cells[0][0] == TITLE:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cells[-1]))
        groups = cells[1]
        starts = [j for j, v in enumerate(groups) if v]
        for a, b in zip(starts, starts[1:] + [len(groups)], strict=True):
            if b - 1 > a:
                ws.merge_cells(start_row=2, start_column=a + 1, end_row=2, end_column=b)
    wb.save(path)
    return path


def write_book(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, cells in sheets.items():
        ws = wb.create_sheet(name)
        for row in cells:
            ws.append(row)
    wb.save(path)
    return path


def write_xls(path: Path, cells: list[list], sheet: str = "监测对象信息") -> Path:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(sheet)
    for r, row in enumerate(cells):
        if r == 0 and row[0] == TITLE:
            ws.write_merge(0, 0, 0, len(cells[-1]) - 1, TITLE)
            continue
        for c, v in enumerate(row):
            if v is not None and v != "":
                ws.write(r, c, v)
    wb.save(str(path))
    return path


def write_csv(path: Path, cells: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        for row in cells:
            w.writerow(["" if v is None else v for v in row])
    return path
