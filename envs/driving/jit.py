"""The two ways the driving kernel is compiled with numba.

``kernel`` functions may allocate arrays (numba's reference-counted memory, NRT). ``no_alloc``
functions allocate nothing and are compiled without reference counting: numba otherwise
increments and decrements the count of every array a call is passed, and the map's
:class:`~.tables.Tables` alone holds 25 arrays, about 250 ns per call of a per-vehicle helper,
which was most of a physics step. numba rejects an array allocation in a ``no_alloc``
function at compile time, so a wrong label fails loudly instead of leaking.
"""

from __future__ import annotations

import numba as nb

#: compiled and cached; may allocate arrays
kernel = nb.njit(cache=True)
#: compiled and cached without reference counting; must not allocate arrays
no_alloc = nb.njit(cache=True, _nrt=False)
