"""Progress callbacks: a callable ``progress(stage, done, total)``, or ``True`` for tqdm bars."""

from __future__ import annotations

from typing import Callable, Optional, Union

Callback = Callable[[str, int, Optional[int]], None]


class _Bars:
    """One tqdm bar per stage."""

    def __init__(self):
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._bar = None
        self._stage = None

    def __call__(self, stage: str, done: int, total: Optional[int]) -> None:
        if stage != self._stage:
            if self._bar is not None:
                self._bar.close()
            self._bar = self._tqdm(total=total, desc=stage, unit_scale=True, leave=False)
            self._stage = stage
        self._bar.n = done
        self._bar.refresh()
        if total is not None and done >= total:
            self._bar.close()
            self._bar, self._stage = None, None


def resolve(progress: Union[None, bool, Callback]) -> Optional[Callback]:
    """The callback for ``progress``: None or False for none, True for tqdm (when installed)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            return _Bars()
        except ImportError:
            return None
    if not callable(progress):
        raise TypeError("progress must be a callable(stage, done, total), True or None")
    return progress
