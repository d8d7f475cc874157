"""Tests for gradcalc.torch_rng, the NumPy reproduction of torch.randn (CPU).

Reference words are float32 bit patterns recorded from torch 2.13.0+cpu on
x86-64 (AVX-512 CPU, so the AVX2 normal kernel); they need no torch.  When
torch is importable the module is also compared with it exhaustively.
"""

import zlib

import numpy as np
import pytest

from gradcalc.values.torch_rng import TorchGenerator, _fma, randn

X_SEED0 = [  # torch.manual_seed(0); torch.randn(10, 4)
    0xBF901B85, 0xBF93808A, 0xBE804BD6, 0xBEDE255D, 0x3F594515, 0x3F312783, 0xBEA1CC6D, 0xC0075FC1,
    0x3EA50138, 0xBFA1B4F4, 0x3EB330FF, 0x3E9DC3BB, 0x3DF56F77, 0x3F9E6B93, 0x3F8EF28E, 0xBE7D367C,
    0xBFAD23C2, 0xBFD91446, 0x3F111004, 0x3F4B235D, 0x3F194D8B, 0xBFC70D5B, 0xBEAEC6CA, 0x3FED2F4E,
    0xBE5D0B42, 0xBF3E17A3, 0x3F100E82, 0x3E84EDE2, 0xBE3222D5, 0xBF2DC250, 0x3F7031DB, 0x3EFA4D25,
    0x3F9A033C, 0x3DAD2087, 0xBF999E2B, 0xBB9CD1AE, 0xBF04A08D, 0xBE9D0855, 0xBFCA5E02, 0x3FDA734A,
]
W_AFTER_X = [  # then torch.randn(4, 4)
    0x3E527552, 0xBEE6919F, 0xBF12B52E, 0xBF0E2BF8, 0x3F18258E, 0x3FC55E60, 0x3F01E0AB, 0xBF174DF3,
    0xBFA9A448, 0x3E411430, 0xBD8D75FB, 0xBEFD66DB, 0xBFBF7A24, 0xBE467D3D, 0x3EE41A2C, 0x3FA9A29B,
]
Y_AFTER_W = [  # then torch.randn(10, 4)
    0x3FC12AE8, 0x40053EC2, 0x3FDA7587, 0x401857F1, 0xBF9013B7, 0xBEA24D93, 0xBF8BD600, 0xBDAE7A59,
    0x3EA7BD10, 0xBF42BDB5, 0xBFCCAEB8, 0x3C97715A, 0xBF401BF9, 0x3E3DDB97, 0x3F1F02EC, 0x3F235FDE,
    0xBB5885CA, 0xBF08D11B, 0x3F959790, 0x3EC9FC44, 0x3FF881D4, 0x3F4A9F9E, 0xBCA5E729, 0xBEDFD4B0,
    0xBE6015F0, 0xC01BD81C, 0xBD955455, 0xBD0B3555, 0x3F766799, 0x3EB2C62E, 0xBF6BE4EF, 0xBD662C81,
    0xBF1F692B, 0xBEED6CFE, 0x3FF5FCF7, 0xBECE1A73, 0x3DFDC095, 0x3F9517A0, 0x3F6C6235, 0x3FB192E4,
]
MIXED_SEED0 = {  # shapes (3,), (10, 4), (1,), (4, 4), (5,) after one manual_seed(0)
    (3,): [0x3FC53F5C, 0xBE963C50, 0xC00B7149],
    (10, 4): [
        0xBEB65675, 0x3EDFDBA8, 0x3EFB8C53, 0xBE51000B, 0xBDB54FF7, 0x3F061D37, 0xBF2A768B, 0x3F59B255,
        0xBF8599A7, 0xBFAC32F6, 0x3F490D11, 0x3F7E2A99, 0xBE45D1C6, 0xBE9E3056, 0x3F00A89D, 0xBF5C04A1,
        0x3EEFAA55, 0xBE217F5F, 0x3FB8C9DB, 0x3E8837A1, 0x3E2A7345, 0x3F5FD77D, 0xBE12EACF, 0xBDE4936F,
        0xBF2C4F9F, 0x3F5F71DE, 0x3F8715F4, 0x3E361CAA, 0xBE6BDD10, 0xBEC89408, 0x3F0B155D, 0xBECA5217,
        0xBEE47694, 0x3F3E7824, 0x3FC2AF75, 0x405A45AD, 0xBFC3FDD9, 0xBF9DF823, 0x3FE8ECC2, 0xBF0D30FC,
    ],
    (1,): [0x3F1184B6],  # the sin sample cached by the (3,) call
    (4, 4): [
        0xBF11BA3E, 0x3F6B833F, 0x3F8E2F39, 0x3FA51A98, 0xBFBD34CE, 0x40244D8B, 0xBEF23CC2, 0x3EABCD4F,
        0xBFD08DC1, 0xBF0CBC00, 0xBEF5ACD6, 0xBEFFD642, 0xBF8892D0, 0x3F8EB657, 0xBE100C2C, 0x3F4E45DE,
    ],
    (5,): [0xBD259095, 0x3E93840C, 0xBBF6FB86, 0xBF6A1C60, 0xBF8B56B6],
}
BIG_SEED = 2**32 + 7  # torch keeps only the low 32 bits: same stream as seed 7
BIG_SEED_WORDS = {
    (3,): [0xBE165174, 0x3F49408E, 0x3F7262E7],
    (20,): [
        0xBE34AC25, 0x3FE005A6, 0x3FF70ACB, 0x3F7C71D3, 0xBFA6CFCE, 0x3DB327DD, 0xBFB1466A, 0x3F00E990,
        0xBDAB10D9, 0xBCC054CB, 0x3E328F74, 0x4013180C, 0x3F8C3BFB, 0x3EF6F720, 0x3FB30FC2, 0x3FB3F2FD,
        0xBFB35C30, 0x3FA60F1A, 0x3FD20A1A, 0xBF87416D,
    ],
}
LARGE = [  # (seed, size, crc32 of the float32 bytes, last three words)
    (0, 1000, 0xC9069C66, [0x3FBB6AC1, 0x3E0173C2, 0xBF160F60]),
    (3, 4096 + 7, 0x784470DB, [0xBF0F1BDF, 0x3E652E25, 0x3FB9DC3D]),
    (1, 40000, 0x0B790CAF, [0x40299FA4, 0xBFD920FF, 0x3F888736]),
]


def words(array: np.ndarray) -> list[int]:
    assert array.dtype == np.float32
    return [int(w) for w in array.ravel().view(np.uint32)]


def test_seed0_10x4_published_values():
    (x,) = randn(0, (10, 4))
    assert x.shape == (10, 4) and x.flags.c_contiguous
    assert words(x) == X_SEED0
    assert [round(float(v), 4) for v in x[0]] == [-1.1258, -1.1524, -0.2506, -0.4339]


def test_small_sizes_use_double_box_muller():
    assert words(randn(0, (3,))[0]) == [0x3FC53F5C, 0xBE963C50, 0xC00B7149]
    assert [round(float(v), 4) for v in randn(0, (3,))[0]] == [1.5410, -0.2934, -2.1788]
    assert words(randn(0, (2, 2))[0]) == [0x3FC53F5C, 0xBE963C50, 0xC00B7149, 0x3F1184B6]
    assert words(randn(42, (5,))[0]) == [0x3EAC62AE, 0x3E03E69D, 0x3E7016E7, 0x3E6BDC6C, 0xBF8FB9C2]


def test_tutorial_sequence_x_w_y():
    x, w, y = randn(0, (10, 4), (4, 4), (10, 4))
    assert (words(x), words(w), words(y)) == (X_SEED0, W_AFTER_X, Y_AFTER_W)


def test_mixed_sequence_carries_cache_and_state():
    results = randn(0, *MIXED_SEED0)
    for (shape, expected), got in zip(MIXED_SEED0.items(), results):
        assert got.shape == shape
        assert words(got) == expected, shape


def test_seed_at_or_above_2_32_uses_low_bits():
    got = randn(BIG_SEED, *BIG_SEED_WORDS)
    assert [words(a) for a in got] == list(BIG_SEED_WORDS.values())
    assert [words(a) for a in randn(7, *BIG_SEED_WORDS)] == list(BIG_SEED_WORDS.values())


def test_negative_seed_wraps_like_torch():
    assert words(randn(-5, (2,))[0]) == [0xBFE9CED6, 0x3F235223]
    assert words(randn(2**64 - 5, (2,))[0]) == [0xBFE9CED6, 0x3F235223]
    assert TorchGenerator(-1).seed == 2**64 - 1


@pytest.mark.parametrize("seed, size, crc, last", LARGE)
def test_large_sizes(seed, size, crc, last):
    (a,) = randn(seed, (size,))
    assert zlib.crc32(a.tobytes()) == crc
    assert words(a[-3:]) == last


def test_cache_is_shared_between_calls():
    two = randn(11, (2,))[0]
    ones = randn(11, (1,), (1,))
    assert words(two) == words(ones[0]) + words(ones[1])


def test_empty_and_scalar_shapes():
    gen = TorchGenerator(0)
    assert gen.randn((0,)).shape == (0,)
    assert gen.randn((3, 0)).shape == (3, 0)
    scalar = gen.randn(())
    assert scalar.shape == () and scalar.dtype == np.float32
    assert words(scalar) == [0x3FC53F5C]  # empty draws consumed nothing


def test_generator_state_matches_numpy_mt19937():
    for seed in (0, 1, 5489, 2**32 - 1):
        key = np.random.RandomState(seed).get_state()[1]
        gen = TorchGenerator(seed)
        assert np.array_equal(gen._state, key)
        bits = np.random.MT19937()
        bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
        expected = bits.random_raw(3000).astype(np.uint32)
        got = np.concatenate([gen._random(1), gen._random(700), gen._random(2299)])
        assert np.array_equal(got, expected)


def test_fma_rounds_once_at_a_double_rounding_tie():
    a, b, c = np.float32(1 + 2**-15), np.float32(1 - 2**-15), np.float32(2**24 + 2)
    # exact a*b + c = 2**24 + 3 - 2**-30; float64 rounds it onto the tie 2**24 + 3
    assert float(_fma(a, b, c)) == 2**24 + 2
    assert float(_fma(-a, b, -c)) == -(2**24 + 2)
    assert float(np.float32(float(a) * float(b) + float(c))) == 2**24 + 4


@pytest.mark.parametrize("seed", [-(2**63) - 1, 2**64, 2**70])
def test_out_of_range_seed_raises(seed):
    with pytest.raises(ValueError, match="seed must be in"):
        TorchGenerator(seed)
    with pytest.raises(ValueError):
        randn(seed, (3,))


@pytest.mark.parametrize("seed", [1.5, "3", None, True])
def test_non_integer_seed_raises(seed):
    with pytest.raises(TypeError, match="seed must be an int"):
        TorchGenerator(seed)


def test_numpy_integer_seed_accepted():
    assert words(randn(np.int64(42), (5,))[0]) == words(randn(42, (5,))[0])


def test_negative_dimension_raises():
    with pytest.raises(ValueError, match="negative dimension"):
        randn(0, (2, -1))


# ---- exhaustive comparison with the real torch, when it is installed ----

SHAPES_2D = [(10, 4), (4, 4), (4, 1), (2, 2), (1, 1), (3, 5), (8, 8), (1, 16), (16, 1),
             (2, 8), (5, 3), (7, 9), (2, 3, 4), (0, 3), ()]
SEQUENCES = [
    [(3,), (10, 4), (1,), (4, 4), (5,)],
    [(10, 4), (4, 4), (10, 4)],
    [(1,), (1,), (1,)],
    [(5,), (20,), (5,), (33,), (1,), (7,)],
    [(15,), (17,), (15,), (31,), (1,)],
    [(0,), (1,), (0,), (1,)],
    [(1000,), (3,), (4096 + 7,), (2,)],
]


def torch_randn(torch, seed: int, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    torch.manual_seed(seed)
    return [torch.randn(shape).numpy() for shape in shapes]


def assert_same(torch, seed: int, shapes: list[tuple[int, ...]]) -> None:
    expected = torch_randn(torch, seed, shapes)
    got = randn(seed, *shapes)
    for shape, e, g in zip(shapes, expected, got):
        assert g.shape == e.shape and g.dtype == e.dtype
        assert np.array_equal(g.view(np.uint32), e.view(np.uint32)), (seed, shape)


@pytest.mark.parametrize("seed", range(21))
def test_matches_torch_exhaustively(seed):
    torch = pytest.importorskip("torch")
    for size in range(65):
        assert_same(torch, seed, [(size,)])
    for shape in SHAPES_2D:
        assert_same(torch, seed, [shape])
    for shapes in SEQUENCES:
        assert_same(torch, seed, shapes)


@pytest.mark.parametrize("seed", [2**32, 2**32 + 5, 2**63, 2**64 - 1, -1, -(2**63), 123456789012345])
def test_matches_torch_for_extreme_seeds(seed):
    torch = pytest.importorskip("torch")
    assert_same(torch, seed, [(3,), (40,), (7,), (17,)])


def test_matches_torch_large_sizes():
    torch = pytest.importorskip("torch")
    for seed in range(3):
        assert_same(torch, seed, [(size,) for size in (624, 625, 1000, 4096 + 7, 40000)])
