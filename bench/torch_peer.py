"""The peer: the composite model in PyTorch, as a PyTorch user would write it.

`torch.nn.LSTM` (PyTorch's fused CPU kernels) for the encoder and for each
decoder, the conditional decoders reading the ground truth shifted by one step
(teacher forcing, a zero frame first) so that they too run as one `nn.LSTM`
call; an unconditioned decoder reads a zero scalar. `nn.Linear` read-out,
binary cross-entropy from logits summed over a frame's pixels, SGD with
momentum as the paper flagfiles. Installed by the optional `bench` extra.
"""

import math

import numpy as np
import torch
from torch import nn


class TorchComposite(nn.Module):
    """Composite LSTM autoencoder + future predictor; frames (batch, time, frame_dim)."""

    def __init__(self, frame_dim, units, num_layers, conditional_reconstruction, conditional_future,
                 init_scale=0.01):
        super().__init__()
        self.encoder = nn.LSTM(frame_dim, units, num_layers, batch_first=True)
        self.conditional = {"reconstruction": conditional_reconstruction, "future": conditional_future}
        self.decoders = nn.ModuleDict({
            name: nn.LSTM(frame_dim if cond else 1, units, num_layers, batch_first=True)
            for name, cond in self.conditional.items()
        })
        self.readouts = nn.ModuleDict({name: nn.Linear(units, frame_dim) for name in self.conditional})
        if init_scale:
            for p in self.parameters():
                nn.init.uniform_(p, -init_scale, init_scale)

    def decode(self, name, state, teacher):
        if self.conditional[name]:
            inputs = torch.cat([torch.zeros_like(teacher[:, :1]), teacher[:, :-1]], dim=1)
        else:
            inputs = teacher.new_zeros(teacher.shape[0], teacher.shape[1], 1)
        hidden, _ = self.decoders[name](inputs, state)
        return self.readouts[name](hidden)

    def forward(self, frames, future):
        _, state = self.encoder(frames)
        return self.decode("reconstruction", state, frames.flip(1)), self.decode("future", state, future)


def frame_cross_entropy(logits, target):
    """Sum over a frame's pixels, mean over frames and batch."""
    per_pixel = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return per_pixel.sum(-1).mean()


class Trainer:
    """One SGD step per call on (frames, future) numpy batches."""

    def __init__(self, config, threads):
        torch.manual_seed(config.seed)
        torch.set_num_threads(threads)
        frame_dim = math.prod(config.input_spec.frame_shape)
        self.model = TorchComposite(
            frame_dim, config.units, config.num_layers, config.conditional_reconstruction,
            config.conditional_future, config.init_scale,
        )
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=config.learning_rate, momentum=config.momentum,
            weight_decay=config.weight_decay,
        )

    def step(self, frames, future):
        frames = torch.from_numpy(np.ascontiguousarray(frames).reshape(frames.shape[0], frames.shape[1], -1))
        future = torch.from_numpy(np.ascontiguousarray(future).reshape(future.shape[0], future.shape[1], -1))
        reconstruction, prediction = self.model(frames, future)
        loss = frame_cross_entropy(reconstruction, frames.flip(1)) + frame_cross_entropy(prediction, future)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

