#!/usr/bin/env python3
"""PyTorch (eager) and JAX (jit) timings for the MLP and seed-broadcast scenarios of
benches/compare/benches/compare.rs, at the same sizes and in float64 on the CPU.

The `mnist_mlp` scenario (benches/mnist_mlp.rs, compare/benches/mnist.rs) runs in float32.
`BENCH_THREADS=1` pins PyTorch to one intra-op thread (JAX: set
`XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`).

Optional, not part of CI:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch jax jaxlib
    /tmp/venv/bin/python benches/compare/torch_jax.py

Each figure is the median over REPEATS of timeit's per-call time (NUMBER calls per repeat),
gradients included (PyTorch: forward + backward + reading .grad; JAX: the jitted
grad function plus block_until_ready). Either framework is skipped if it does not import.
"""

import os
import statistics
import sys
import timeit

import numpy as np

REPEATS = 15
BATCH, IN, HID = 32, 16, 32
THREADS = os.environ.get("BENCH_THREADS")  # torch intra-op threads; default: torch's own


def lcg_values(n, seed):
    """Same deterministic values in [-1, 1) as `values()` in compare.rs."""
    m = (1 << 64) - 1
    a, c = 6364136223846793005, 1442695040888963407
    s = (seed * a + c) & m
    out = np.empty(n)
    for k in range(n):
        s = (s * a + c) & m
        out[k] = ((s >> 11) / float(1 << 53)) * 2.0 - 1.0
    return out


def mlp_data():
    return dict(
        w1=lcg_values(IN * HID, 3).reshape(IN, HID),
        b1=lcg_values(HID, 4),
        w2=lcg_values(HID, 5).reshape(HID, 1),
        b2=lcg_values(1, 6),
        x=lcg_values(BATCH * IN, 7).reshape(BATCH, IN),
        y=lcg_values(BATCH, 8).reshape(BATCH, 1),
    )


MN_BATCH, MN_IN, MN_HID, MN_OUT = 64, 784, 128, 10


def mnist_values(n, seed, scale):
    """Same float32 values as `values()` in benches/mnist_mlp.rs and compare/benches/mnist.rs."""
    m = (1 << 64) - 1
    a, c = 6364136223846793005, 1442695040888963407
    s = (seed * a + 1) & m
    out = np.empty(n)
    for k in range(n):
        s = (s * a + c) & m
        out[k] = ((s >> 11) / float(1 << 53)) * 2.0 - 1.0
    return out.astype(np.float32) * np.float32(scale)


def mnist_data():
    labels = [(i * 7 + 3) % MN_OUT for i in range(MN_BATCH)]
    y = np.zeros((MN_BATCH, MN_OUT), dtype=np.float32)
    y[np.arange(MN_BATCH), labels] = 1.0
    return dict(
        w1=mnist_values(MN_IN * MN_HID, 1, 0.05).reshape(MN_IN, MN_HID),
        b1=mnist_values(MN_HID, 2, 0.1),
        w2=mnist_values(MN_HID * MN_OUT, 3, 0.2).reshape(MN_HID, MN_OUT),
        b2=mnist_values(MN_OUT, 4, 0.1),
        x=np.abs(mnist_values(MN_BATCH * MN_IN, 5, 1.0)).reshape(MN_BATCH, MN_IN),
        y=y,
    )


def mnist_loss_reference(d):
    z = np.tanh(d["x"] @ d["w1"] + d["b1"]) @ d["w2"] + d["b2"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-(d["y"] * logp).sum() / MN_BATCH)


def seed_data(n):
    return lcg_values(n, 1), lcg_values(n, 2).reshape(n, 1)


def seed_grad_reference(x, y):
    n = x.shape[0]
    return np.full(n, y.sum()), x.sum() + 2.0 * n * y


def timed(fn, min_time=0.2):
    fn()  # warm-up (and JIT compilation)
    fn()
    t = timeit.Timer(fn)
    number, _ = t.autorange()
    number = max(1, int(number * min_time / 0.2))
    runs = t.repeat(repeat=REPEATS, number=number)
    return statistics.median(runs) / number


def fmt(sec):
    if sec < 1e-3:
        return f"{sec * 1e6:.1f} µs"
    return f"{sec * 1e3:.2f} ms"


def bench_torch(results):
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(f"# torch not available: {e}", file=sys.stderr)
        return
    if THREADS:
        torch.set_num_threads(int(THREADS))
    ver = f"{torch.__version__}, {torch.get_num_threads()} threads"

    d = {k: torch.tensor(v, dtype=torch.float64) for k, v in mlp_data().items()}
    params = [d[k].clone().requires_grad_(True) for k in ("w1", "b1", "w2", "b2")]
    x, y = d["x"], d["y"]

    def mlp_grad():
        for p in params:
            p.grad = None
        w1, b1, w2, b2 = params
        h = torch.sigmoid(x @ w1 + b1)
        out = h @ w2 + b2
        loss = ((out - y) ** 2).mean()
        loss.backward()
        return [p.grad for p in params]

    g = mlp_grad()
    assert g[0].shape == (IN, HID)
    results.append((f"PyTorch {ver} eager", "MLP loss grad", timed(mlp_grad)))

    md = mnist_data()
    mt = {k: torch.tensor(v, dtype=torch.float32) for k, v in md.items()}
    mparams = [mt[k].clone().requires_grad_(True) for k in ("w1", "b1", "w2", "b2")]
    mx, my = mt["x"], mt["y"]

    def mnist_grad():
        for p in mparams:
            p.grad = None
        w1, b1, w2, b2 = mparams
        logits = torch.tanh(mx @ w1 + b1) @ w2 + b2
        loss = -(my * torch.log_softmax(logits, 1)).sum() / MN_BATCH
        loss.backward()
        return loss, [p.grad for p in mparams]

    loss, _ = mnist_grad()
    np.testing.assert_allclose(float(loss), mnist_loss_reference(md), rtol=1e-4)
    results.append((f"PyTorch {ver} eager", "mnist_mlp f32 grad", timed(mnist_grad)))

    for n in (100, 1000):
        xs, ys = seed_data(n)
        xt = torch.tensor(xs).requires_grad_(True)
        yt = torch.tensor(ys).requires_grad_(True)

        def seed_grad():
            xt.grad = None
            yt.grad = None
            (xt * yt + yt**2).sum().backward()
            return xt.grad, yt.grad

        gx, gy = seed_grad()
        rx, ry = seed_grad_reference(xs, ys)
        np.testing.assert_allclose(gx.numpy(), rx, rtol=1e-9)
        np.testing.assert_allclose(gy.numpy(), ry, rtol=1e-9)
        results.append((f"PyTorch {ver} eager", f"seed broadcast n={n}", timed(seed_grad)))


def bench_jax(results):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platform_name", "cpu")
        import jax.numpy as jnp
    except Exception as e:  # noqa: BLE001
        print(f"# jax not available: {e}", file=sys.stderr)
        return
    ver = jax.__version__

    d = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in mlp_data().items()}

    def loss(w1, b1, w2, b2, x, y):
        h = jax.nn.sigmoid(x @ w1 + b1)
        out = h @ w2 + b2
        return ((out - y) ** 2).mean()

    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))
    args = (d["w1"], d["b1"], d["w2"], d["b2"], d["x"], d["y"])

    def mlp_grad():
        return jax.block_until_ready(grad(*args))

    results.append((f"JAX {ver} jit", "MLP loss grad", timed(mlp_grad)))

    md = mnist_data()
    margs = tuple(jnp.asarray(md[k], dtype=jnp.float32) for k in ("w1", "b1", "w2", "b2", "x", "y"))

    def mnist_loss(w1, b1, w2, b2, x, y):
        logits = jnp.tanh(x @ w1 + b1) @ w2 + b2
        return -(y * jax.nn.log_softmax(logits, axis=1)).sum() / MN_BATCH

    mgrad = jax.jit(jax.value_and_grad(mnist_loss, argnums=(0, 1, 2, 3)))

    def mnist_grad():
        return jax.block_until_ready(mgrad(*margs))

    loss, _ = mnist_grad()
    np.testing.assert_allclose(float(loss), mnist_loss_reference(md), rtol=1e-4)
    results.append((f"JAX {ver} jit", "mnist_mlp f32 grad", timed(mnist_grad)))

    for n in (100, 1000):
        xs, ys = seed_data(n)
        xj, yj = jnp.asarray(xs), jnp.asarray(ys)
        sgrad = jax.jit(jax.grad(lambda x, y: (x * y + y**2).sum(), argnums=(0, 1)))

        def seed_grad():
            return jax.block_until_ready(sgrad(xj, yj))

        gx, gy = seed_grad()
        rx, ry = seed_grad_reference(xs, ys)
        np.testing.assert_allclose(np.asarray(gx), rx, rtol=1e-9)
        np.testing.assert_allclose(np.asarray(gy), ry, rtol=1e-9)
        results.append((f"JAX {ver} jit", f"seed broadcast n={n}", timed(seed_grad)))


def main():
    results = []
    bench_torch(results)
    bench_jax(results)
    print(f"| tool | scenario | per call (median of {REPEATS}) |")
    print("|---|---|---:|")
    for tool, scen, t in results:
        print(f"| {tool} | {scen} | {fmt(t)} |")


if __name__ == "__main__":
    main()
