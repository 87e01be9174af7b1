"""Running a signature for many concurrent requests: dynamic batching, bounded queues, statistics.

A :class:`Batcher` gathers requests to one batchable signature (every input ``[None, ...]``) for at most
``timeout_s`` after the first arrives (no wait when the last batch held one request: a lone client is not
slowed down), up to ``max_batch_size`` examples, concatenates their inputs along
the first axis, calls the model once in a worker thread, and hands each request its own rows of every
output, in order (the idea of TF Serving's ``--enable_batching``: one call for many small requests costs
little more than one). Up to ``batch_threads`` batches run at once (TF Serving's ``num_batch_threads``):
a model call keeps about one core busy, so on a machine with several, one batch runs while the next one
runs beside it instead of waiting; while every slot is taken, the next batch gathers. A :class:`Runner`
calls the model once per request: for signatures that cannot be stacked (scalar inputs) and when batching
is off.

Both refuse work beyond ``max_queue`` waiting or running requests with 503, so a burst cannot grow memory
without bound; a request whose caller stopped waiting (timeout, disconnect) is dropped before it runs.
"""

import asyncio
import collections
import dataclasses

import numpy as np

from zoo.serving.errors import ServingError


@dataclasses.dataclass
class Stats:
    """What a signature has run: requests answered, model calls made, examples (rows) in them."""

    requests: int = 0
    calls: int = 0
    rows: int = 0
    largest_batch: int = 0


def _queue_full(max_queue):
    return ServingError(503, f"the server is busy: {max_queue} requests are already waiting for this model "
                             "(--max-queue); retry later")


def _call(function, inputs):
    """Run a signature on NumPy inputs; its outputs as NumPy arrays (in a worker thread)."""
    import tensorflow as tf

    try:
        outputs = function(**{name: tf.constant(value) for name, value in inputs.items()})
    except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as err:  # bad values the model refused
        raise ServingError(400, str(err).strip().splitlines()[0]) from None
    # A scalar string's .numpy() is bytes, not an array.
    return {name: np.asarray(tensor.numpy(), dtype=object if tensor.dtype == tf.string else None)
            for name, tensor in outputs.items()}


class Runner:
    """One model call per request, at most ``max_queue`` in flight."""

    def __init__(self, function, executor, max_queue):
        self.function, self.executor, self.max_queue = function, executor, max_queue
        self.in_flight = 0
        self.stats = Stats()

    async def run(self, inputs, rows=None):
        if self.in_flight >= self.max_queue:
            raise _queue_full(self.max_queue)
        self.in_flight += 1
        future = asyncio.get_running_loop().run_in_executor(self.executor, _call, self.function, inputs)
        # The thread runs to its end even when the caller times out: count it until then.
        future.add_done_callback(lambda _: self._done(rows))
        outputs = await asyncio.shield(future)
        self.stats.requests += 1
        return outputs

    def _done(self, rows):
        self.in_flight -= 1
        self.stats.calls += 1
        self.stats.rows += rows or 1


@dataclasses.dataclass
class _Waiting:
    inputs: dict
    rows: int
    future: asyncio.Future


class Batcher:
    """Requests to one signature gathered into batches of at most ``max_batch_size`` rows (see module doc)."""

    def __init__(self, function, executor, max_batch_size, timeout_s, max_queue, batch_threads=1):
        self.function, self.executor = function, executor
        self.max_batch_size, self.timeout_s, self.max_queue = max_batch_size, timeout_s, max_queue
        self.batch_threads = batch_threads
        self.waiting = collections.deque()
        self.waiting_rows = 0
        self.running = 0  # requests in the batches being run
        self.stats = Stats()
        self._arrived = asyncio.Event()
        self._task = None
        self._batches = set()  # the tasks running a batch
        self._last_size = 1

    @property
    def in_flight(self):
        return len(self.waiting) + self.running

    async def run(self, inputs, rows):
        if self.in_flight >= self.max_queue:
            raise _queue_full(self.max_queue)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._serve())
        item = _Waiting(inputs, rows, asyncio.get_running_loop().create_future())
        self.waiting.append(item)
        self.waiting_rows += rows
        self._arrived.set()
        outputs = await item.future
        self.stats.requests += 1
        return outputs

    async def close(self):
        tasks = [t for t in (self._task, *self._batches) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _gather(self):
        """The next batch: wait for a first request, then for more until the timeout or a full batch."""
        loop = asyncio.get_running_loop()
        while not self.waiting:
            self._arrived.clear()
            await self._arrived.wait()
        # Wait for more only when the last batch held several requests: a lone client's requests run at
        # once, while under concurrent load, requests that arrive during a batch form the next one anyway.
        deadline = loop.time() + (self.timeout_s if self._last_size > 1 else 0)
        while self.waiting_rows < self.max_batch_size and (left := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                break
        batch, rows = [], 0
        while self.waiting and rows + self.waiting[0].rows <= self.max_batch_size:
            item = self.waiting.popleft()
            self.waiting_rows -= item.rows
            if not item.future.done():  # its caller has not given up
                batch.append(item)
                rows += item.rows
        self._last_size = len(batch)
        return batch, rows

    async def _call(self, batch, rows):
        inputs = {name: np.concatenate([item.inputs[name] for item in batch]) for name in batch[0].inputs}
        outputs = await asyncio.get_running_loop().run_in_executor(self.executor, _call, self.function, inputs)
        bad = {k: list(v.shape) for k, v in outputs.items() if v.ndim == 0 or v.shape[0] != rows}
        if bad:
            raise ServingError(500, f"the model returned shapes {bad} for {rows} examples: its outputs do not "
                                    "have one row per example, so it cannot be batched")
        self.stats.calls += 1
        self.stats.rows += rows
        self.stats.largest_batch = max(self.stats.largest_batch, rows)
        return outputs

    @staticmethod
    def _answer(item, outputs, start=0):
        if not item.future.done():
            item.future.set_result({k: v[start : start + item.rows] for k, v in outputs.items()})

    async def _serve(self):
        """Gather a batch whenever one of the ``batch_threads`` slots is free, and run it in that slot."""
        slots = asyncio.Semaphore(self.batch_threads)
        while True:
            await slots.acquire()
            batch, rows = await self._gather()
            if not batch:
                slots.release()
                continue
            self.running += len(batch)
            task = asyncio.get_running_loop().create_task(self._run(batch, rows))
            self._batches.add(task)
            task.add_done_callback(lambda done, n=len(batch): self._finished(done, n, slots))

    def _finished(self, task, requests, slots):
        self._batches.discard(task)
        self.running -= requests
        slots.release()

    async def _run(self, batch, rows):
        """Run one batch and answer each of its requests (or, if the batch fails, each alone)."""
        try:
            outputs = await self._call(batch, rows)
            start = 0
            for item in batch:
                self._answer(item, outputs, start)
                start += item.rows
        except Exception as err:  # noqa: BLE001 - rerun one by one, so that one bad request fails alone
            for item in batch:
                try:
                    if len(batch) == 1:
                        raise err
                    self._answer(item, await self._call([item], item.rows))
                except Exception as own:  # noqa: BLE001 - its caller gets the error
                    if not item.future.done():
                        item.future.set_exception(own)
