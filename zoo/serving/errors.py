"""The one error type of the server: an HTTP status and a message, answered as TF Serving answers
errors, ``{"error": "<message>"}``."""


class ServingError(Exception):
    """A request the server refuses: ``status`` is the HTTP status code TF Serving gives for the same
    case (400 invalid argument, 404 not found, 413 too large, 503 unavailable, 504 deadline exceeded)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message
