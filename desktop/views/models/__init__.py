"""Qt item models of the windows: one model per table, with column constants, a row role and a sort role."""

from .household_table import HouseholdTableModel
from .member_table import MemberTableModel

__all__ = ["HouseholdTableModel", "MemberTableModel"]
