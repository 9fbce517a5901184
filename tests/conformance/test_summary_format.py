"""vigil's Transition Summary layout against every summary Pacemaker printed.

Each summary block of the corpus is parsed into SummaryLine objects and
rendered back; the result must be byte for byte what crm_simulate printed,
column widths included.  This pins the padding rule in vigil.output.transition without
needing the scheduler.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from vigil.model.transition import SummaryLine
from vigil.output.transition import format_summary_lines


def parse_summary_line(line: str) -> SummaryLine:
    """``  * Move       rsc6    ( node1 -> node2 )`` -> verb, subject, text."""
    words = line.split()
    assert words[0] == "*", line
    if words[1] == "Fence":  # * Fence (reboot) node2 'reason'
        return SummaryLine("Fence", f"{words[2]} {words[3]}", " ".join(words[4:]))
    return SummaryLine(words[1], words[2], " ".join(words[3:]))


def summary_blocks(corpus: Path) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for path in sorted((corpus / "summary").glob("*.summary")):
        lines = path.read_text().splitlines()
        start = lines.index("Transition Summary:") + 1
        end = lines.index("Executing Cluster Transition:")
        blocks.append((path.stem, [line for line in lines[start:end] if line.startswith("  * ")]))
    return blocks


def test_every_corpus_summary_block_is_reproduced(conformance: ModuleType) -> None:
    corpus = conformance.corpus_dir()
    if not (corpus / "summary").is_dir():
        pytest.skip(f"Pacemaker corpus not available at {corpus}")
    blocks = summary_blocks(corpus)
    assert len(blocks) > 800
    wrong = [
        name
        for name, printed in blocks
        if format_summary_lines([parse_summary_line(line) for line in printed]) != printed
    ]
    assert not wrong, f"{len(wrong)} summary blocks laid out differently, e.g. {wrong[:5]}"
