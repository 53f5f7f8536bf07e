"""``python -m tests.fuzz mutant NAME@SEED OUTDIR``: write one mutant (as the suite makes it) for a reproduction;
``python -m tests.fuzz corpus FILE OUTDIR``: write the mutant a corpus recipe describes (or copy a corpus file).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.fuzz.corpus import materialise
from tests.fuzz.mutators import mutate
from tests.fuzz.seeds import case_from_label


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("mutant", "corpus"):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = Path(argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    if argv[0] == "mutant":
        case = case_from_label(argv[1])
        data, ops = mutate(case.source.read_bytes(), case.source.name, case.seed)
        target = out_dir / case.source.name
        target.write_bytes(data)
        print(f"{target} ({len(data)} bytes; {'+'.join(ops)})")
    else:
        name, data = materialise(Path(argv[1]))
        (out_dir / name).write_bytes(data)
        print(out_dir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
