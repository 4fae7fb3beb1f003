"""Validation samples: a seeded random sample of passages, stratified by coded/uncoded (and by code), to code by hand.

The sample sheet has one row per passage with an empty `code` column. A researcher writes the
codes that apply (several separated by ";", none left blank) and gives the sheet to
`coder agree`, which scores only the passages the sheet names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import CoderError

SAMPLE_COLUMNS = ("document", "passage", "start", "end", "text", "code")


@dataclass(frozen=True)
class Sample:
    """A drawn sample and how it was drawn: per stratum, passages in it and passages drawn."""

    sheet: pd.DataFrame  # SAMPLE_COLUMNS, sorted by document and passage
    strata: pd.DataFrame  # stratum, passages, drawn
    seed: int
    asked: int = 0  # the size asked for (more than there are passages: all of them)

    def render(self) -> str:
        parts = ", ".join(f"{row.drawn} of {row.passages} {row.stratum}" for row in self.strata.itertuples(index=False))
        every = (f" Only {len(self.sheet)} passage(s) can be drawn, fewer than the {self.asked} asked for: the sample "
                 f"holds them all." if self.asked > len(self.sheet) else "")
        return f"Drew {len(self.sheet)} passage(s) (seed {self.seed}): {parts}.{every}"


def draw_sample(
    passages: pd.DataFrame, segments: pd.DataFrame, size: int, *, seed: int = 42, by_code: bool = False
) -> Sample:
    """A stratified random sample of `size` passages: half coded by the tool, half not (a stratum
    too small gives its share to the other); with `by_code`, the coded half is shared evenly
    among the codes, so rare codes are checked too.

    `passages` has document, passage, start, end, text (RunFolder.read_passages); `segments`
    is the run's segments frame (rejected rows are not coded). The same seed gives the same sample.

    >>> sample = draw_sample(run.read_passages(), run.read_segments(), 40, seed=1)  # doctest: +SKIP
    >>> sample.sheet.columns.tolist()  # doctest: +SKIP
    ['document', 'passage', 'start', 'end', 'text', 'code']
    """
    from .segments import drop_rejected

    if size < 1:
        raise CoderError(f"sample size {size}: draw at least 1 passage.")
    asked = size
    rng = np.random.default_rng(seed)
    keys = list(zip(passages["document"].astype(str), passages["passage"].astype(int)))
    counted = drop_rejected(segments)
    if "source" in counted.columns:
        counted = counted[counted["source"].astype(str) != "manual"]
    coded_by: dict[tuple[str, int], list[str]] = {}
    for document, passage, code in zip(counted["document"].astype(str), counted["passage"].astype(int), counted["code"].astype(str)):
        coded_by.setdefault((document, passage), []).append(code)
    coded = [position for position, key in enumerate(keys) if key in coded_by]
    uncoded = [position for position, key in enumerate(keys) if key not in coded_by]
    size = min(size, len(keys))
    coded_share = min(len(coded), (size + 1) // 2)
    uncoded_share = min(len(uncoded), size - coded_share)
    coded_share = min(len(coded), size - uncoded_share)
    chosen: list[int] = []
    strata: list[tuple[str, int, int]] = []
    if by_code and coded_share:
        codes = sorted({code for key in coded_by for code in coded_by[key]})
        codes = [codes[index] for index in rng.permutation(len(codes))]  # no code goes first every time
        pools = {code: [position for position in coded if code in coded_by[keys[position]]] for code in codes}
        order = {code: list(rng.permutation(pools[code])) for code in codes}
        taken: set[int] = set()
        # Round-robin over the codes: each takes its next passage not already drawn.
        while len(taken) < coded_share and any(order.values()):
            for code in codes:
                while order[code] and order[code][0] in taken:
                    order[code].pop(0)
                if order[code] and len(taken) < coded_share:
                    taken.add(int(order[code].pop(0)))
        chosen.extend(sorted(taken))
        # Per code, its passages in the sample: one drawn in another code's turn counts for it too.
        strata.extend((f"coded by {code}", len(pools[code]), sum(position in taken for position in pools[code]))
                      for code in sorted(codes))
    elif coded_share:
        chosen.extend(int(position) for position in rng.choice(coded, size=coded_share, replace=False))
        strata.append(("coded", len(coded), coded_share))
    if uncoded_share:
        chosen.extend(int(position) for position in rng.choice(uncoded, size=uncoded_share, replace=False))
    strata.append(("uncoded", len(uncoded), uncoded_share))
    sheet = passages.iloc[sorted(chosen)][["document", "passage", "start", "end", "text"]].assign(code="")
    return Sample(
        sheet=sheet.reset_index(drop=True)[list(SAMPLE_COLUMNS)],
        strata=pd.DataFrame(strata, columns=["stratum", "passages", "drawn"]),
        seed=seed,
        asked=asked,
    )
