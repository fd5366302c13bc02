"""The model family: LSTM encoder-decoders on frame sequences (Keras 3, any backend).

- `lstm`: `LSTMStack`, the recurrent core, with the one free-running time
  loop (`scan_steps`) that generation, rollouts and the serving graph share;
- `reader`, `readout`: how frames go in and come out (linear or conv);
- `encoder`, `decoder`: `Encoder`, `FrameDecoder`;
- `losses`: per-frame cross-entropy and squared error;
- `composite`: `CompositeModel`, `Autoencoder`, `FuturePredictor`, `build_model`.

Importing this package registers every class with Keras' serialisation, so
`.keras` checkpoints load.
"""

from video_lstm.models.composite import Autoencoder, CompositeModel, FuturePredictor, build_model
from video_lstm.models.decoder import FrameDecoder
from video_lstm.models.encoder import Encoder
from video_lstm.models.lstm import LSTMStack

__all__ = [
    "Autoencoder",
    "CompositeModel",
    "Encoder",
    "FrameDecoder",
    "FuturePredictor",
    "LSTMStack",
    "build_model",
]
