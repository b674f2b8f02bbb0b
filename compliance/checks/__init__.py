"""Check functions. Importing this package registers every check family.

Add `from compliance.checks import endpoint` (etc.) here when a new family is written.
"""

from compliance.checks import device, network, site  # noqa: F401  (registers every check family)
from compliance.checks.base import CheckResult, check, get_check, registered_checks

__all__ = ["CheckResult", "check", "get_check", "registered_checks"]
