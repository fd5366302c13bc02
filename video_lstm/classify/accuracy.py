"""Clip and video accuracy, as the official classifier code reports them.

A clip's prediction is the mean of its per-step softmaxes
(`classifier.clip_probabilities`); a video's ("pooled") prediction is the mean
of its clips' predictions. Top-1 / top-5 accuracy of both, per-class accuracy
and the confusion matrix of the videos, drawn with matplotlib.
"""

import numpy as np

from video_lstm.core import atomic


def pool_videos(clip_probabilities, video, num_videos=None):
    """float (clips, classes), int (clips,) video index -> (videos, classes): the mean of each video's clips.

    Raises ValueError if a video has no clip.
    """
    clip_probabilities = np.asarray(clip_probabilities, np.float64)
    video = np.asarray(video)
    num_videos = int(video.max()) + 1 if num_videos is None else num_videos
    sums = np.zeros((num_videos, clip_probabilities.shape[1]))
    np.add.at(sums, video, clip_probabilities)
    counts = np.bincount(video, minlength=num_videos)
    if (counts == 0).any():
        raise ValueError(f"video {int(np.argmin(counts))} has no clip to pool")
    return sums / counts[:, None]


def top_k_accuracy(probabilities, labels, k=1):
    """Fraction of rows whose label is among the k highest probabilities (ties: lowest index first)."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    k = min(k, probabilities.shape[1])
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == labels[:, None]).any(axis=1)))


def confusion_matrix(labels, predictions, num_classes):
    """int (classes, classes): row = true class, column = predicted."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def per_class_accuracy(matrix):
    """Diagonal / row sums; NaN for a class with no test video."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def summarize(clip_probabilities, video, video_labels, classes):
    """The metrics dict of a test set: clip and video top-1 / top-5, per-class (video) accuracy,
    the video confusion matrix."""
    video_labels = np.asarray(video_labels)
    clip_labels = video_labels[np.asarray(video)]
    videos = pool_videos(clip_probabilities, video, len(video_labels))
    matrix = confusion_matrix(video_labels, videos.argmax(axis=1), len(classes))
    per_class = per_class_accuracy(matrix)
    return {
        "clip_top1": top_k_accuracy(clip_probabilities, clip_labels, 1),
        "clip_top5": top_k_accuracy(clip_probabilities, clip_labels, 5),
        "video_top1": top_k_accuracy(videos, video_labels, 1),
        "video_top5": top_k_accuracy(videos, video_labels, 5),
        "clips": int(len(clip_labels)),
        "videos": int(len(video_labels)),
        "per_class_accuracy": {name: (None if np.isnan(a) else float(a)) for name, a in zip(classes, per_class)},
        "confusion_matrix": matrix.tolist(),
        "classes": list(classes),
    }


def write_confusion_png(path, matrix, classes, title="video confusion matrix"):
    """The confusion matrix as a PNG (rows normalised; counts in small matrices), written atomically."""
    # here: keeps matplotlib out of `import video_lstm.classify.accuracy`
    import matplotlib

    matplotlib.use("Agg")
    # here: keeps matplotlib out of `import video_lstm.classify.accuracy`
    from matplotlib import pyplot as plt

    matrix = np.asarray(matrix, np.float64)
    rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.18 * len(classes) + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, label="fraction of the true class")
    ticks = np.arange(len(classes))
    font = 8 if len(classes) <= 20 else 4
    axes.set_xticks(ticks, classes, rotation=90, fontsize=font)
    axes.set_yticks(ticks, classes, fontsize=font)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)
    if len(classes) <= 20:
        for i, j in zip(*np.nonzero(matrix)):
            axes.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6,
                      color="white" if rows[i, j] > 0.5 else "black")
    figure.tight_layout()
    with atomic.path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return path
