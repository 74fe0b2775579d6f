"""Celery tasks for PushSubscription delivery: thin wrappers around
jmapcore.pushsub.delivery.pushsub_deliver, which decides; the task only
turns "retry in n seconds" into a Celery retry (exponential backoff)."""
from __future__ import annotations

from typing import Any

from celery import shared_task

from jmapcore.pushsub.delivery import PUSH_MAX_FAILURES, Outcome, PushKind, pushsub_deliver


@shared_task(
    bind=True,
    name="jmapcore.pushsub.tasks.pushsub_deliver_task",
    max_retries=PUSH_MAX_FAILURES - 1,
    ignore_result=True,
)
def pushsub_deliver_task(
    self: Any, subscription_id: int, kind: str, changed: dict[str, dict[str, str]] | None = None
) -> str:
    """Deliver one PushVerification or StateChange to one subscription."""
    attempt = int(self.request.retries or 0)
    result = pushsub_deliver(subscription_id=subscription_id, kind=PushKind(kind), changed=changed, attempt=attempt)
    if result.outcome is Outcome.RETRY and result.retry_in is not None:
        if attempt >= self.max_retries:
            return str(Outcome.DROPPED)
        raise self.retry(countdown=result.retry_in)
    return str(result.outcome)
