"""aiokafka clients configured the one way the platform uses them.

Producers use ``acks="all"`` without the idempotent producer (the local broker refuses ``InitProducerId``);
duplicates that a retry may cause are removed by consumers, which dedupe by event id.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        max_batch_size=1_048_576,
    )


def make_consumer(bootstrap: str, group_id: str, topics: list[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        # The local broker holds a fetch for most of its wait even when records arrive meanwhile (with the
        # default 500 ms a record waited about 115 ms; with 50 ms, about 15 ms): a short wait keeps an event's
        # trip short, at the cost of more empty fetches while idle.
        fetch_max_wait_ms=50,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        metadata_max_age_ms=5_000,
    )


async def create_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    """Create topics with this many partitions (consumer parallelism is capped by them); existing ones stay."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
