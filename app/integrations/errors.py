"""What a call to another product can end in, besides success."""


class IntegrationError(Exception):
    """A failure worth another try later (timeout, 5xx): the job raises it and RQ retries."""


class RateLimited(Exception):
    """The provider said "not now" (429): try again after `retry_after` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"rate limited for {retry_after:g} s")
        self.retry_after = retry_after


class Skipped(Exception):
    """Nothing was sent, on purpose (a required field unknown, waiting for the transcript): the
    delivery shows the reason to the admin; no retry."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Refused(Exception):
    """A failure another try will not fix (revoked token, wrong channel, 4xx): show it to the admin.

    `broken` means the connection itself is unusable and the page offers Reconnect.
    """

    def __init__(self, message: str, status_code: int | None = None, broken: bool = False):
        super().__init__(message)
        self.message, self.status_code, self.broken = message, status_code, broken


def retry_after_seconds(value, default: float = 30.0) -> float:
    """Seconds from a Retry-After header (or Discord's `retry_after`), kept between 1 s and an hour."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = default
    return min(max(seconds, 1.0), 3600.0)
