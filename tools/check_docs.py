#!/usr/bin/env python3
"""Check the docs: relative links point at files (and anchors at headings), Python blocks compile."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _anchors(path: Path) -> set[str]:
    out = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def main() -> int:
    files = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    files += sorted((ROOT / "plugins").glob("*/README.md"))
    errors: list[str] = []
    for md in files:
        text = md.read_text()
        for target in LINK.findall(text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (md.parent / file_part).resolve() if file_part else md
            if not dest.exists():
                errors.append(f"{md.relative_to(ROOT)}: broken link {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                errors.append(f"{md.relative_to(ROOT)}: missing anchor {target}")
        for i, block in enumerate(BLOCK.findall(text)):
            try:
                compile(block, f"{md.name}[block {i}]", "exec")
            except SyntaxError as e:
                # snippets may be fragments inside async functions: retry wrapped
                wrapped = "async def _():\n" + "\n".join("    " + line for line in block.splitlines())
                try:
                    compile(wrapped, f"{md.name}[block {i}]", "exec")
                except SyntaxError:
                    errors.append(f"{md.relative_to(ROOT)}: python block {i} does not compile: {e}")
    for e in errors:
        print(e)
    print(f"checked {len(files)} files: {'ok' if not errors else f'{len(errors)} problems'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
