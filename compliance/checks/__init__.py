"""Check functions. Importing this package registers every check family.

Add `from compliance.checks import endpoint` (etc.) here when a new family is written.
"""

from compliance.checks import network  # noqa: F401  (registers the network_config checks)
from compliance.checks.base import CheckResult, check, get_check, registered_checks

__all__ = ["CheckResult", "check", "get_check", "registered_checks"]
