"""A threaded prefetcher: a generator of batches (any Python function of the
step) run ahead of its consumer in background threads, in step order.

What the TensorFlow-free training path reads instead of tf.data
(`pipelines.sources.DataSource.training_inputs`).
"""

import threading


class Prefetcher:
    """Produces `fn(step)` for step = start, start + 1, ... in background threads.

    Items come out in step order; `threads` workers keep up to `depth` items
    ready, so a fast consumer is not kept waiting by the generator.

    Example:
        with Prefetcher(lambda i: sample(0, i, 16, 20)) as batches:
            positions, indices = next(batches)
    """

    def __init__(self, fn, start=0, depth=8, threads=2):
        self._fn = fn
        self._next_step = start
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = {}
        self._ready = threading.Condition()
        self._want = start
        self._room = threading.Semaphore(depth)
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]
        for worker in self._workers:
            worker.start()

    def _work(self):
        while not self._stop.is_set():
            if not self._room.acquire(timeout=0.1):
                continue
            with self._lock:
                step = self._next_step
                self._next_step += 1
            try:
                item = (True, self._fn(step))
            except BaseException as e:  # handed to the consumer
                item = (False, e)
            with self._ready:
                self._slots[step] = item
                self._ready.notify_all()

    def __iter__(self):
        return self

    def __next__(self):
        with self._ready:
            while self._want not in self._slots:
                self._ready.wait()
            ok, item = self._slots.pop(self._want)
        self._want += 1
        self._room.release()
        if not ok:
            raise item
        return item

    def close(self):
        """Stops the workers and waits for them (a daemon thread still inside native code
        when the interpreter exits can abort the process)."""
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
