"""First run: township, year and monitoring line, and the administrator, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AppSetting, Region, User
from . import access, auth, keys, regions, settings


@dataclass
class FirstRun:
    township: str
    county: str | None
    city: str | None
    province: str | None
    year: int
    monitoring_line: str
    admin_username: str
    admin_name: str
    admin_password: str
    township_code: str | None = None


def needs_first_run(session: Session) -> bool:
    """Asked before anyone logs in: is the township or its first administrator still missing?"""
    township = session.scalar(select(AppSetting.value).where(AppSetting.key == "township_id"))
    return not township or session.scalar(select(User.id).limit(1)) is None


def township_name(session: Session) -> str | None:
    """The township's name, shown on the log-in screen before anyone has logged in."""
    tid = session.scalar(select(AppSetting.value).where(AppSetting.key == "township_id"))
    return session.scalar(select(Region.name).where(Region.id == int(tid))) if tid else None


def complete_first_run(session: Session, fr: FirstRun) -> None:
    access.admin(session, "完成首次设置")
    if settings.parse_amount(fr.monitoring_line, "监测线") is None:
        raise settings.SettingsError("请填写当年的监测线（元/人·年）")
    if regions.township(session) is None:
        regions.init_township(session, fr.township, fr.county, fr.city, fr.province, fr.township_code)
    settings.set_year(session, fr.year, monitoring_line=fr.monitoring_line)
    if settings.current_year(session) is None:
        settings.set_current_year(session, fr.year)
    auth.create_user(session, fr.admin_username, fr.admin_name, "admin", fr.admin_password)
    keys.stage(session, "set_township", regions.township(session).name)  # the log-in screen's title
