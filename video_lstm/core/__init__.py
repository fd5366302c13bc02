"""The ground floor: what every other package imports, importing none of them.

- `atomic`: files and directories that appear whole or not at all (umask, fsync);
- `lock`: one job per folder it writes (`<folder>/lock`);
- `files`: reading files that must be regular (no FIFO, no device);
- `choices`: every enumerated option, declared once;
- `cli`: the entry-point contract (`define_flags`, `main`, `run`, `call`) and
  one-line errors;
- `backend`: TensorFlow or JAX, decided here and nowhere else;
- `cluster`: `TF_CONFIG` (chief, worker shards) without TensorFlow;
- `prefetch`: a threaded prefetcher for NumPy batches;
- `keras_compat`: every private Keras / TensorFlow API the package reaches;
- `export_layout`: the directory of an exported SavedModel;
- `cpu`: the CPU's matmul features (AVX2, AVX512, AVX512_BF16, AMX) and its
  measured float32 and bfloat16 matmul peaks.
"""
