"""Pages generated while the site builds (mkdocs-gen-files): the options of every command as
its parser prints them, and the benchmarks and the changelog from the repository root. Nothing
here is written to disk: the pages exist only in the built site."""

from pathlib import Path

import mkdocs_gen_files

from ssem_symbolic.cli._main import build_parser

ROOT = Path(__file__).resolve().parent.parent

parser = build_parser()
commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
with mkdocs_gen_files.open("cli/options.md", "w") as page:
    page.write("# Options of every command\n\nAs `ssem COMMAND --help` prints them.\n\n")
    page.write("```text\n" + parser.format_help() + "```\n\n")
    for name, sub in commands.choices.items():
        page.write(f"## ssem {name}\n\n```text\n{sub.format_help()}```\n\n")

for name, source in (("benchmarks.md", "BENCHMARKS.md"), ("changelog.md", "CHANGELOG.md")):
    with mkdocs_gen_files.open(name, "w") as page:
        page.write((ROOT / source).read_text())
