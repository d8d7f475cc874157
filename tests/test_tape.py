"""The engine itself: freed and retained gradients, dtype, shapes, edges, and values never aliased or mutated."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from gradcalc.lang.ops import OPS
from gradcalc.tape import Tape, sum_to


def headline(tape: Tape, X: np.ndarray, W: np.ndarray, Y: np.ndarray) -> tuple[list, object]:
    """sum((relu(X@W) - Y)**2) on `tape`: the leaves and the loss."""
    x, w, y = tape.leaf(X), tape.leaf(W), tape.leaf(Y)
    z = x @ w
    h = tape.apply(OPS["relu"], z)
    d = h - y
    loss = (d ** 2).sum()
    return [x, w, y, z, h, d], loss


def values(shape: tuple[int, ...], seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_consumed_gradients_are_freed_and_leaves_kept() -> None:
    tape = Tape()
    (x, w, y, z, h, d), loss = headline(tape, values((5, 3)), values((3, 4), 1), values((5, 4), 2))
    grads = tape.backward(loss)
    assert all(grads[t.index] is not None for t in (x, w, y))
    assert all(grads[t.index] is None for t in (z, h, d, loss))


def test_retain_keeps_every_node_with_the_same_leaf_gradients() -> None:
    tape = Tape()
    (x, w, y, z, h, d), loss = headline(tape, values((5, 3)), values((3, 4), 1), values((5, 4), 2))
    kept = tape.backward(loss, retain=True)
    freed = tape.backward(loss)
    for t in (x, w, y):
        np.testing.assert_array_equal(kept[t.index], freed[t.index])
    np.testing.assert_array_equal(kept[d.index], 2 * d.value)
    np.testing.assert_array_equal(kept[z.index], 2 * d.value * (z.value > 0))
    assert float(kept[loss.index]) == 1.0


def test_backward_runs_again_with_another_seed() -> None:
    tape = Tape()
    x = tape.leaf(np.array([1.0, 2.0, 3.0]))
    y = x * x
    first = tape.backward(y, seed=np.array([1.0, 0.0, 0.0]))[x.index]
    second = tape.backward(y, seed=np.array([0.0, 1.0, 0.0]))[x.index]
    np.testing.assert_array_equal(first, [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(second, [0.0, 4.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_by_values_and_every_gradient(dtype: type) -> None:
    tape = Tape(dtype)
    X = values((3, 3), dtype=dtype)
    x = tape.leaf(X)
    assert x.value is X  # an array of the tape's dtype is used as is
    t = tape.apply(OPS["trace"], x @ x.T)  # trace's VJP multiplies by a float64 eye
    loss = (tape.apply(OPS["tanh"], x * 0.5 + 1) ** 2).sum() + t
    grads = tape.backward(loss, retain=True)
    got = [g for g in grads if g is not None]
    assert len(got) >= 8 and all(g.dtype == dtype for g in got)
    assert loss.value.dtype == dtype


def test_a_float64_leaf_on_a_float32_tape_is_converted() -> None:
    X = values((2, 2))
    x = Tape(np.float32).leaf(X)
    assert x.value.dtype == np.float32 and x.value is not X


@pytest.mark.parametrize("shape", [(), (3,), (1, 3), (4, 1), (4, 3)])
def test_gradients_have_their_tensors_shapes_under_broadcasting(shape: tuple[int, ...]) -> None:
    tape = Tape()
    b = tape.leaf(values(shape) if shape else 0.5)
    m = tape.leaf(values((4, 3), 1))
    loss = ((m + b) * (b * m)).sum()
    grads = tape.backward(loss)
    assert grads[b.index].shape == shape and grads[m.index].shape == (4, 3)
    bv, mv = b.value, m.value  # loss = sum(b m² + b² m)
    np.testing.assert_allclose(grads[b.index], sum_to(mv ** 2 + 2 * bv * mv, shape))
    np.testing.assert_allclose(grads[m.index], 2 * bv * mv + bv ** 2)


def test_only_inputs_that_want_a_gradient_get_an_edge() -> None:
    tape = Tape()
    x = tape.leaf(values((2, 2)))
    c = tape.leaf(values((2, 2), 1), requires_grad=False)
    y = x * c
    z = c * c
    assert y.requires_grad and not z.requires_grad
    assert [(index, [edge[0] for edge in edges]) for index, edges in tape.entries] == [(y.index, [x.index])]


@pytest.mark.parametrize("shape", [(3, 2), (100, 50)])  # a small spread is a copy, a large one a read-only view
def test_square_and_sum_mutate_neither_forward_values_nor_the_seed(shape: tuple[int, ...]) -> None:
    tape = Tape()
    X = values(shape)
    before = X.copy()
    x = tape.leaf(X)
    d = x - 1.0
    square = d ** 2
    loss = square.sum()
    seed = np.array(3.0)
    grads = tape.backward(loss, seed=seed, retain=True)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(d.value, before - 1.0)
    np.testing.assert_array_equal(square.value, (before - 1.0) ** 2)
    assert float(seed) == 3.0 and grads[loss.index] is seed
    np.testing.assert_array_equal(grads[square.index], np.full(shape, 3.0))
    np.testing.assert_array_equal(grads[x.index], 6.0 * (before - 1.0))


def test_a_gradient_passed_to_two_parents_is_not_written_into() -> None:
    """add hands the same g to both parents; the square's in-place product must not reach it."""
    tape = Tape()
    x = tape.leaf(values((3, 3)))
    y = tape.leaf(values((3, 3), 1))
    s = x + y
    g = np.full((3, 3), 2.0)
    grads = tape.backward(s ** 2, seed=g, retain=True)
    assert grads[x.index] is grads[y.index]  # the same array, shared: no copy was made
    np.testing.assert_array_equal(grads[x.index], 2.0 * 2.0 * s.value)
    np.testing.assert_array_equal(g, np.full((3, 3), 2.0))


def test_the_tape_holds_no_tensors_so_no_reference_cycle() -> None:
    """Freed by reference counting alone: the garbage collector is not needed."""
    gc.disable()
    try:
        tape = Tape()
        x = tape.leaf(values((2, 2)))
        y = x * x  # mul's VJPs hold x's value
        held = weakref.ref(x.value)
        unheld = weakref.ref((y + 1.0).value)  # add's VJPs hold nothing
        assert unheld() is None and held() is not None
        tape.backward(y.sum())
        del tape, x, y
        assert held() is None
    finally:
        gc.enable()
