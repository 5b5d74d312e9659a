"""How a failure a retry may cure (:class:`TransientHubError`) is retried: the one policy the
mirror's repos and the listings' pages share.

A bounded number of tries, waits growing exponentially from ``FIRST`` to at most ``CAP`` seconds,
jittered so workers that failed together do not ask again together, and never shorter than the
server's ``Retry-After`` (but a server asking for more than ``RETRY_AFTER_CAP`` is not waited for
within the run: the failure is recorded and a later run tries again). 429s are also retried one
level down, by the rate-limited transport, after the wait the limiter computes; what reaches this
policy has outlasted those. huggingface_hub's listings (the trending one, a repo's tree) retry
5xx, 429 and network errors themselves, five times; such a failure is ``retried`` and not asked
again at once (a body cut short they do not retry, and it is).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import tenacity

from ..errors import TransientHubError

FIRST, CAP = 0.5, 30.0  # seconds: the first wait (and the jitter added, up to it), the longest
RETRY_AFTER_CAP = 120.0

logger = logging.getLogger(__name__)


def transient_retrying(retries: int, what: Callable[[], str], *, sleep: Callable[[float], None] = time.sleep,
                       on_retry: Callable[[], None] | None = None) -> tenacity.Retrying:
    """A ``tenacity.Retrying`` that calls again after a :class:`TransientHubError`, ``retries``
    times; ``what`` names the thing for the log line, ``sleep`` may end the wait early by raising
    (a run that is stopping), ``on_retry`` counts."""

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        backoff = tenacity.wait_exponential_jitter(multiplier=FIRST, max=CAP, jitter=FIRST)(state)
        after = getattr(exc, "retry_after", None) or 0.0
        return min(max(backoff, after), RETRY_AFTER_CAP)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None:
            on_retry()
        exc = state.outcome.exception() if state.outcome is not None else None
        logger.info("%s: %s; retrying in %.1fs (try %d of %d)", what(), exc, state.upcoming_sleep,
                    state.attempt_number + 1, 1 + retries)

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(1 + max(0, retries)), wait=wait,
        retry=tenacity.retry_if_exception(_worth_asking_again), before_sleep=before_sleep, sleep=sleep,
        reraise=True,
    )


def _worth_asking_again(exc: BaseException) -> bool:
    """Transient, and not after huggingface_hub's own retries (that would ask five times five)."""
    return isinstance(exc, TransientHubError) and not exc.retried
