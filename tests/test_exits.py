"""Every process ends when its work is done, whatever its input pipeline runs.

A tf.data iterator freed at interpreter exit while its Python stages (`tf.py_function`,
`tf.numpy_function`: inline percepts, video decoding) are busy waits for them forever, so the
process never ends. Here the stage is made slow on purpose (a stand-in percept network, or a
video reader, that takes its time), so it is always busy when training ends: the command must
still exit. (Without `training.loop.release_input_pipeline` the first test times out.)
"""

import os
import subprocess
import sys
import textwrap

from helpers import generated_ucf

SCRIPT = textwrap.dedent("""
    import sys, time
    import keras
    from pipelines import percept_networks
    from video_lstm import train
    from video_lstm.core import cli

    class Slow(keras.layers.Layer):
        def call(self, x):
            return x

    def make_network(name, weights):
        spec = percept_networks.NETWORKS[name]
        model = keras.Sequential([keras.Input((spec.input_size, spec.input_size, 3)),
                                  keras.layers.Conv2D(4, 32, strides=32), keras.layers.GlobalAveragePooling2D(),
                                  keras.layers.Dense(spec.dim)])
        network = percept_networks.PerceptNetwork(name=name, weights=weights, model=model)
        original = network.frames_to_percepts

        def frames_to_percepts(dtype="float32", engine="tensorflow"):
            run = original(dtype, engine)

            def slow(frames):
                time.sleep(0.3)  # the stage is busy whenever the trainer stops reading it
                return run(frames)
            return slow
        network.frames_to_percepts = frames_to_percepts
        return network

    percept_networks.make_network = make_network
    cli.run(train.define_flags, train.main)
""")


def test_training_on_inline_percepts_exits_when_done(tmp_path):
    video_dir = generated_ucf(tmp_path / "ucf", {"Basketball": ["v_Basketball_g01_c01", "v_Basketball_g07_c04"],
                                                 "Fencing": ["v_Fencing_g01_c01", "v_Fencing_g01_c06"]},
                              ["v_Basketball_g07_c04", "v_Fencing_g01_c06"])
    log_dir = tmp_path / "run"
    arguments = ["--dataset=percepts", "--percepts_from=videos", "--percept_videos=ucf101", f"--video_dir={video_dir}",
                 "--percept_network=inception_v3", "--percept_weights=random", "--frame_stride=4", "--units=4",
                 "--input_length=2", "--future_length=2", "--steps=3", "--batch_size=1", "--eval_sequences=2",
                 "--loss=squared_error", "--jit_compile=false", f"--log_dir={log_dir}"]
    result = subprocess.run([sys.executable, "-c", SCRIPT, *arguments], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (log_dir / "metrics.json").exists()


SLOW_VIDEOS = textwrap.dedent("""
    import sys, time
    from pipelines.sources import videos
    from video_lstm import finetune
    from video_lstm.core import cli

    read = videos.Source.read

    def slow(self, path, wanted):
        time.sleep(0.3)  # the decoding stage is busy whenever the trainer stops reading it
        return read(self, path, wanted)

    videos.Source.read = slow
    cli.run(finetune.define_flags, finetune.main)
""")


def test_finetuning_on_videos_exits_when_done(tmp_path):
    from helpers import moving_shapes, write_video

    for c, name in enumerate(("run", "walk")):
        (tmp_path / "videos" / name).mkdir(parents=True)
        for i in range(3):
            write_video(tmp_path / "videos" / name / f"{i}.avi", moving_shapes(12, 24, 32, seed=10 * c + i))
    log_dir = tmp_path / "run"
    arguments = ["--dataset=folder", f"--video_dir={tmp_path / 'videos'}", "--test_fraction=0.34", "--frame_size=8",
                 "--color=grey", "--units=4", "--input_length=4", "--steps=3", "--batch_size=2", "--inits=scratch",
                 "--jit_compile=false", f"--log_dir={log_dir}"]
    result = subprocess.run([sys.executable, "-c", SLOW_VIDEOS, *arguments], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (log_dir / "scratch" / "metrics.json").exists()
