"""The ``ssem`` command line: resolve names and files once, call the API, render (L9)."""

from ._main import (
    EXIT_BAD_INPUT as EXIT_BAD_INPUT,
    EXIT_INTERRUPTED as EXIT_INTERRUPTED,
    EXIT_OUTPUT as EXIT_OUTPUT,
    EXIT_PIPE as EXIT_PIPE,
    main as main,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_OUTPUT", "EXIT_PIPE", "main"]
