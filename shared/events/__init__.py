"""Events between services: CloudEvents envelopes around versioned pydantic payloads, on Kafka.

- ``schemas``: every payload of every service, one class per (type, version).
- ``envelope``: the CloudEvents 1.0 structured-mode envelope and the Kafka record it becomes.
- ``outbox``: the tables each service owns (outbox, processed events) and how to enqueue an event.
- ``relay``: publishes outbox rows to Kafka and marks them sent.
- ``consumer``: idempotent consumption with retries and a dead-letter topic.
"""
