"""Running the CLI in a test."""

from ssem_symbolic.cli import main


def exit_status(argv) -> int:
    """The exit status of ``ssem argv``: argparse's refusals (and --version) exit through
    SystemExit, whose code is returned like main's."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code
