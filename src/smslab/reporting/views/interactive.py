"""Menus in a live notebook, every choice rendered in a report run: one cell works in both.

Example:
    >>> seen = []
    >>> explore(seen.append, "Group by", ["region", "variant"])   # no Jupyter here: every choice
    >>> seen
    ['region', 'variant']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

REPORT_ENV = "SMSLAB_REPORT_RUN"  # set while `run_report` executes a notebook: no widgets, static output


def interactive() -> bool:
    """True in a live Jupyter session; False under `smslab report run` (papermill), where widgets
    would export as dead boxes, and outside IPython.

    Example:
        >>> interactive()          # a plain Python process
        False
    """
    if os.environ.get(REPORT_ENV) == "1":
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def explore(render: Callable[[Any], None], label: str, choices: Sequence[Any], *, static: str = "all") -> None:
    """An ipywidgets dropdown over `choices` that re-runs `render(choice)` in Jupyter; under
    papermill (static output) `render` runs for every choice (`static="all"`) or the first.

    Example (in a notebook)::

        reporting.explore(lambda d: reporting.show(px.bar(analytics.delivery_by(con, cid, d), x=d, y="delivery_rate")),
                          "Group by", ["region", "operator", "sender_type"])
    """
    choices = list(choices)
    if not choices:
        return
    if interactive():
        import ipywidgets
        from IPython.display import display

        out = ipywidgets.Output()
        dropdown = ipywidgets.Dropdown(options=choices, value=choices[0], description=label)

        def redraw(*_: Any) -> None:
            with out:
                out.clear_output(wait=True)
                render(dropdown.value)

        dropdown.observe(redraw, names="value")
        display(ipywidgets.VBox([dropdown, out]))
        redraw()
        return
    for choice in choices if static == "all" else choices[:1]:
        render(choice)
