"""The options of a report (``ReportOptions``), each default once: ``protiso report``, a job spec's
``[report]`` table and ``render_report(wh, options)`` build it; ``check()`` runs before anything is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from protiso.errors import ProtisoError
from protiso.options import as_tuple

FORMATS = ("svg", "png", "pdf")  # --figure-format
_COLOR_BY = re.compile(r"^(auto|organism|length_bin|go:[a-z_]+|GO:\d{7})$")


def check_color_by(value: str) -> str:
    """``value`` if it names a colouring the PCA view knows, else a one-line ProtisoError."""
    if not isinstance(value, str) or not _COLOR_BY.match(value):
        raise ProtisoError(f"--color-by {value!r}: use auto, organism, length_bin, go:NAMESPACE "
                           "(e.g. go:biological_process) or a GO term id (GO:0005737)")
    return value


@dataclass(frozen=True)
class ReportOptions:
    """Every option of a report (``protiso report --help``): ``output`` (an .html file), ``models`` (None:
    all), ``title`` (default from the warehouse), ``color_by`` (the PCA view's annotation), ``figures`` (a
    folder that also gets each figure as a file) in ``figure_format``."""

    output: str | Path
    models: tuple[str, ...] | None = None
    title: str | None = None
    color_by: str = "auto"
    figures: str | Path | None = None
    figure_format: str = "svg"

    def __post_init__(self) -> None:
        object.__setattr__(self, "output", Path(self.output))
        object.__setattr__(self, "models", as_tuple(self.models) or None)
        if self.figures is not None:
            object.__setattr__(self, "figures", Path(self.figures))

    def check(self) -> ReportOptions:
        """Every value that needs no warehouse checked (one-line errors); returns self."""
        output = self.output
        if output.is_dir():
            raise ProtisoError(f"{output} is a directory; give a file name such as report.html")
        if output.suffix.lower() not in (".html", ".htm"):
            raise ProtisoError(f"{output}: the report is written as HTML; give a file name ending in .html "
                               "(--figures DIR --figure-format pdf writes each figure as a PDF)")
        if self.figure_format not in FORMATS:
            raise ProtisoError(f"--figure-format {self.figure_format!r}: use one of {', '.join(FORMATS)}")
        check_color_by(self.color_by)
        return self
