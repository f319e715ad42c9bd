"""Domain errors. The CLI turns each into one stderr line and its documented exit code.

Exit codes: 0 ok, 1 unexpected failure, 2 invalid input or usage, 3 not found,
4 ambiguous reference or conflict. (`crm log due --check` also uses 1 for "something is due".)
"""


class CrmError(Exception):
    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(CrmError):
    exit_code = 2
    code = "invalid_input"


class NotFound(CrmError):
    exit_code = 3
    code = "not_found"


class Conflict(CrmError):
    """The request clashes with existing data (a taken e-mail, a stage still in use …)."""

    exit_code = 4
    code = "conflict"


class Ambiguous(Conflict):
    code = "ambiguous"
