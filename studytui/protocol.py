"""The app's one door to the labs: the run protocol, written once in `labs/protocol.py`
(standard library only: manifests and settings checks, run ids and references, the
run-folder layout, event names, atomic writes, the home).

Everything else in studytui talks to labs over the process boundary; this module is the
single place that imports from `labs`, and tests/test_boundaries.py holds it to that.
"""

from labs.protocol import *  # noqa: F403  (re-exported as the protocol's public names)
