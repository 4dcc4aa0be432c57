import os
import tempfile

# One torch thread per test process, and in every subprocess the tests start: on a loaded
# 2-core machine the default (a thread per core) makes many small problems several times
# slower (BENCHMARKS.md, "Threads").
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

# Tests derive from scratch into a private cache, never the user's.
os.environ.setdefault("SSEM_CACHE_DIR", tempfile.mkdtemp(prefix="ssem-test-cache-"))
