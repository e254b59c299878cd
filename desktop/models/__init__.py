"""SQLAlchemy tables of the whole product. No Qt here."""

from .audit import AuditEntry
from .base import Base, Money
from .case import Case, CaseStep, Clue
from .correction import Correction
from .fingerprint import ImportFingerprint
from .household import Household, Member, MemberEvent
from .income import IncomeLine, IncomeRecord
from .measure import Measure
from .rectification import Rectification
from .region import LEVELS, Region
from .screening import ScreeningVisit
from .settings import AppSetting, YearSettings
from .user import LoginGuard, User, UserVillage
from .version import DataVersion

__all__ = [
    "AppSetting", "AuditEntry", "Base", "Case", "CaseStep", "Clue", "Correction", "DataVersion", "Household",
    "ImportFingerprint", "IncomeLine",
    "IncomeRecord", "LEVELS", "LoginGuard", "Measure", "Member", "MemberEvent", "Money", "Rectification", "Region",
    "ScreeningVisit", "User", "UserVillage", "YearSettings",
]
