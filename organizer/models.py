"""Imports every area's models, so the metadata is complete for Alembic and the tests.

Add a line here when an area gets models.
"""

from organizer.actions import models as actions_models  # noqa: F401
from organizer.audit import models as audit_models  # noqa: F401
from organizer.auth import models as auth_models  # noqa: F401
from organizer.campaigns import models as campaigns_models  # noqa: F401
from organizer.institutions import models as institutions_models  # noqa: F401
from organizer.people import models as people_models  # noqa: F401
from organizer.relational import models as relational_models  # noqa: F401
from organizer.reports import models as reports_models  # noqa: F401
from organizer.settings import models as settings_models  # noqa: F401
from organizer.sms import models as sms_models  # noqa: F401
from organizer.submissions import models as submissions_models  # noqa: F401
