"""The ``ssem`` command line: resolve names and files once, call the API, render (L9)."""

from ._main import (
    EXIT_BAD_INPUT as EXIT_BAD_INPUT,
    EXIT_INTERRUPTED as EXIT_INTERRUPTED,
    EXIT_OUTPUT as EXIT_OUTPUT,
    EXIT_PIPE as EXIT_PIPE,
    main as main,
)
from ._render import (
    class_collapse as class_collapse,
    guide_lines as guide_lines,
    guide_warnings as guide_warnings,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_OUTPUT", "EXIT_PIPE", "class_collapse",
           "guide_lines", "guide_warnings", "main"]
