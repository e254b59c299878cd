"""The township and its villages and groups (村民小组). Villages carry 农村户籍人口 for the 2% ratio."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Household, Region
from . import access, settings
from .errors import ServiceError


class RegionError(ServiceError):
    pass


@dataclass
class GroupNode:
    id: int
    name: str
    code: str | None
    households: int | None = 0  # None: not counted (tree(counts=False))


@dataclass
class VillageNode:
    id: int
    name: str
    code: str | None
    rural_population: int | None
    households: int | None = 0  # None: not counted (tree(counts=False))
    groups: list[GroupNode] = field(default_factory=list)


@dataclass(frozen=True)
class Township:
    id: int
    name: str
    county: str | None
    city: str | None
    province: str | None


def _check_code(code: str | None) -> str | None:
    code = (code or "").strip()
    if not code:
        return None
    if not (code.isdigit() and len(code) == 12):
        raise RegionError(f"区划代码“{code}”应为 12 位数字")
    return code


def init_township(session: Session, township: str, county: str | None = None, city: str | None = None,
                  province: str | None = None, code: str | None = None) -> int:
    """Configure the township once: the chain 省 › 市 › 县 › 乡镇."""
    access.admin(session, "设置乡镇")
    if not township or not township.strip():
        raise RegionError("乡镇（街道）名称不能为空")
    if settings.get_app(session, "township_id"):
        raise RegionError("本数据库已配置乡镇，不能重复初始化")
    parent_id = None
    for level, name in (("province", province), ("city", city), ("county", county)):
        if name and name.strip():
            r = Region(level=level, name=name.strip(), parent_id=parent_id)
            session.add(r)
            session.flush()
            parent_id = r.id
    t = Region(level="township", name=township.strip(), parent_id=parent_id, code=_check_code(code))
    session.add(t)
    session.flush()
    settings.set_app(session, "township_id", str(t.id))
    return t.id


def township(session: Session) -> Township | None:
    access.logged_in(session)
    tid = settings.get_app(session, "township_id")
    if not tid:
        return None
    t = session.get(Region, int(tid))
    names = {}
    parent = t.parent_id
    while parent is not None:
        r = session.get(Region, parent)
        names[r.level] = r.name
        parent = r.parent_id
    return Township(t.id, t.name, names.get("county"), names.get("city"), names.get("province"))


def _township_id(session: Session) -> int:
    t = township(session)
    if t is None:
        raise RegionError("尚未配置乡镇：请先运行初始化")
    return t.id


def add_village(session: Session, name: str, code: str | None = None,
                rural_population: int | None = None) -> int:
    access.manager(session, "新增行政村")
    return _add(session, "village", [(_township_id(session), name, _check_code(code), rural_population)])[0]


def add_villages(session: Session, names: list[str]) -> list[int]:
    """Several villages at once (an import's new villages), by the same rules as add_village, in one flush: ids in
    the order of `names`."""
    access.manager(session, "新增行政村")
    tid = _township_id(session)
    return _add(session, "village", [(tid, name, None, None) for name in names])


def add_group(session: Session, village_id: int, name: str, code: str | None = None) -> int:
    access.manager(session, "新增村民小组")
    return _add(session, "group", [(village_id, name, _check_code(code), None)])[0]


def add_groups(session: Session, groups: list[tuple[int, str]]) -> list[int]:
    """Several groups at once, (village id, name) each, by the same rules as add_group, in one flush."""
    access.manager(session, "新增村民小组")
    return _add(session, "group", [(vid, name, None, None) for vid, name in groups])


def _add(session: Session, level: str, rows: list[tuple[int, str, str | None, int | None]]) -> list[int]:
    """New villages (under the township) or groups (under their village): (parent, name, code, 农村户籍人口) each.
    A name must not be empty nor taken under the same parent (by the rows before it either); a group's parent must
    be a village. One query for the names taken, one flush (the audit hook writes an entry per row)."""
    if not rows:
        return []
    parents = {p for p, *_rest in rows}
    villages = {}
    if level == "group":
        villages = {r.id: r for r in session.scalars(select(Region).where(Region.id.in_(parents)))}
    taken = set(session.execute(select(Region.parent_id, Region.name).where(Region.parent_id.in_(parents))).all())
    made = []
    for parent, name, code, population in rows:
        name = (name or "").strip()
        if not name:
            raise RegionError("行政村名称不能为空" if level == "village" else "村民小组名称不能为空")
        if level == "group":
            village = villages.get(parent)
            if village is None or village.level != "village":
                raise RegionError("所属行政村不存在")
            if (parent, name) in taken:
                raise RegionError(f"“{village.name}”下已有“{name}”")
        elif (parent, name) in taken:
            raise RegionError(f"行政村“{name}”已存在")
        if population is not None and population < 0:
            raise RegionError("农村户籍人口不能为负数")
        taken.add((parent, name))
        r = Region(level=level, name=name, parent_id=parent, code=code, rural_population=population)
        session.add(r)
        made.append(r)
    session.flush()
    return [r.id for r in made]


def update_region(session: Session, region_id: int, *, name: str | None = None, code: str | None = None,
                  rural_population: int | None = None) -> None:
    access.manager(session, "修改村组")
    r = session.get(Region, region_id)
    if r is None:
        raise RegionError("区划不存在")
    if name is not None:
        if not name.strip():
            raise RegionError("名称不能为空")
        clash = session.scalar(select(Region.id).where(Region.parent_id == r.parent_id, Region.name == name.strip(),
                                                       Region.id != r.id))
        if clash is not None:
            raise RegionError(f"同级已有“{name.strip()}”")
        r.name = name.strip()
    if code is not None:
        r.code = _check_code(code)
    if rural_population is not None:
        if rural_population < 0:
            raise RegionError("农村户籍人口不能为负数")
        r.rural_population = rural_population


def tree(session: Session, village_ids: frozenset[int] | None = None, *, counts: bool = True) -> list[VillageNode]:
    """Villages with their groups and household counts, in name order (restricted for a clerk). `counts=False`:
    names only, for a choice box (counting reads every household: ~100 ms on the GUI thread at 20,000); the
    counts are then None, not a made-up 0."""
    village_ids = access.narrow(session, village_ids)
    tid = settings.get_app(session, "township_id")
    if not tid:
        return []
    working = Household.closed_on.is_(None)  # closed households (户注销) are out of the counts
    counts_v: dict[int, int] = {}
    counts_g: dict[int, int] = {}
    counted = select(Household.village_id, Household.group_id, func.count()).where(working)
    for village, group, n in (session.execute(counted.group_by(Household.village_id, Household.group_id))
                              if counts else ()):
        counts_v[village] = counts_v.get(village, 0) + n  # one pass over the households, not one per level
        counts_g[group] = counts_g.get(group, 0) + n
    zero = 0 if counts else None
    villages = session.scalars(select(Region).where(Region.parent_id == int(tid), Region.level == "village",
                                                    Region.active.is_(True))
                               .order_by(Region.sort_order, Region.name)).all()
    nodes = {v.id: VillageNode(v.id, v.name, v.code, v.rural_population, counts_v.get(v.id, zero))
             for v in villages if village_ids is None or v.id in village_ids}
    if nodes:
        groups = session.scalars(select(Region).where(Region.parent_id.in_(nodes), Region.level == "group",
                                                      Region.active.is_(True))
                                 .order_by(Region.sort_order, Region.name))
        for g in groups:
            nodes[g.parent_id].groups.append(GroupNode(g.id, g.name, g.code, counts_g.get(g.id, zero)))
    return list(nodes.values())


def village_by_name(session: Session, name: str) -> int | None:
    access.logged_in(session)
    tid = settings.get_app(session, "township_id")
    if not tid:
        return None
    return session.scalar(select(Region.id).where(Region.parent_id == int(tid), Region.name == name.strip()))


def group_by_name(session: Session, village_id: int, name: str) -> int | None:
    access.logged_in(session)
    return session.scalar(select(Region.id).where(Region.parent_id == village_id, Region.name == name.strip()))


def names(session: Session) -> dict[int, str]:
    """id → name of every village and group (for display of many rows)."""
    access.logged_in(session)
    return dict(session.execute(select(Region.id, Region.name).where(Region.level.in_(("village", "group")))).all())


_FULL_WIDTH = str.maketrans("０１２３４５６７８９，", "0123456789,")


def parse_population(text: str | None) -> int | None:
    """农村户籍人口 as typed: "1250", "1,250", "1 250", full-width digits, an optional "人"; blank is unknown
    (None). Anything else is refused with a Chinese message (never a silent 0 or a dropped value)."""
    raw = (text or "").strip()
    if not raw:
        return None
    cleaned = raw.translate(_FULL_WIDTH).replace(",", "").replace(" ", "").replace("\u3000", "").removesuffix("人")
    if not cleaned.isascii() or not cleaned.isdigit():
        raise RegionError(f"农村户籍人口“{raw}”不是有效的人数：请填写不带小数的整数，例如 1250 或 1,250")
    value = int(cleaned)
    if value > 10_000_000:
        raise RegionError(f"农村户籍人口“{raw}”超过 1000 万，请核对")
    return value


def code_problem(code: str | None) -> str | None:
    """The message for an invalid 12-digit division code, None when it is valid or empty (for live checks)."""
    try:
        _check_code(code)
    except RegionError as exc:
        return str(exc)
    return None
