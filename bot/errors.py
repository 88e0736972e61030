"""The one exception tree of the app.

Why a tree: listeners and workers decide what to do by *kind* of failure, not by where it came from.

    CareError
    ├── ConfigError            a setting is missing or malformed; the CLI prints it and exits 2
    ├── UserError              something a staff member can fix; shown to them (modal error / ephemeral)
    │   ├── CaseNotFound
    │   ├── CaseClosed         the action needs an open case
    │   └── OwnedByOther       claiming a case someone else owns needs a confirmed take-over
    ├── BadPayload             an inbound webhook body that cannot become a mention (HTTP 4xx)
    └── ConnectorError         a platform call failed
        ├── AuthError          credentials rejected; retrying will not help, the team must be told
        ├── PermanentError     the platform refused this request (4xx); retrying will not help
        └── TransientError     outage, 5xx, network; retried with backoff
            └── RateLimited    429; carries the number of seconds the platform asked us to wait
"""

from __future__ import annotations


class CareError(Exception):
    """Base of every error this app raises on purpose."""


class ConfigError(CareError):
    """A setting is missing or malformed. The message is one sentence naming the variable."""


class UserError(CareError):
    """A problem the staff member can act on; its message is shown to them verbatim."""


class CaseNotFound(UserError):
    pass


class CaseClosed(UserError):
    pass


class OwnedByOther(UserError):
    def __init__(self, owner_id: str) -> None:
        super().__init__(f"<@{owner_id}> already owns this case.")
        self.owner_id = owner_id


class BadPayload(CareError):
    """An inbound body we cannot accept. `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class ConnectorError(CareError):
    """A platform call failed."""


class AuthError(ConnectorError):
    pass


class PermanentError(ConnectorError):
    pass


class TransientError(ConnectorError):
    pass


class RateLimited(TransientError):
    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
