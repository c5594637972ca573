"""Background jobs: one helper enqueues, worker.py runs them inside one app context."""

from rq import Queue, Retry

from app.redis_store import get_redis


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(func, *args, queue_name: str = "default", retry: Retry | None = None, **kwargs):
    """Enqueue `func(*args, **kwargs)`; jobs take ids, never ORM objects."""
    return queue(queue_name).enqueue(func, *args, retry=retry, **kwargs)
