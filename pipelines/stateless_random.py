"""TensorFlow's stateless random numbers in NumPy, bit for bit (no TensorFlow).

What `pipelines/moving_mnist_tf.py` draws with `tf.random.stateless_uniform`,
`tf.random.split` and `tf.random.fold_in` on a CPU (the "auto_select"
algorithm there is Philox4x32-10), reproduced exactly:

- a seed (two int64) is scrambled into a Philox key and counter as TF's
  `StatelessRandomGetKeyCounter` does: one Philox block of the seed's four
  32-bit halves under the key 0x02461E293EC8F720 gives the key (words 0, 1)
  and the counter's high 64 bits (words 2, 3);
- the output is filled block by block: element i of the flat result uses
  Philox block `counter + i // k`, where a block gives k = 4 values of 32
  bits (uniform floats, int32 and uint32 draws) or k = 2 of 64 bits;
- uniform float32: `(bits & 0x7fffff | 0x3f800000)` as a float, minus 1, then
  `x * (maxval - minval) + minval` in float32;
- uniform int32 in [lo, hi): `lo + bits % (hi - lo)`;
- full-range int64: the low word first, `bits[2j] | bits[2j+1] << 32`;
- `split(seed, n)` is a full-range int64 draw of shape (n, 2) from `seed`;
  `fold_in(seed, data)` is `[full-range int64 scalar from seed, data]`.

tests/pipelines/test_moving_mnist_numpy.py checks each against TensorFlow. Seeds are
int or int64 pairs; results are NumPy arrays.
"""

import numpy as np

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32 multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # Philox4x32 key increments (Weyl sequence)
_ROUNDS = 10
_SCRAMBLE_KEY = (0x3EC8F720, 0x02461E29)  # 0x02461E293EC8F720, low word first
# Up to this many blocks Python integers beat NumPy's per-call overhead.
_SMALL = 4


def _philox_block(counter, key):
    """One Philox4x32-10 block with Python ints: counter 4 words, key 2 words -> 4 words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(_ROUNDS):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & _MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & _MASK32)
        k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


def _philox_blocks(counters, keys):
    """Philox4x32-10 of many counters: uint64 (n, 4) counter words and (n, 2) key words
    (each < 2**32) -> uint32 (n, 4)."""
    c0, c1, c2, c3 = (counters[:, i] for i in range(4))
    k0, k1 = keys[:, 0], keys[:, 1]
    m0, m1, mask, shift = np.uint64(_M0), np.uint64(_M1), np.uint64(_MASK32), np.uint64(32)
    w0, w1 = np.uint64(_W0), np.uint64(_W1)
    for _ in range(_ROUNDS):
        p0, p1 = m0 * c0, m1 * c2  # 32 x 32 -> 64 bits, exact in uint64
        c0, c1, c2, c3 = (p1 >> shift) ^ c1 ^ k0, p1 & mask, (p0 >> shift) ^ c3 ^ k1, p0 & mask
        k0, k1 = (k0 + w0) & mask, (k1 + w1) & mask
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def _words(value):
    """A 64-bit value -> (low 32 bits, high 32 bits)."""
    value &= _MASK64
    return value & _MASK32, value >> 32


def key_counter(seed):
    """TF's `StatelessRandomGetKeyCounter` (Philox): seed -> (key 2 words, counter 4 words).

    Args:
        seed: int s (taken as [s, 0]) or a pair of ints (any int dtype; negative
            values wrap as int64 does).
    """
    seed = _pair(seed)
    mix = _philox_block(_words(seed[0]) + _words(seed[1]), _SCRAMBLE_KEY)
    return (mix[0], mix[1]), (0, 0, mix[2], mix[3])


def _pair(seed):
    values = np.asarray(seed).reshape(-1)
    if values.dtype.kind not in "iu":
        raise TypeError(f"seed has dtype {values.dtype}; expected an int seed")
    if values.size == 1:
        return int(values[0]), 0
    if values.size != 2:
        raise ValueError(f"seed has {values.size} values; expected a scalar or a pair")
    return int(values[0]), int(values[1])


def random_bits(seed, count):
    """The first `count` 32-bit words TF's Philox stream of `seed` gives, uint32 (count,)."""
    blocks = -(-count // 4)
    if blocks > _SMALL:
        return random_bits_many([(seed, count)])[0]
    key, counter = key_counter(seed)
    low = counter[0] | counter[1] << 32
    high = counter[2] | counter[3] << 32
    out = []
    for i in range(blocks):
        lo = low + i
        hi = (high + (lo >> 64)) & _MASK64  # the carry into the counter's high half
        out.extend(_philox_block(_words(lo & _MASK64) + _words(hi), key))
    return np.array(out[:count], np.uint32)


def random_bits_many(requests):
    """`random_bits` of several (seed, count) requests, in one vectorised Philox pass.

    Returns:
        A list of uint32 (count,) arrays, one per request.
    """
    counters, keys, sizes = [], [], []
    for seed, count in requests:
        key, counter = key_counter(seed)
        blocks = -(-count // 4)
        low = counter[0] | counter[1] << 32
        high = counter[2] | counter[3] << 32
        index = np.arange(blocks, dtype=np.uint64)
        lo = index + np.uint64(low)  # wraps modulo 2**64, as the 128-bit counter's low half
        hi = np.uint64(high) + (lo < np.uint64(low)).astype(np.uint64)  # the carry
        mask, shift = np.uint64(_MASK32), np.uint64(32)
        counters.append(np.stack([lo & mask, lo >> shift, hi & mask, hi >> shift], axis=1))
        keys.append(np.broadcast_to(np.array(key, np.uint64), (blocks, 2)))
        sizes.append((blocks, count))
    words = _philox_blocks(np.concatenate(counters), np.concatenate(keys))
    out, start = [], 0
    for blocks, count in sizes:
        out.append(words[start : start + blocks].reshape(-1)[:count])
        start += blocks
    return out


def random_bits_of_seeds(seeds, count):
    """`random_bits(seed, count)` of each of many seeds, in one vectorised Philox pass.

    Args:
        seeds: int64 (n, 2) seed pairs.
    Returns:
        uint32 (n, count): row i is `random_bits(seeds[i], count)`.
    """
    pairs = np.asarray(seeds, np.int64).reshape(-1, 2).view(np.uint64)
    n, blocks = len(pairs), -(-count // 4)
    mask, shift = np.uint64(_MASK32), np.uint64(32)
    # key_counter of every seed: one Philox block of its four words under the scramble key.
    words = np.stack([pairs[:, 0] & mask, pairs[:, 0] >> shift, pairs[:, 1] & mask, pairs[:, 1] >> shift], axis=1)
    mix = _philox_blocks(words, np.broadcast_to(np.array(_SCRAMBLE_KEY, np.uint64), (n, 2))).astype(np.uint64)
    # The counter's low half starts at 0 (key_counter), so block i's counter is (i, 0, mix2, mix3).
    counters = np.empty((n, blocks, 4), np.uint64)
    counters[:, :, 0] = np.arange(blocks, dtype=np.uint64)
    counters[:, :, 1] = 0
    counters[:, :, 2:] = mix[:, None, 2:]
    keys = np.broadcast_to(mix[:, None, :2], (n, blocks, 2)).reshape(-1, 2)
    return _philox_blocks(counters.reshape(-1, 4), keys).reshape(n, 4 * blocks)[:, :count]


def split_seeds(seeds, num=2):
    """`split(seed, num)` of each of many seeds: int64 (n, 2) -> int64 (n, num, 2)."""
    words = random_bits_of_seeds(seeds, 4 * num).astype(np.uint64)
    return (words[:, 0::2] | words[:, 1::2] << np.uint64(32)).view(np.int64).reshape(-1, num, 2)


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def uniform(shape, seed, minval=0.0, maxval=1.0):
    """`tf.random.stateless_uniform(shape, seed, minval, maxval)` (float32)."""
    return bits_to_uniform(random_bits(seed, _size(shape)), shape, minval, maxval)


def bits_to_uniform(bits, shape, minval=0.0, maxval=1.0):
    """uint32 words -> float32 uniform in [minval, maxval) of `shape`, as TF turns them."""
    unit = ((bits & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1.0)
    lo, hi = np.float32(minval), np.float32(maxval)
    return (unit * (hi - lo) + lo).reshape(shape)


def uniform_int(shape, seed, minval, maxval):
    """`tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=tf.int32)`."""
    return bits_to_uniform_int(random_bits(seed, _size(shape)), shape, minval, maxval)


def bits_to_uniform_int(bits, shape, minval, maxval):
    """uint32 words -> int32 in [minval, maxval) of `shape`, as TF turns them: lo + bits % range."""
    if not minval < maxval:
        raise ValueError(f"minval={minval}, maxval={maxval}; expected minval < maxval")
    span = np.uint32((int(maxval) - int(minval)) & _MASK32)
    return (np.int32(minval) + (bits % span).astype(np.int32)).reshape(shape)


def uniform_full_int64(shape, seed):
    """`tf.random.stateless_uniform(shape, seed, dtype=tf.int64)` (no bounds: all 64 bits)."""
    count = _size(shape)
    words = random_bits(seed, 2 * count).astype(np.uint64).reshape(-1, 2)
    return (words[:, 0] | words[:, 1] << np.uint64(32)).view(np.int64).reshape(shape)


def split(seed, num=2):
    """`tf.random.split(seed, num)` of an int64 seed: int64 (num, 2)."""
    return uniform_full_int64((num, 2), seed)


def fold_in(seed, data):
    """`tf.random.fold_in(seed, data)` with int64 data: int64 (2,)."""
    return np.array([uniform_full_int64((), seed), data], np.int64)
