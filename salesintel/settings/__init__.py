# ruff: noqa: I001  (order matters: security reads DEBUG from base)
"""Settings, one module per concern, every value from the environment.

Order matters only where a later module reads an earlier one's value (``DEBUG``).
"""

from salesintel.settings.base import *  # noqa: F403
from salesintel.settings.database import *  # noqa: F403
from salesintel.settings.tasks import *  # noqa: F403
from salesintel.settings.cache import *  # noqa: F403
from salesintel.settings.email import *  # noqa: F403
from salesintel.settings.security import *  # noqa: F403
from salesintel.settings.api import *  # noqa: F403
from salesintel.settings.logging import *  # noqa: F403
from salesintel.settings.product import *  # noqa: F403
