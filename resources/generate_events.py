"""Write the analysis design's seeded events to an .npz: the layout a user's own events take.

    python resources/generate_events.py [OUTFILE] [SEED] [EVENTS_PER_SAMPLE]
    (defaults: events.npz 1 3000)

The same seed writes the same arrays (the generator is `diffpipe.design.events.generate`, which
the pipeline runs for `optimize_analysis.<name>.events.generator`); the file is what
`events: {npz: OUTFILE}` reads. Keys and shapes: docs/design.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from diffpipe.design.events import generate, write_npz  # noqa: E402


def main(argv: list[str]) -> None:
    """Generate and write.

    Args:
        argv: [OUTFILE, SEED, EVENTS_PER_SAMPLE], each optional.
    """
    out = argv[0] if argv else "events.npz"
    seed = int(argv[1]) if len(argv) > 1 else 1
    n = int(argv[2]) if len(argv) > 2 else 3000
    write_npz(generate(seed, n), out)
    print(f"wrote {out}: seed {seed}, {n} events per sample")


if __name__ == "__main__":
    main(sys.argv[1:])
