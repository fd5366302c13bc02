"""`TF_CONFIG`: the cluster a multi-worker job runs in, exactly as TensorFlow defines it
(`{"cluster": {"chief": [...], "worker": [...]}, "task": {"type": "worker", "index": i}}`).

The chief (task `chief`, or worker 0 when the cluster has no chief) is the one
task that writes into a log_dir. Imports no TensorFlow, so command lines can
use it before heavy imports.
"""

import json
import os
import socket

ENV = "TF_CONFIG"


def tf_config():
    """The parsed `TF_CONFIG`, or None when unset or empty.

    Raises:
        ValueError: it is not JSON, or its task is not in its cluster.
    """
    text = os.environ.get(ENV, "").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{ENV} is not JSON ({error}): {text[:200]!r}") from None
    cluster, task = value.get("cluster") or {}, value.get("task") or {}
    if cluster:
        kind, index = task.get("type"), task.get("index", 0)
        if kind not in cluster or not 0 <= int(index) < len(cluster[kind]):
            raise ValueError(f"{ENV}: task {task} is not in its cluster {cluster}")
    return value


def cluster_task():
    """(task type, index) from `TF_CONFIG`; ("worker", 0) without a cluster."""
    value = tf_config()
    if not value or not value.get("cluster"):
        return "worker", 0
    task = value["task"]
    return task["type"], int(task.get("index", 0))


def is_chief():
    """Whether this task is the chief: `chief`, or `worker` 0 when the cluster has none."""
    value = tf_config()
    if not value or not value.get("cluster"):
        return True
    kind, index = cluster_task()
    if "chief" in value["cluster"]:
        return kind == "chief"
    return kind == "worker" and index == 0


def local_tf_configs(count):
    """TF_CONFIG values of a `count`-worker cluster on this machine (free 127.0.0.1 ports), worker i's i-th."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    workers = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}) for i in range(count)]
