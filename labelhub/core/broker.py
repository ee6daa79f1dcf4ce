"""Small questions to the Celery broker."""


def broker_queue_length(queue: str) -> int | None:
    """Messages waiting in a queue, or None when the broker cannot say (treat as busy)."""
    from kombu.exceptions import ChannelError

    from labelhub.celery import app

    try:
        with app.connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError as exc:
        # The queue does not exist (Redis restarted empty, before any worker declared it again):
        # nothing is waiting in it.
        return 0 if "NOT_FOUND" in str(exc) else None
    except Exception:  # noqa: BLE001 - unknown: the caller acts as if busy
        return None
