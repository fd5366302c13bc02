"""What a trained model is measured and drawn with (floor 3).

- `evaluation`: the fixed test set, decoders running free -> `metrics.json`;
- `frame_metrics`: cross-entropy, squared and absolute error, SSIM, per frame;
- `rollout`: long free-running rollouts in compiled chunks, and whether digits
  persist (fade, drift);
- `figures`: strips of frames, PNG and GIF files; `plots`: line panels;
- `visualization`: the pictures of `python -m video_lstm.visualize`.
"""
