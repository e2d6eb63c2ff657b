"""Why an action on a customer was refused: a code for the API and a message for people."""


class CustomerRefused(Exception):
    """An upload or change refused for a reason a client can act on (code as in the API)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
