"""How `zoo serve` batches and what it refuses: one frozen dataclass, whose fields `zoo serve` maps onto
flags (``max_batch_size`` -> ``--max-batch-size``). Imports nothing heavy: ``zoo --help`` reads it."""

import dataclasses
import os


def _field(default, help):
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class Limits:
    max_batch_size: int = _field(64, "examples in one model call; a request with more gets 400")
    batch_timeout_ms: float = _field(2.0, "how long a batch waits to gather concurrent requests; 0 turns batching off")
    max_queue: int = _field(256, "requests waiting or running per signature; beyond them 503")
    max_request_bytes: int = _field(1 << 20, "largest request body in bytes; beyond it 413")
    request_timeout_s: float = _field(30.0, "seconds a request may wait and run; beyond them 504")
    batch_threads: int = _field(max(1, (os.cpu_count() or 2) // 2),
                                "batches of one signature that run at once (TF Serving's num_batch_threads); "
                                "default half the CPU cores, leaving the rest to HTTP and JSON")
    threads: int = _field(4, "worker threads that call the models")

    def check(self):
        """Itself, or a ValueError naming the flag whose value is out of range."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not value > 0 and not (field.name == "batch_timeout_ms" and value == 0):
                flag = "--" + field.name.replace("_", "-")
                off = " (0 turns batching off)" if field.name == "batch_timeout_ms" else ""
                raise ValueError(f"{flag} must be > 0{off}; got {value}.")
        return self
