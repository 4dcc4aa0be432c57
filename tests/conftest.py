import os
import tempfile

# Tests derive from scratch into a private cache, never the user's.
os.environ.setdefault("SSEM_CACHE_DIR", tempfile.mkdtemp(prefix="ssem-test-cache-"))
