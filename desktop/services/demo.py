"""Synthetic demo data (SPEC §11 `demo`): a realistic township or county for trying the program
and for benchmarks.

Everything is drawn from one seeded `random.Random`, so a seed on a given database always gives
the same data. Rows go in with SQLAlchemy Core bulk inserts in chunks and with primary keys
chosen here (after the current maximum), never as ORM objects: 100,000 households take
seconds, not minutes. One audit entry summarises the run. The caller commits.

Run it again on the same database and it adds more: new villages with new names, new household
numbers and new ID numbers (checked against what is already stored).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import mul
from typing import Callable

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..models import Case, CaseStep, Clue, Household, IncomeLine, IncomeRecord, Measure, Member, MemberEvent, Region
from ..models.base import utcnow
from . import access, audit, procedures, regions, rules, settings
from .codes import codes, measure_catalog
from .db import IdSource
from .errors import ServiceError
from .idnumber import _CHECK, _WEIGHTS

DEFAULT_LINE = "7100"  # monitoring line set when the year has none (SPEC §11 demo only)
CHUNK = 2000  # households generated and inserted per round; progress is reported per round


class DemoError(ServiceError):
    pass


@dataclass(frozen=True)
class DemoResult:
    villages: int
    groups: int
    households: int
    members: int
    monitored: int
    removed: int
    measures: int
    income_records: int
    income_lines: int
    events: int
    elapsed: float
    cases: int = 0  # open cases behind 认定中 / 绿色通道, and the revisits of removals


# ---------------------------------------------------------------- word lists

# Common surnames, most frequent first, with rough weights (per mille of the population).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔"
    "向常汤康易乔赖文")
_SURNAME_WEIGHTS = [max(1.0, 75.0 / (1 + i * 0.35)) for i in range(len(_SURNAMES))]

_MALE = ("伟强军磊勇杰涛明刚建国华平志海林斌波鹏辉浩宇博俊峰超文亮成德福贵忠山春东晓永红兵生金荣"
         "新光庆振宏斌彬飞龙虎云长发祥宝顺利民安广义旺根喜全才")
_FEMALE = ("芳娜敏静丽艳娟霞秀英兰玲梅琳燕红凤萍婷雪慧颖倩欣佳桂翠珍琴花莲香云月秋菊彩玉巧娥凤琼丹"
           "妍瑶怡悦诗雨涵可馨")
_NEUTRAL = "子思嘉一文小春晓宁安佳欣雨晨明"
# Rare characters (SPEC §8: names may hold them): 堃, 䶮 (CJK Ext. A), 𠮷 (Ext. B, outside the BMP).
RARE_CHARS = ("堃", "䶮", "𠮷", "犇", "赟", "喆", "頔", "玥", "淼", "垚")
_RARE_WEIGHTS = (30, 18, 18, 7, 7, 6, 5, 4, 3, 2)
RARE_SHARE = 0.03

_VILLAGE_PREFIX = ("", "", "", "东", "西", "南", "北", "前", "后", "上", "下", "大", "小", "新", "老")
_VILLAGE_SUFFIX = ("村", "庄村", "家庄村", "家村", "寨村", "营村", "屯村", "集村", "堡村", "店村", "沟村",
                   "湾村", "坡村", "岭村", "河村", "楼村", "桥村", "圩村", "坊村", "岗村")
_VILLAGE_NATURE = ("柳树", "石桥", "杨柳", "桃园", "梨园", "枣林", "松林", "青山", "白沙", "红岩", "黄土",
                   "清水", "双河", "三合", "五里", "七里", "九龙", "龙泉", "凤凰", "金鸡", "马鞍", "牛角",
                   "槐树", "榆树", "杏花", "荷塘", "芦苇", "官庄", "新民", "和平", "团结", "幸福", "光明",
                   "永安", "太平", "长乐", "丰收", "向阳", "胜利", "兴隆", "福兴", "古城", "高庙", "石门")
_NUMERALS = "一二三四五六七八九十"
_SETTLEMENTS = ("和谐家园安置区", "幸福小区安置点", "新村集中安置区", "易地扶贫搬迁安置小区")

# A few real county-level division codes, for a county not found below and for people born elsewhere.
_COUNTY_CODES = {"临淄区": "370305", "临朐县": "370724", "高唐县": "371526", "滑县": "410526",
                 "西平县": "411721", "阳新县": "420222", "桂东县": "431027", "临泉县": "341221",
                 "黄平县": "522622", "镇雄县": "530627", "靖远县": "620421"}
_FAR_CODES = tuple(_COUNTY_CODES.values())

_UNITS = {"A39": "县农业农村局", "A40": "县人力资源和社会保障局", "A41": "县乡村振兴局", "A42": "乡镇人民政府",
          "A43": "县住房和城乡建设局", "A44": "县水利局", "A45": "县医疗保障局", "A46": "县教育和体育局",
          "A47": "县教育和体育局", "A48": "县民政局", "A49": "县工商联", "A50": "县发展和改革局",
          "A51": "乡镇人民政府", "A52": "县交通运输局"}
_MEASURE_WEIGHTS = {"A39": 20, "A40": 14, "A41": 7, "A42": 8, "A43": 3, "A44": 2, "A45": 14, "A46": 2,
                    "A47": 7, "A48": 14, "A49": 4, "A50": 1, "A51": 2, "A52": 2}
# Items with a term (SPEC §7: continue after removal to their end).
_TERM_ITEMS = {("A41", "小额信贷"): 3, ("A42", None): 1, ("A47", "雨露计划"): 3, ("A47", "助学贷款"): 4}


# ---------------------------------------------------------------- small helpers

def _shift_year(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


_AFTER_COLUMNS = ("after_dropout", "after_housing_damaged", "after_medical_missing", "after_water_damaged",
                  *(f"after_a{n}" for n in range(28, 37)))
_WORK_PLACES_PROVINCE = ("济南市历下区", "青岛市黄岛区", "烟台市芝罘区", "潍坊市奎文区", "临沂市兰山区", "淄博市张店区")
_WORK_PLACES_AWAY = ("广东省深圳市宝安区", "广东省东莞市", "浙江省宁波市鄞州区", "江苏省苏州市昆山市", "上海市浦东新区",
                     "北京市大兴区", "天津市滨海新区", "福建省厦门市集美区")
_WORK_ABROAD = ("新加坡", "日本", "阿联酋迪拜")


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3355789')}{rng.randrange(10**9):09d}"


class _Names:
    """Chinese names: a weighted surname and one or two given-name characters by sex."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        total = 0.0
        self.cum = []
        for w in _SURNAME_WEIGHTS:
            total += w
            self.cum.append(total)
        rare_total = 0
        self.unseen = list(RARE_CHARS[2::-1])  # 堃, 䶮, 𠮷 first
        self.rare_cum = []
        for w in _RARE_WEIGHTS:
            rare_total += w
            self.rare_cum.append(rare_total)

    def surname(self) -> str:
        return self.rng.choices(_SURNAMES, cum_weights=self.cum)[0]

    def given(self, sex: str) -> str:
        r = self.rng.random
        pool = _MALE if sex == "1" else _FEMALE
        first = _NEUTRAL[int(r() * len(_NEUTRAL))] if r() < 0.15 else pool[int(r() * len(pool))]
        name = first if r() < 0.25 else first + pool[int(r() * len(pool))]
        if r() < RARE_SHARE:
            rare = self.rng.choices(RARE_CHARS, cum_weights=self.rare_cum)[0]
            if self.unseen:  # the first rare names show one of each plane (BMP, Ext. A, Ext. B) at any size
                rare = self.unseen.pop()
            name = name[:-1] + rare if len(name) == 2 and r() < 0.6 else (name[:1] + rare)
        return name

    def full(self, surname: str, sex: str) -> str:
        return surname + self.given(sex)


class _Ids:
    """Valid, globally unique ID numbers: area code + birth date + serial, checked against a set
    that starts with every number already stored."""

    def __init__(self, rng: random.Random, main: str, used: set[str]):
        self.rng = rng
        self.main = main
        head = main[:4]
        self.near = tuple(f"{head}{k:02d}" for k in range(1, 30) if f"{head}{k:02d}" != main)[:8]
        self.used = used
        self.counter = 0

    def area(self) -> str:
        r = self.rng.random()
        if r < 0.86:
            return self.main
        if r < 0.97:
            return self.near[int(self.rng.random() * len(self.near))]
        return _FAR_CODES[int(self.rng.random() * len(_FAR_CODES))]

    def make(self, area: str, born: date, sex: str) -> str:
        self.counter += 1
        male = sex == "1"
        born_text = f"{born.year:04d}{born.month:02d}{born.day:02d}"
        areas = (area, self.main) + self.near + _FAR_CODES
        for a in areas:
            serial = self.counter % 100
            for _ in range(100):
                sex_digit = (serial * 2 + (1 if male else 0)) % 10
                first17 = f"{a}{born_text}{serial:02d}{sex_digit}"
                # GB 11643 check digit (as idnumber.check_digit, inlined: it runs 300,000 times)
                number = first17 + _CHECK[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]
                if number not in self.used:
                    self.used.add(number)
                    return number
                serial = (serial + 1) % 100
        raise DemoError(f"出生日期 {born} 的身份证号已用尽")  # pragma: no cover - 100 × 20 areas per day


# ---------------------------------------------------------------- family shapes

# (kind, weight): chosen so that the mean household has about three members of status 正常.
_SHAPES = (("single_old", 13), ("single_adult", 6), ("old_couple", 20), ("nuclear", 33),
           ("nuclear_parent", 9), ("three_gen", 15), ("single_parent", 4))
_SHAPE_KINDS = tuple(k for k, _ in _SHAPES)
_SHAPE_CUM = []
_acc = 0
for _k, _w in _SHAPES:
    _acc += _w
    _SHAPE_CUM.append(_acc)
del _acc, _k, _w


def _family(rng: random.Random) -> list[list]:
    """Members as [relation, sex, age, surname_from] with surname_from 'head', 'own' or 'child'.

    The first entry is the head (户主). Ages and sexes follow the relations."""
    r = rng.random
    ri = rng.randint
    kind = rng.choices(_SHAPE_KINDS, cum_weights=_SHAPE_CUM)[0]
    people: list[list] = []

    def spouse_of(head_sex: str, head_age: int) -> list:
        age = max(20, head_age + ri(-8, 3) if head_sex == "1" else head_age + ri(-2, 8))
        return ["02", "2" if head_sex == "1" else "1", min(age, 98), "own"]

    def children(parent_age: int, max_n: int, son: str = "03", daughter: str = "04") -> list[list]:
        out = []
        n = rng.choices((1, 2, 3), cum_weights=(40, 85, 100))[0]
        age = parent_age - ri(21, 33)
        for _ in range(min(n, max_n)):
            if age < 0:
                break
            male = r() < 0.52
            out.append([son if male else daughter, "1" if male else "2", age, "head"])
            age -= ri(1, 6)
        return out

    if kind == "single_old":
        sex = "1" if r() < 0.55 else "2"
        people.append(["01", sex, ri(60, 92), "own"])
    elif kind == "single_adult":
        sex = "1" if r() < 0.8 else "2"
        people.append(["01", sex, ri(24, 59), "own"])
    elif kind == "old_couple":
        age = ri(55, 88)
        people.append(["01", "1", age, "own"])
        people.append(spouse_of("1", age))
    elif kind in ("nuclear", "nuclear_parent"):
        sex = "1" if r() < 0.92 else "2"
        age = ri(26, 58)
        people.append(["01", sex, age, "own"])
        people.append(spouse_of(sex, age))
        mother_age = age if sex == "2" else people[1][2]
        people += children(min(age, mother_age), 3)
        if kind == "nuclear_parent":
            p_age = min(98, age + ri(22, 34))
            if r() < 0.45:
                people.append(["11", "1", p_age, "head"])
            if r() < 0.8 or people[-1][0] != "11":
                people.append(["12", "2", min(98, p_age + ri(-6, 2)), "own"])
    elif kind == "three_gen":
        age = ri(50, 76)
        people.append(["01", "1", age, "own"])
        people.append(spouse_of("1", age))
        son_age = age - ri(22, 32)
        people.append(["03", "1", son_age, "head"])
        if r() < 0.85:
            people.append(["05", "2", max(20, son_age + ri(-5, 2)), "own"])
        if r() < 0.2 and son_age > 24:
            people.append(["04", "2", son_age - ri(1, 6), "head"])
        people += [[("07" if s == "1" else "08"), s, a, "child"] for _, s, a, _ in children(son_age, 3)]
        if r() < 0.04:
            people.append(["21", "1" if r() < 0.5 else "2", age + ri(-6, 6), "head"])
    else:  # single_parent: a woman heads the household
        age = ri(28, 55)
        people.append(["01", "2", age, "own"])
        people += children(age, 3)
    return people[:7]


# ---------------------------------------------------------------- the generator

def generate(session: Session, households: int, seed: int = 1, year: int = 2024, as_of: date | None = None,
             progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Add `households` synthetic households, in new villages, to the configured township."""
    access.whole_township(session, "生成演示数据")
    started = time.perf_counter()
    if households < 1:
        raise DemoError("户数至少为 1")
    tw = regions.township(session)
    if tw is None:
        raise DemoError("尚未配置乡镇：请先运行初始化（init）")
    ys = settings.get_year(session, year)
    if ys is None or ys.monitoring_line is None:
        ys = settings.set_year(session, year, monitoring_line=DEFAULT_LINE)
    if settings.current_year(session) is None:
        settings.set_current_year(session, year)
    if as_of is None:
        as_of = min(date(year, 10, 31), date.today())
    gen = _Generator(session, households, seed, year, as_of, ys, tw)
    counts = gen.run(progress)
    audit.record(session, "demo", "household",
                 new=(f"演示数据：{counts['households']} 户 {counts['members']} 人，{counts['villages']} 个行政村，"
                      f"种子 {seed}，{year} 年度"))
    return DemoResult(elapsed=time.perf_counter() - started, **counts)


class _Generator:
    def __init__(self, session: Session, households: int, seed: int, year: int, as_of: date, ys, tw):
        self.s = session
        self.total = households
        self.year = year
        self.as_of = as_of
        self.ref = min(ys.status_time_point, as_of)  # ages and statuses at the status time point
        self.period_start = min(ys.period_start, self.ref)
        self.line = int(ys.monitoring_line)
        self.tw = tw
        self.now = utcnow()

        # ids from the database (db.reserve_ids), never max+1: another seat may be adding households meanwhile
        self.next = {m: IdSource(session, m) for m in (Region, Household, Member, MemberEvent, Measure,
                                                        IncomeRecord, IncomeLine, Case, CaseStep, Clue)}
        self.open_cases: list[tuple[str, int, date]] = []  # (kind, household id, opened on) of this chunk
        existing = session.scalar(select(func.count()).select_from(Household)) or 0
        # The count of households already there varies the stream, so a second run is new people.
        self.rng = rng = random.Random(f"fanpin-demo:{seed}:{existing}")
        self.names = _Names(rng)
        township_code = session.scalar(select(Region.code).where(Region.id == tw.id))
        if township_code:
            main = township_code[:6]
        else:
            main = _COUNTY_CODES.get(tw.county or "") or _FAR_CODES[rng.randrange(len(_FAR_CODES))]
        self.area = main
        self.township_code = township_code
        county = (tw.county or "").strip()
        self.home_county = county if county.endswith(("县", "区", "市", "旗")) else "本县"  # 务工所在地 at home
        used = {n[:18] for n in session.scalars(select(Member.id_number))}
        self.ids = _Ids(rng, main, used)
        self.used_no = set(session.scalars(select(Household.household_no)))
        self.village_names = set(session.scalars(select(Region.name).where(Region.parent_id == tw.id)))
        self.village_seq = session.scalar(select(func.count()).select_from(Region)
                                          .where(Region.parent_id == tw.id)) or 0
        # Birth-date ordinals that give each age at the reference date.
        self.age_span = []
        ref = self.ref
        for age in range(0, 111):
            hi = _shift_year(ref, -age).toordinal()
            lo = _shift_year(ref, -age - 1).toordinal() + 1
            self.age_span.append((lo, hi))
        catalog = {c["code"]: [(i["name"], i["developmental"]) for i in c["items"]] for c in measure_catalog()}
        self.catalog = catalog
        self.measure_codes = tuple(_MEASURE_WEIGHTS)
        acc, self.measure_cum = 0, []
        for c in self.measure_codes:
            acc += _MEASURE_WEIGHTS[c]
            self.measure_cum.append(acc)
        self.developmental = [(c, name) for c, items in catalog.items() for name, dev in items if dev]
        self.cadres = [self.names.full(self.names.surname(), "1" if rng.random() < 0.6 else "2") for _ in range(40)]
        for key in ("relation", "sex", "school", "labor", "health", "category", "risk_type"):
            codes(key)  # fail early if the code lists are not there
        self.counts = dict(cases=0, villages=0, groups=0, households=0, members=0, monitored=0, removed=0, measures=0,
                           income_records=0, income_lines=0, events=0)

    # ------------------------------------------------------------ regions

    def _village_name(self) -> str:
        rng = self.rng
        for _ in range(1000):
            if rng.random() < 0.25:
                name = rng.choice(_VILLAGE_NATURE) + "村"
            else:
                name = rng.choice(_VILLAGE_PREFIX) + self.names.surname() + rng.choice(_VILLAGE_SUFFIX)
            if name not in self.village_names:
                self.village_names.add(name)
                return name
        # Every pattern is taken (a huge database): number the names.
        n = len(self.village_names)
        while (name := f"{rng.choice(_VILLAGE_NATURE)}{n}村") in self.village_names:
            n += 1
        self.village_names.add(name)
        return name

    def _plan_villages(self) -> list[int]:
        sizes, left = [], self.total
        while left > 0:
            n = self.rng.randint(150, 400)
            if left - n < 100:  # the last village takes the rest
                n = left
            sizes.append(n)
            left -= n
        return sizes

    def _make_villages(self) -> list[dict]:
        rows, villages = [], []
        for n in self._plan_villages():
            self.village_seq += 1
            vid = self.next[Region]()
            code = None
            if self.township_code and self.village_seq < 1000:
                code = f"{self.township_code[:9]}{self.village_seq:03d}"
            name = self._village_name()
            rural = round(n * 3.2 * self.rng.uniform(0.95, 1.08))
            rows.append(dict(id=vid, parent_id=self.tw.id, level="village", name=name, code=code,
                             rural_population=rural, sort_order=self.village_seq, active=True,
                             created_at=self.now, updated_at=self.now))
            groups = []
            for g in range(self.rng.randint(3, 8)):
                gid = self.next[Region]()
                gname = _NUMERALS[g] + "组"
                rows.append(dict(id=gid, parent_id=vid, level="group", name=gname, code=None, rural_population=None,
                                 sort_order=g + 1, active=True, created_at=self.now, updated_at=self.now))
                groups.append((gid, gname))
            prefix = (self.township_code[:9] if self.township_code else f"{self.area}100")
            # 9 + 3 + 4 = 16 digits; past 999 villages the township digits carry the rest.
            seq = self.village_seq
            prefix = f"{int(prefix) + seq // 1000:09d}"
            villages.append(dict(id=vid, name=name, households=n, groups=groups, no_prefix=f"{prefix}{seq % 1000:03d}"))
            self.counts["villages"] += 1
            self.counts["groups"] += len(groups)
        self.s.execute(insert(Region.__table__), rows)
        return villages

    # ------------------------------------------------------------ run

    def run(self, progress) -> dict:
        villages = self._make_villages()
        plan = []  # (village, group list, household number) for every household, in order
        for v in villages:
            serial = 0
            for _ in range(v["households"]):
                serial += 1
                no = f"{v['no_prefix']}{serial:04d}"
                while no in self.used_no:
                    serial += 1
                    no = f"{v['no_prefix']}{serial:04d}"
                self.used_no.add(no)
                plan.append((v, no))
        done = 0
        while done < self.total:
            batch = plan[done:done + CHUNK]
            self._chunk(batch)
            done += len(batch)
            if progress is not None:
                progress(done, self.total)
        return self.counts

    def _chunk(self, batch) -> None:
        hh_rows, m_rows, ev_rows, ms_rows, ir_rows, il_rows = [], [], [], [], [], []
        for v, no in batch:
            self._household(v, no, hh_rows, m_rows, ev_rows, ms_rows, ir_rows, il_rows)
        s = self.s
        s.execute(insert(Household.__table__), hh_rows)
        s.execute(insert(Member.__table__), m_rows)
        if ev_rows:
            s.execute(insert(MemberEvent.__table__), ev_rows)
        if ms_rows:
            s.execute(insert(Measure.__table__), ms_rows)
        s.execute(insert(IncomeRecord.__table__), ir_rows)
        if il_rows:
            s.execute(insert(IncomeLine.__table__), il_rows)
        self._cases()
        c = self.counts
        c["households"] += len(hh_rows)
        c["members"] += len(m_rows)
        c["events"] += len(ev_rows)
        c["measures"] += len(ms_rows)
        c["income_records"] += len(ir_rows)
        c["income_lines"] += len(il_rows)

    PREVIOUS = {"identify": "none", "green": "none", "revisit": "removed"}

    def _cases(self) -> None:
        """Open cases for households the demo put in 认定中 / 绿色通道, and the revisit of each removal,
        so their status is backed by a procedure as in real use."""
        if not self.open_cases:
            return
        case_rows, step_rows, clue_rows = [], [], []
        for kind, hid, opened in self.open_cases:
            cid = self._next(Case)
            data = {"previous_status": self.PREVIOUS[kind]}
            if kind == "identify":
                clue_id = self._next(Clue)
                data["clue_id"] = clue_id
                clue_rows.append(dict(id=clue_id, household_id=hid, source=self.rng.choice(("01", "02", "03", "04")),
                                      reported_on=opened, reporter=None, description="演示数据：入户排查发现风险",
                                      outcome="已发起认定", case_id=cid, created_at=self.now, updated_at=self.now))
            elif kind == "green":
                data["reason"] = "演示数据：突发意外事故"
            case_rows.append(dict(id=cid, household_id=hid, kind=kind, state="open", opened_on=opened, closed_on=None,
                                  outcome=None, end_reason=None, data=data, opened_by="demo", created_at=self.now,
                                  updated_at=self.now))
            # The first pending step with its deadline, from the procedure's definition (procedures.json).
            first = procedures.get(kind).steps[0]
            due = first.due.date_from(opened, None) if first.due is not None else None
            step_rows.append(dict(id=self._next(CaseStep), case_id=cid, seq=1, step=first.key, done_on=None,
                                  due_on=due, actor=None, result=None, notes=None, data={}, snapshot=None,
                                  created_at=self.now, updated_at=self.now))
        self.s.execute(insert(Case.__table__), case_rows)
        self.s.execute(insert(CaseStep.__table__), step_rows)
        if clue_rows:
            self.s.execute(insert(Clue.__table__), clue_rows)
        self.counts["cases"] += len(case_rows)
        self.open_cases = []

    def _next(self, model) -> int:
        return self.next[model]()

    # ------------------------------------------------------------ one household

    def _date_between(self, lo: date, hi: date) -> date:
        if hi <= lo:
            return lo
        return date.fromordinal(self.rng.randint(lo.toordinal(), hi.toordinal()))

    def _household(self, v, no, hh_rows, m_rows, ev_rows, ms_rows, ir_rows, il_rows) -> None:
        rng = self.rng
        r = rng.random
        now = self.now
        hid = self.next[Household]()
        gid, gname = v["groups"][int(r() * len(v["groups"]))]
        as_of, ref = self.as_of, self.ref

        family = _family(rng)
        head_surname = self.names.surname()
        eth = "01" if r() < 0.94 else rng.choice(("03", "06", "07", "08", "11", "15"))
        relocated = r() < 0.02
        poverty = r() < 0.15
        # Household-level guarantees: 低保 / 特困 for a few.
        dibao = r() < (0.10 if poverty else 0.03)
        tekun = not dibao and len(family) == 1 and family[0][2] >= 60 and r() < 0.08
        phone = _phone(rng)

        # ---- status first: monitored households are a little poorer and sicker
        x = r()
        if x < 0.025:
            status = "monitoring"
        elif x < 0.055:
            status = "removed"
        elif x < 0.058:
            status = "identifying"
        elif x < 0.060:
            status = "green"
        elif x < 0.062:
            status = "removing"
        else:
            status = "none"
        at_risk = status != "none"

        members = []
        stats = dict(workers=0, can_work=0, old60=0, old80=0, disabled=0, serious=0, chronic=0, students=0,
                     dropout=False, tekun=0, dibao=0)
        head_name = ""
        size = 0
        seq = 0
        child_surname = head_surname
        if family[0][1] == "2" and len(family) > 1 and family[1][0] == "02":
            child_surname = None  # set from the husband below
        for rel, sex, age, surname_from in family:
            seq += 1
            age = max(0, min(age, 105))
            if surname_from == "own" and rel != "01":
                surname = self.names.surname()
            elif surname_from == "child" or rel in ("03", "04"):
                surname = child_surname or head_surname
            else:
                surname = head_surname
            if rel == "02" and child_surname is None:
                child_surname = surname
            name = self.names.full(surname, sex)
            if rel == "01":
                head_name = name
            lo, hi = self.age_span[age]
            born = date.fromordinal(lo + int(r() * (hi - lo + 1)))
            row = self._member(hid, seq, name, sex, rel, age, born, eth, relocated, at_risk, dibao, tekun, stats)
            if rel == "01":
                row["phone"] = phone
            members.append(row)
            size += 1
            if age == 0 and born >= self.period_start:
                row["status_date"] = born
                ev_rows.append(self._event(hid, row["id"], "birth", born, None))

        # ---- a few members who left: deaths of old parents, daughters married out
        head_age = family[0][2]
        living_parents = {p[0] for p in family if p[0] in ("11", "12")}
        if r() < 0.02 and head_age < 75 and len(living_parents) < 2:
            sex = "1" if r() < 0.5 else "2"
            if living_parents:  # one parent lives in the household: the other one died
                sex = "2" if "11" in living_parents else "1"
            age = min(100, head_age + rng.randint(22, 34))
            lo, hi = self.age_span[age]
            born = date.fromordinal(rng.randint(lo, hi))
            seq += 1
            row = self._member(hid, seq, self.names.full(head_surname if sex == "1" else self.names.surname(), sex),
                               sex, "11" if sex == "1" else "12", age, born, eth, relocated, False, False, False, None)
            when = self._date_between(self.period_start, ref)
            row.update(status="dead", status_date=when, work_region=None, work_months=None, phone=None)
            members.append(row)
            ev_rows.append(self._event(hid, row["id"], "death", when, None))
        if r() < 0.015 and 45 <= head_age <= 70:
            age = rng.randint(20, 30)
            lo, hi = self.age_span[age]
            born = date.fromordinal(rng.randint(lo, hi))
            seq += 1
            row = self._member(hid, seq, self.names.full(head_surname, "2"), "2", "04", age, born, eth, relocated,
                               False, False, False, None)
            when = self._date_between(self.period_start, ref)
            row.update(status="married_out", status_date=when, work_region=None, work_months=None, phone=None)
            members.append(row)
            ev_rows.append(self._event(hid, row["id"], "married_out", when, "嫁往外乡镇"))
        m_rows.extend(members)

        # ---- flags, risk, dates
        no_labor = stats["can_work"] == 0 and all(m["labor"] in ("04", "05") for m in members
                                                   if m["status"] == "normal")
        if no_labor and not dibao and not tekun and r() < 0.9:  # nobody can work: nearly always on 低保
            dibao = True
            for m in members:
                if m["status"] == "normal":
                    m["a20_dibao"] = "01"
                    stats["dibao"] += 1
        whole_guarantee = no_labor and (stats["tekun"] > 0 or (dibao and r() < 0.6))
        dibao_tier = None
        if dibao:
            dibao_tier = rng.choices(("01", "02", "03", "04", "05", "06"), cum_weights=(10, 25, 55, 80, 95, 100))[0]
            if whole_guarantee and dibao_tier not in ("01", "02"):
                dibao_tier = "02"
        if whole_guarantee and status in ("removed", "removing"):
            status = "monitoring"  # its risk is not removed (SPEC §1)
        if status not in ("monitoring", "identifying", "green"):
            whole_guarantee = False

        risk: list[str] = []
        disasters: list[str] = []
        risk_note = None
        a23 = r() < (0.06 if at_risk else 0.003)
        a24 = stats["dropout"]
        a25 = r() < (0.04 if at_risk else 0.002)
        if at_risk or r() < 0.01:
            cands = []
            if stats["serious"] or stats["chronic"]:
                cands += ["01"] * 5
            if stats["disabled"]:
                cands += ["03"] * 4
            if stats["students"]:
                cands += ["02"] * 2
            if stats["can_work"] == 0:
                cands += ["08"] * 3
            cands += ["05", "07", "07", "04", "06", "09"]
            for _ in range(1 if r() < 0.65 else 2):
                c = cands[int(r() * len(cands))]
                if c not in risk:
                    risk.append(c)
            risk.sort()
            if "04" in risk:
                disasters = [rng.choice(("01", "01", "02", "03", "04", "05", "06", "07"))]
            if "09" in risk:
                risk_note = rng.choice(("家庭变故", "子女赡养不到位", "房屋火灾"))

        category = identified = removal_way = removed_on = None
        contact = contact_phone = None
        if status in ("monitoring", "removed", "removing"):
            category = "01" if poverty and r() < 0.8 else ("03" if r() < 0.3 else "02")
            if status == "monitoring":
                identified = as_of - timedelta(days=rng.randint(0, 730))
            else:
                identified = as_of - timedelta(days=rng.randint(200, 730))
            if status == "removed":
                natural = r() < 0.15
                removal_way = "02" if natural else "01"
                # 帮扶消除 no sooner than the one half-year rule allows (services.rules, also REMOVED_TOO_SOON).
                earliest = (identified + timedelta(days=30) if natural
                            else rules.removal_earliest(removal_way, identified))
                removed_on = self._date_between(earliest, as_of)
        if status != "none":
            contact = self.cadres[int(r() * len(self.cadres))]
            contact_phone = _phone(rng)

        if status == "monitoring":
            self.counts["monitored"] += 1
        elif status == "removed":
            self.counts["removed"] += 1
            self.open_cases.append(("revisit", hid, removed_on))
        elif status == "identifying":
            self.open_cases.append(("identify", hid, as_of - timedelta(days=rng.randint(0, 12))))
        green_entry = as_of - timedelta(days=rng.randint(0, 25))
        if status == "green":
            self.open_cases.append(("green", hid, green_entry))
        hh_rows.append(dict(
            id=hid, household_no=no, village_id=v["id"], group_id=gid, address=f"{gname}{rng.randint(1, 260)}号",
            phone=phone, head_name=head_name, size=size,
            a1_relocation_site=relocated, a2_site_address=(rng.choice(_SETTLEMENTS) if relocated else None),
            a3_category=category, a4_poverty_alleviated=poverty, a23_housing_unsafe=a23, a24_school_dropout=a24,
            a25_water_unsafe=a25, a27_risk_types=risk, a27_other_note=risk_note, a27a_disaster_types=disasters,
            monitoring_status=status, whole_no_labor_guarantee=whole_guarantee, dibao_tier=dibao_tier,
            identified_on=identified, a53_removal_way=removal_way, a54_removed_on=removed_on,
            a55_contact_person=contact, contact_phone=contact_phone, note=None, closed_on=None, closed_reason=None,
            created_at=now, updated_at=now, **dict.fromkeys(_AFTER_COLUMNS)))

        # ---- measures
        has_public_post = False
        if status in ("monitoring", "removed", "removing", "green"):
            if status == "green":
                start = green_entry
                n = rng.randint(1, 2)
            else:
                start = identified
                n = 0 if (status == "monitoring" and r() < 0.04) else rng.randint(1, 4)
            need_dev = stats["can_work"] > 0 and status != "green" and r() < 0.93
            chosen = []
            if n and need_dev:
                chosen.append(self.developmental[int(r() * len(self.developmental))])
            while len(chosen) < n:
                code = rng.choices(self.measure_codes, cum_weights=self.measure_cum)[0]
                items = self.catalog[code]
                item = items[int(r() * len(items))][0] if items else None
                if (code, item) not in chosen:
                    chosen.append((code, item))
            for code, item in chosen:
                has_public_post |= code == "A42"
                ms_rows.append(self._measure(hid, code, item, start, removed_on))

        # ---- income of the year
        sums = self._income(hid, status, size, stats, poverty, dibao, tekun, has_public_post, family, ir_rows, il_rows)
        if status == "removed" and r() < 0.97:  # the 风险消除后 block recorded at removal (1_11_004 when missing)
            row = hh_rows[-1]
            a33 = sums["A28"] + sums["A29"] + sums["A30"] + sums["A31"] - sums["A32"]
            row.update(after_dropout=False, after_housing_damaged=False, after_medical_missing=False,
                       after_water_damaged=False, after_a33=Decimal(a33),
                       after_a34=(Decimal(a33) / max(size, 1)).quantize(Decimal("0.01")),
                       **{f"after_{k.lower()}": Decimal(v) for k, v in sums.items()})

    def _event(self, hid: int, mid: int, kind: str, when: date, note: str | None) -> dict:
        eid = self.next[MemberEvent]()
        return dict(id=eid, household_id=hid, member_id=mid, kind=kind, event_date=when, other_household_id=None,
                    note=note, recorded_by="demo", created_at=self.now, updated_at=self.now)

    def _member(self, hid, seq, name, sex, rel, age, born, eth, relocated, at_risk, dibao, tekun, stats) -> dict:
        rng = self.rng
        r = rng.random
        mid = self.next[Member]()
        number = self.ids.make(self.ids.area() if rel not in ("03", "04", "07", "08") else self.ids.main, born, sex)

        # health: chronic illness and disability grow with age; a little more among households at risk
        bump = 1.8 if at_risk else 1.0
        h = r()
        p_serious = (0.004 + age * 0.0002) * bump
        p_disabled = (0.012 + age * 0.0003) * bump
        p_chronic = (0.02 if age < 40 else 0.10 if age < 60 else 0.24) * bump
        grade = None
        if h < p_serious:
            health = "03"
        elif h < p_serious + p_disabled:
            health = "04"
            grade = rng.choices(("01", "02", "03", "04"), cum_weights=(12, 32, 62, 100))[0]
        elif h < p_serious + p_disabled + p_chronic:
            health = "02"
        else:
            health = "01"
        if grade is not None and r() < 0.9:
            number = f"{number}{rng.randint(1, 7)}{int(grade)}"  # 残疾人证号: ID + category + grade

        # school at the status time point; compulsory education 6–15 nearly always in school
        if age < 3:
            school = "01"
        elif age < 6:
            school = "02" if r() < 0.85 else "01"
        elif age <= 15:
            if r() < 0.004 or (health == "04" and grade in ("01", "02") and r() < 0.3):
                school = "26"  # out of school: a finding (SCHOOL_AGE_OUT) unless disabled
            elif age <= 11:
                school = "03"
            else:
                school = ("04", "05", "06", "06")[age - 12] if age < 15 else ("06" if r() < 0.5 else "07")
        elif age <= 18:
            if r() < 0.7:
                grade_no = min(age - 16, 2)
                school = ("07", "08", "09")[grade_no] if r() < 0.65 else ("10", "11", "12")[grade_no]
            else:
                school = "26"
        elif age <= 22 and r() < 0.3:
            school = ("13", "14", "15")[min(age - 19, 2)] if r() < 0.55 else ("20", "21", "22", "23")[age - 19]
        else:
            school = "26"
        in_school = school not in ("01", "26")

        # education (highest level reached or being attended)
        if age < 6 or (in_school and r() >= 0.01):
            education = None  # in school: the national system wants 在校生状况 only (3_01_003); a few slips
        elif in_school:
            education = ("02" if school == "03" else "03" if school in ("04", "05", "06") else
                         "04" if school in ("07", "08", "09", "10", "11", "12") else
                         "06" if school in ("13", "14", "15") else "07")
        elif age < 16:
            education = "02" if age < 13 else "03"
        else:
            e = r()
            if age <= 40:
                education = "02" if e < 0.08 else "03" if e < 0.58 else "04" if e < 0.80 else "06" if e < 0.92 else "07"
            elif age <= 60:
                education = "01" if e < 0.04 else "02" if e < 0.34 else "03" if e < 0.84 else "04" if e < 0.98 else "06"
            else:
                education = "01" if e < 0.30 else "02" if e < 0.80 else "03" if e < 0.97 else "04"

        # labour skill by age and health
        if age < 16 or in_school:
            labor = "05"
        elif health == "03" or (health == "04" and grade in ("01", "02")):
            labor = "04" if r() < 0.7 else "03"
        elif age < 60:
            if health == "02" or health == "04":
                labor = "02" if r() < 0.6 else "03"
            else:
                lr = r()
                labor = "01" if lr < 0.16 else "02" if lr < 0.96 else "03"
        elif age < 70:
            lr = r()
            labor = "02" if lr < 0.01 else "03" if lr < 0.85 else "05"
        else:
            lr = r()
            labor = "03" if lr < 0.30 else "05"
        can_work = labor in ("01", "02")

        work_region = work_months = work_place = None
        if can_work and 16 <= age <= 64 and r() < 0.75:
            wr = r()
            work_region = ("01" if wr < 0.15 else "02" if wr < 0.35 else "03" if wr < 0.65 else
                           "04" if wr < 0.985 else "05")
            work_months = rng.randint(2, 5) if r() < 0.08 else rng.randint(6, 12)
            # 务工所在地 to the county as the collection asks; a few written to the province only
            work_place = (self.home_county if work_region in ("01", "02") else
                          rng.choice(_WORK_PLACES_PROVINCE) if work_region == "03" else
                          rng.choice(_WORK_PLACES_AWAY) if work_region == "04" else rng.choice(_WORK_ABROAD))
            if r() < 0.02:
                work_place = work_place[:3] if work_region in ("03", "04") else None

        political = "04"
        if age >= 18:
            pr = r()
            political = "01" if pr < 0.06 else "02" if pr < 0.063 else ("03" if age <= 28 and pr < 0.25 else "04")
        elif age >= 14 and r() < 0.3:
            political = "03"

        a17 = r() >= 0.003
        a19 = age >= 16 and not in_school and r() < 0.88
        dibao_code = "01" if dibao and r() < 0.9 else "00"
        tekun_code = "01" if tekun else "00"
        if stats is not None:
            stats["can_work"] += can_work
            stats["workers"] += work_months is not None
            stats["old60"] += age >= 60
            stats["old80"] += age >= 80
            stats["disabled"] += health == "04"
            stats["serious"] += health == "03"
            stats["chronic"] += health == "02"
            stats["students"] += school in ("07", "08", "09", "10", "11", "12", "13", "14", "15", "20", "21", "22",
                                            "23")
            stats["dropout"] |= school == "26" and 6 <= age <= 15 and health != "04"
            stats["tekun"] += tekun_code == "01"
            stats["dibao"] += dibao_code == "01"
        now = self.now
        return dict(id=mid, household_id=hid, seq=seq, name=name, sex=sex, id_number=number, relation=rel,
                    ethnicity=eth if rel not in ("02", "05") or r() < 0.9 else "01", political=political,
                    education=education, school=school, health=health, disability_grade=grade, labor=labor,
                    work_region=work_region, work_place=work_place, work_months=work_months, a17_medical=a17,
                    a17_resident_medical=a17, a17_employee_medical=False if a17 else None, a18_serious_illness=a17,
                    a19_pension=a19, a20_dibao=dibao_code, a21_tekun=tekun_code, a22_relocated=relocated,
                    # most adults have a mobile of their own (every worker: the national 2_12_007 asks for one)
                    phone=(_phone(rng) if work_months is not None or (age >= 18 and r() < 0.8) else None),
                    status="normal", status_date=None, note=None, created_at=now, updated_at=now)

    def _measure(self, hid: int, code: str, item: str | None, start: date, removed_on: date | None) -> dict:
        rng = self.rng
        mid = self.next[Measure]()
        begin = self._date_between(start, min(start + timedelta(days=45), self.as_of))
        term = _TERM_ITEMS.get((code, item)) or _TERM_ITEMS.get((code, None))
        end = None
        if term:
            end = _shift_year(begin, term)
        elif removed_on is not None and rng.random() < 0.5:
            end = removed_on
        elif rng.random() < 0.4:
            end = _shift_year(begin, 1)
        amount = {
            "A39": lambda: rng.randint(10, 100) * 100, "A40": lambda: rng.randint(5, 30) * 100,
            "A41": lambda: rng.randint(1, 5) * 10000, "A42": lambda: rng.randint(30, 96) * 100,
            "A43": lambda: rng.randint(15, 35) * 1000, "A44": lambda: rng.randint(5, 50) * 100,
            "A45": lambda: rng.randint(2, 50) * 100, "A46": lambda: rng.randint(0, 20) * 100,
            "A47": lambda: rng.choice((1500, 3000, 5000)), "A48": lambda: rng.randint(20, 80) * 100,
            "A49": lambda: rng.randint(5, 30) * 100, "A50": lambda: rng.randint(10, 60) * 1000,
            "A51": lambda: rng.randint(10, 80) * 100, "A52": lambda: None,
        }[code]()
        now = self.now
        return dict(id=mid, household_id=hid, case_id=None, category=code, item=item, start_date=begin,
                    end_date=end, amount=amount, responsible_unit=_UNITS[code], developmental_override=None,
                    developmental_note=None, raises_working_ability=(item == "技能培训" and rng.random() < 0.5),
                    ended_on=None, ended_reason=None, created_at=now, updated_at=now)

    def _income(self, hid, status, size, stats, poverty, dibao, tekun, public_post, family, ir_rows, il_rows) -> None:
        rng = self.rng
        r = rng.random
        ri = rng.randint
        line = self.line
        # per-capita net income: most above the line, some below; monitored ones near it
        if status in ("monitoring", "identifying", "green"):
            pc = line * rng.uniform(0.55, 1.6)
        elif status in ("removed", "removing"):
            pc = line * rng.uniform(1.05, 2.4)
        else:
            pc = line * rng.lognormvariate(0.9, 0.4)  # about 1 in 80 below the line: the 疑似应纳未纳 to look at
        target = int(pc * size)

        a31 = []
        if stats["old60"]:
            a31.append(("养老保险金", sum(ri(1500, 2400) for _ in range(stats["old60"]))))
        if dibao and stats["dibao"]:
            a31.append(("低保金", stats["dibao"] * ri(3000, 4800)))
        if tekun:
            a31.append(("特困供养金", ri(6000, 9000)))
        if stats["disabled"] and r() < 0.8:
            a31.append(("残疾补贴", stats["disabled"] * ri(1000, 1800)))
        if stats["old80"]:
            a31.append(("高龄补贴", stats["old80"] * ri(600, 1200)))
        if r() < 0.5:
            a31.append(("地力补贴", ri(100, 800)))
        if r() < 0.1:
            a31.append(("生态补偿金-公益林", ri(100, 600)))
        if r() < 0.05:
            a31.append(("计划生育金", rng.choice((960, 1200, 1440))))
        if len(family) == 1 and family[0][2] >= 60 and r() < 0.4:
            a31.append(("赡养费", ri(1000, 4000)))
        a30 = []
        if (poverty or status != "none") and r() < 0.6:
            a30.append(("资产收益扶贫分红", ri(200, 1500)))
        if r() < 0.3:
            a30.append(("土地流转", ri(300, 3000)))
        rest = target - sum(a for _, a in a31) - sum(a for _, a in a30)
        a28, a29, a32 = [], [], []
        if rest > 0:
            wage = int(rest * rng.uniform(0.6, 0.9)) if stats["workers"] else 0
            if wage and public_post:
                post = min(wage, ri(3000, 8000))
                a28.append((rng.choice(("村级公益岗收入", "乡镇公益岗收入", "行业部门公益岗收入")), post))
                wage -= post
            if wage > 0:
                a28.append(("务工收入", wage))
            net = rest - sum(a for _, a in a28)
            if net > 0:
                cost_ratio = rng.uniform(0.25, 0.5)
                gross = int(net / (1 - cost_ratio))
                cost = gross - net
                if r() < 0.35:
                    part = int(gross * rng.uniform(0.2, 0.5))
                    part_cost = int(cost * part / gross)
                    kind = rng.choice(("养殖业", "林果业"))
                    a29 += [("种植业", gross - part), (kind, part)]
                    a32 += [("种植业", cost - part_cost), (kind, part_cost)]
                else:
                    a29.append(("种植业", gross))
                    a32.append(("种植业", cost))
        a35 = [("商业保险理赔", ri(1000, 20000))] if r() < 0.03 else []
        a36 = []
        if stats["serious"]:
            a36.append(("医疗自付", ri(2000, 30000)))
        elif stats["chronic"] and r() < 0.4:
            a36.append(("医疗自付", ri(300, 3000)))
        if stats["students"] and r() < 0.5:
            a36.append(("教育", ri(1000, 6000)))

        rid = self.next[IncomeRecord]()
        lo = max(self.ref - timedelta(days=20), date(self.year, 1, 1))
        collected = self._date_between(min(lo, self.as_of), self.as_of)
        now = self.now
        ir_rows.append(dict(id=rid, household_id=hid, year=self.year, quarter=None, collected_on=collected,
                            collected_by=self.cadres[int(r() * len(self.cadres))], signatures_collected=r() < 0.98,
                            size=size, note=None, origin="entered", recorded_by="demo", created_at=now,
                            updated_at=now))
        for item, entries in (("A28", a28), ("A29", a29), ("A30", a30), ("A31", a31), ("A32", a32), ("A35", a35),
                              ("A36", a36)):
            for name, amount in entries:
                if amount <= 0:
                    continue
                lid = self.next[IncomeLine]()
                il_rows.append(dict(id=lid, record_id=rid, item=item, line=name, amount=amount, note=None))
        return {item: sum(a for _, a in entries if a > 0) for item, entries in (
            ("A28", a28), ("A29", a29), ("A30", a30), ("A31", a31), ("A32", a32), ("A35", a35), ("A36", a36))}
