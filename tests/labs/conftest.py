"""Lab tests run tiny models: one thread each, in this process and in the labs it starts.

Under `pytest -n 2` on a shared 2-core machine, torch's default (a thread per core in every
worker) oversubscribes the cores and a tiny model's step runs ~20x slower. The lab
processes the tests start inherit OMP_NUM_THREADS, so in-process and subprocess runs use
the same thread count and sum in the same order (resume tests compare losses exactly).
"""

import os

os.environ["OMP_NUM_THREADS"] = "1"

import torch  # noqa: E402

torch.set_num_threads(1)
