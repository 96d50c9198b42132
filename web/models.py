"""Every package's tables, imported in one place for migrations and `kokous db check`."""

from audit import models as audit_models
from auth import models as auth_models
from meetings import models as meetings_models
from meetings import search as search_models
from meetings.decision_procedure import models as procedure_models
from meetings.live import models as live_models
from minutes import models as minutes_models

__all__ = [
    "audit_models",
    "auth_models",
    "live_models",
    "meetings_models",
    "minutes_models",
    "procedure_models",
    "search_models",
]
