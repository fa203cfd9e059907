"""Helper run in subprocesses by test_training.py (XLA_FLAGS set by the caller).

usage: python -m tests.training._tiny dp OUT.npz
       python -m tests.training._tiny train STATE STEPS [STOP_AT] OUT.npz
"""

import sys

import numpy as np


class Stream:
    """Deterministic random regression batches from a seeded generator (resumable)."""

    def __init__(self, seed=0):
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def batch(self, n):
        x = self.rng.normal(size=(n, 8)).astype(np.float32)
        return x

    def get_state(self):
        return {"bit_generator": self.rng.bit_generator.state}

    def set_state(self, s):
        self.rng.bit_generator.state = s["bit_generator"]


def make(lr=1e-2):
    import jax
    import jax.numpy as jnp
    import optax

    w_true = np.linspace(-1, 1, 8 * 3, dtype=np.float32).reshape(8, 3)
    key = jax.random.key(0)
    params = {"w": jax.random.normal(key, (8, 3), jnp.float32) * 0.1, "b": jnp.zeros(3, jnp.float32),
              "mlp": {"v": jnp.ones((3, 3), jnp.float32) * 0.5}}
    opt = optax.adam(lr)

    def loss_fn(p, x, k):
        noise = jax.random.normal(k, (x.shape[0], 3)) * 0.01
        y = x @ w_true + noise
        h = jnp.tanh(x @ p["w"] + p["b"]) @ p["mlp"]["v"]
        return jnp.mean((h - y) ** 2)

    @jax.jit
    def step(p, o, x, s):
        k = jax.random.fold_in(jax.random.key(1), s)
        loss, g = jax.value_and_grad(loss_fn)(p, x, k)
        u, o = opt.update(g, o, p)
        return optax.apply_updates(p, u), o, {"loss": loss}

    return params, opt, step


def main():
    import jax

    from ref.training import loop, parallel

    mode = sys.argv[1]
    params, opt, step = make()
    if mode == "dp":
        x = Stream().batch(16)
        out = {}
        for n in (1, 2):
            mesh = parallel.data_mesh(jax.devices()[:n])
            p, o = parallel.replicate(params, mesh), parallel.replicate(opt.init(params), mesh)
            xb = parallel.shard_batch(x, mesh)
            assert len(xb.sharding.device_set) == n
            p, o, m = step(p, o, xb, 0)
            p, o, m = step(p, o, xb, 1)
            out[f"w{n}"], out[f"b{n}"] = np.asarray(p["w"]), np.asarray(p["b"])
            out[f"loss{n}"] = np.asarray(m["loss"])
        out["devices"] = np.asarray(len(jax.devices()))
        np.savez(sys.argv[2], **out)
        return
    state, steps = sys.argv[2], int(sys.argv[3])
    stop_at = int(sys.argv[4]) if len(sys.argv) > 5 else None
    data = loop.ArrayStream(Stream(3), 8)
    r = loop.run(step_fn=step, params=params, opt_state=opt.init(params), data=data, steps=steps,
                 state_path=state, log_every=2, checkpoint_every=100, stop_at=stop_at, echo=print)
    np.savez(sys.argv[-1], w=np.asarray(r["params"]["w"]), v=np.asarray(r["params"]["mlp"]["v"]),
             step=r["step"], resumed=r["resumed_from"])


if __name__ == "__main__":
    main()
