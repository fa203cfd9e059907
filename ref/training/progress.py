"""One progress line per log interval: step, loss terms, steps/s, elapsed time and ETA."""

from __future__ import annotations

import time


def _hms(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Rate over the steps done in *this* process (a resumed run does not count old steps).

    Args:
      total: last step of the schedule.
      start: step the process started from (0 for a fresh run).
    """

    def __init__(self, total: int, start: int = 0):
        self.total, self.start = total, start
        self.t0 = time.time()
        self.last_t, self.last_step = self.t0, start

    def line(self, step: int, metrics: dict[str, float]) -> tuple[str, dict]:
        """(human line, JSON-able record) at ``step`` with the mean ``metrics`` of the interval."""
        now = time.time()
        rate = (step - self.last_step) / max(now - self.last_t, 1e-9)
        overall = (step - self.start) / max(now - self.t0, 1e-9)
        eta = (self.total - step) / max(overall, 1e-9)
        self.last_t, self.last_step = now, step
        rec = {"step": step, **{k: float(v) for k, v in metrics.items()}, "steps_per_s": round(rate, 4),
               "elapsed_s": round(now - self.t0, 1), "eta_s": round(eta, 1)}
        terms = " ".join(f"{k} {v:.5g}" for k, v in metrics.items())
        return (f"step {step}/{self.total} {terms} | {rate:.2f} steps/s | elapsed {_hms(now - self.t0)} "
                f"| ETA {_hms(eta)}"), rec
