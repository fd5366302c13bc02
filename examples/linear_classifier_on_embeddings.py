r"""A linear classifier on the embeddings of a labelled folder of videos: the path most users take.

    python -m video_lstm.embed --pretrained=runs/ucf101_patches --video_dir=my_videos --out=embeddings/my_videos
    python examples/linear_classifier_on_embeddings.py embeddings/my_videos [--test_fraction=0.3]
    # or a split's own lists, embedded apart (--subset=train, --subset=test):
    python examples/linear_classifier_on_embeddings.py embeddings/ucf101_train --test=embeddings/ucf101_test

Reads `embeddings.npz` (one pooled vector per video, the mean of its clips' encoder states,
with the video's label), holds out --test_fraction of each class's videos (a seeded stratified
split) unless --test names a second embedding of the same classes, scales the features to zero
mean and unit variance on the training videos and fits scikit-learn's `LogisticRegression` on
them; prints the test accuracy beside chance (the largest class's share of the test videos).

Needs NumPy and scikit-learn (`pip install scikit-learn`), not video_lstm.
"""

import argparse
import os
import sys

import numpy as np


def load(path):
    """(pooled (N, D) float32, labels (N,), class names) of an --out folder or its embeddings.npz."""
    if os.path.isdir(path):
        path = os.path.join(path, "embeddings.npz")
    with np.load(path, allow_pickle=False) as stored:
        if "labels" not in stored.files:
            raise SystemExit(f"{path} has no labels: embed a folder of class subfolders or a split, not a list file")
        return stored["pooled"], stored["labels"], [str(name) for name in stored["classes"]]


def split(features, labels, test_fraction, seed):
    """(train features, train labels, test features, test labels): `test_fraction` of each class held out."""
    from sklearn.model_selection import train_test_split

    train_x, test_x, train_y, test_y = train_test_split(features, labels, test_size=test_fraction,
                                                        stratify=labels, random_state=seed)
    return train_x, train_y, test_x, test_y


def fit_and_score(train_x, train_y, test_x, test_y):
    """Test accuracy of a standardised logistic regression fitted on the training videos."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    classifier.fit(train_x, train_y)
    return float(classifier.score(test_x, test_y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("embeddings", help="--out of python -m video_lstm.embed (or its embeddings.npz)")
    parser.add_argument("--test", help="a second embedding of the same classes to test on")
    parser.add_argument("--test_fraction", type=float, default=0.3, help="held out per class without --test")
    parser.add_argument("--seed", type=int, default=0, help="the held-out split's seed")
    args = parser.parse_args(argv)

    features, labels, classes = load(args.embeddings)
    if args.test:
        test_x, test_y, test_classes = load(args.test)
        if test_classes != classes:
            raise SystemExit(f"{args.test} has other classes than {args.embeddings}")
        train_x, train_y = features, labels
    else:
        train_x, train_y, test_x, test_y = split(features, labels, args.test_fraction, args.seed)
    accuracy = fit_and_score(train_x, train_y, test_x, test_y)
    chance = np.bincount(test_y, minlength=len(classes)).max() / len(test_y)
    print(f"{len(train_y)} training videos, {len(test_y)} test videos, {len(classes)} classes, "
          f"{features.shape[1]} numbers per video")
    print(f"test accuracy {accuracy:.3f} (chance {chance:.3f})")
    return accuracy


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
