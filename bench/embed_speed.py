r"""Embedding speed: videos/s and frames/s of `python -m video_lstm.embed` in one process against
Beam's DirectRunner, one run (as `bench/extract_speed.py` for percept extraction).

    VIDEO_LSTM_DATA_DIR=/work/shared/data python bench/embed_speed.py --pretrained=/work/runs/ablation/base
    python bench/embed_speed.py --pretrained=RUN --copies=5     # a small corpus: Beam's start-up shows

Videos: the clips of --video_dir (default $VIDEO_LSTM_DATA_DIR/ucf101/clips) in one class
folder (`bench/extract_speed.py`'s `videos`, --copies times, default 35: 420 videos). The job runs with
--runner=in_process (the model loaded beforehand, not timed) and with --runner=DirectRunner
-- --direct_num_workers=--workers (each worker loads its own model: timed, Beam's overhead
here), and the files both write are compared byte for byte. Where one process's time goes:
`decode` (OpenCV + resizing + clip cutting, `embedding.clips_of`) and `encoder` (the encoder on
those clips, --batch_clips at a time), each timed alone on the same videos.
"""

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import extract_speed  # noqa: E402  (its flags: --video_dir, --copies, --workers, --smoke, --generated)
from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("pretrained", None, "A training log_dir or exported encoder (read only).", required=True)
flags.DEFINE_integer("batch_clips", 8, "Clips per encoder call.")
FLAGS = flags.FLAGS
# A corpus of about 45 s of one process's work (420 staged clips): with fewer videos the fixed
# start-up of Beam's worker processes (about 8 s: Python, TensorFlow, the model) dominates.
FLAGS.set_default("copies", 35)


def embed_job(video_dir, out, runner, beam_args, model):
    from video_lstm import embedding
    from video_lstm.core import settings

    options = embedding.EmbedOptions(pretrained=FLAGS.pretrained, out=out, video_dir=video_dir,
                                     batch_clips=FLAGS.batch_clips, progress=False)
    return embedding.run(embedding.prepare(options, model=model), settings.Runner(runner, tuple(beam_args)))


def main(argv):
    del argv
    import numpy as np

    from video_lstm import embedding

    logging.set_verbosity(logging.ERROR)
    with tempfile.TemporaryDirectory() as root:
        video_dir, paths = extract_speed.videos(root)
        model = embedding.load_model(FLAGS.pretrained)
        options = embedding.EmbedOptions(pretrained=FLAGS.pretrained, out=os.path.join(root, "x"),
                                         video_dir=video_dir, batch_clips=FLAGS.batch_clips)
        settings = embedding.ClipSettings.of(options, model)
        start, clips = time.perf_counter(), []
        for path in paths:
            clips.append([clip for _, clip in embedding.clips_of(path, model.frame_shape, settings)])
        decode = time.perf_counter() - start
        model.encode(np.stack(clips[0][: settings.batch_clips]))  # traced once, outside the timing
        start = time.perf_counter()
        for video in clips:
            for i in range(0, len(video), settings.batch_clips):
                model.encode(np.stack(video[i : i + settings.batch_clips]))
        encoder = time.perf_counter() - start
        count = sum(len(v) for v in clips)
        frames = count * settings.clip_length
        files, seconds = {}, {}
        runs = {"in_process": ("in_process", ()),
                "beam": ("DirectRunner", (f"--direct_num_workers={FLAGS.workers}",
                                          "--direct_running_mode=multi_processing"))}
        for name, (runner, beam_args) in runs.items():
            out = os.path.join(root, name)
            start = time.perf_counter()
            summary = embed_job(video_dir, out, runner, beam_args, model)
            seconds[name] = time.perf_counter() - start
            assert (summary["ok"], summary["clips"]) == (len(paths), count), summary
            files[name] = {**extract_speed.hashes(out), **extract_speed.hashes(os.path.join(out, "clips"))}
    print(f"embed: {len(paths)} videos, {count} clips of {settings.clip_length} frames ({frames} clip frames), "
          f"{FLAGS.pretrained}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'run':<28}{'seconds':>9}{'videos/s':>10}{'frames/s':>10}")
    for name, label in (("in_process", "one process"), ("beam", f"Beam DirectRunner, {FLAGS.workers} workers")):
        print(f"{label:<28}{seconds[name]:>9.1f}{len(paths) / seconds[name]:>10.2f}{frames / seconds[name]:>10.1f}")
    print(f"one process: decode + clips {decode:.1f} s, encoder {encoder:.1f} s, the rest "
          f"{seconds['in_process'] - decode - encoder:.1f} s")
    same = files["in_process"] == files["beam"]
    print(f"beam / in_process = {seconds['beam'] / seconds['in_process']:.2f}; same bytes: {same}")
    if not same:
        sys.exit("the Beam run wrote other bytes than the one process")


if __name__ == "__main__":
    app.run(main)
