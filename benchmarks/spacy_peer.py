"""The conventional spaCy way to code passages, as the peer `bench_scale.py` measures coder against.

`spacy.blank("en")` with the lookup lemmatizer of spacy-lookups-data, `nlp.pipe` over the
passages, and one `PhraseMatcher(attr="LEMMA")` holding every keyword, lemmatised by the same
pipeline. The lookup table is case-sensitive ("Meetings" keeps its own lemma), so both the
passages and the keywords are lowercased first: coder is case-insensitive, and a peer that
missed every capitalised word would not be a fair one.

A PhraseMatcher matches token sequences, so some keywords have no PhraseMatcher form: prefix
wildcards (`govern*`), `~` derivations and Chinese terms (the blank English tokenizer does not
segment Chinese). Codes holding one, or a regex, rule or exclusion, are left out of the
agreement check and counted (`PeerCodebook.excluded`).

Run by `bench_scale.py` in a fresh process (its peak memory is its own):

    python benchmarks/spacy_peer.py OUT CODEBOOK PAIRS.parquet [--tokenizer-only]

reads the passages of coder's run folder OUT (coded kinds only), codes them, writes the
(document, passage, code, matched) pairs, and prints its timings as one JSON line.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PAIR_COLUMNS = ["document", "passage", "code", "matched"]
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass
class PeerCodebook:
    """The keywords a PhraseMatcher can express, by code, and what it cannot."""

    keywords: dict[str, list[str]] = field(default_factory=dict)  # code -> keywords (codes fully expressible)
    excluded: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # code -> [(keyword or feature, reason)]

    @property
    def excluded_keywords(self) -> dict[str, int]:
        """How many keywords of each reason the peer cannot express."""
        counts: dict[str, int] = {}
        for problems in self.excluded.values():
            for _, reason in problems:
                counts[reason] = counts.get(reason, 0) + 1
        return counts


def inexpressible(keyword: str) -> str | None:
    """Why a PhraseMatcher cannot match `keyword` as coder does, or None when it can.

    >>> inexpressible("joint meeting"), inexpressible("govern*"), inexpressible("联席会议")
    (None, 'wildcard', 'Chinese')
    """
    if _CJK.search(keyword):
        return "Chinese"
    if keyword.endswith("*"):
        return "wildcard"
    if keyword.startswith("~"):
        return "derivation"
    return None


def peer_codebook(codes: Iterable) -> PeerCodebook:
    """Split coder's codes into those the peer matches exactly and those it leaves out (with why)."""
    peer = PeerCodebook()
    for code in codes:
        problems = [(keyword, reason) for keyword in code.keywords if (reason := inexpressible(keyword))]
        problems += [(feature, feature) for feature in ("regex", "rules", "exclude") if getattr(code, feature)]
        if getattr(code, "morphology", "inflectional") != "inflectional":
            problems.append(("morphology", "derivation"))
        if problems:
            peer.excluded[code.id] = problems
        elif code.keywords:
            peer.keywords[code.id] = list(code.keywords)
    return peer


def build_peer(peer: PeerCodebook):
    """The spaCy pipeline (blank English + lookup lemmatizer) and its PhraseMatcher(attr="LEMMA")."""
    import spacy
    from spacy.matcher import PhraseMatcher

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
    for code, keywords in peer.keywords.items():
        matcher.add(code, list(nlp.pipe(keyword.lower() for keyword in keywords)))
    return nlp, matcher


def match_passages(nlp, matcher, texts: Iterable[str], *, batch_size: int = 256) -> list[tuple[int, str, str]]:
    """(position of the passage in `texts`, code, first matched text) for every code that matches a passage."""
    strings = nlp.vocab.strings
    pairs: list[tuple[int, str, str]] = []
    for position, doc in enumerate(nlp.pipe((text.lower() for text in texts), batch_size=batch_size)):
        seen: set[int] = set()
        for match_id, start, end in matcher(doc):
            if match_id not in seen:
                seen.add(match_id)
                pairs.append((position, strings[match_id], doc[start:end].text))
    return pairs


@dataclass
class Agreement:
    """coder's (document, passage, code) pairs against the peer's, on the codes both can express."""

    shared: int
    coder_only: pd.DataFrame  # PAIR_COLUMNS (coder's matched words)
    peer_only: pd.DataFrame  # PAIR_COLUMNS (the peer's matched text)
    codes: int

    @property
    def precision(self) -> float:
        """Of coder's pairs, the share the peer also finds."""
        total = self.shared + len(self.coder_only)
        return self.shared / total if total else 1.0

    @property
    def recall(self) -> float:
        """Of the peer's pairs, the share coder also finds."""
        total = self.shared + len(self.peer_only)
        return self.shared / total if total else 1.0

    def reasons(self) -> dict[str, int]:
        """Pairs found by one side only, by the likeliest reason (see `disagreement_reason`)."""
        counts: dict[str, int] = {}
        for side, frame in (("coder only", self.coder_only), ("peer only", self.peer_only)):
            texts = frame["text"] if "text" in frame.columns else [None] * len(frame)
            for matched, text in zip(frame["matched"], texts):
                reason = f"{side}, {disagreement_reason(matched, text)}"
                counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def worst_codes(self, count: int = 5) -> pd.DataFrame:
        """The codes with the most pairs found by one side only: code, coder_only, peer_only."""
        coder_only = self.coder_only.groupby("code").size().rename("coder_only")
        peer_only = self.peer_only.groupby("code").size().rename("peer_only")
        table = pd.concat([coder_only, peer_only], axis=1).fillna(0).astype("int64")
        table["total"] = table["coder_only"] + table["peer_only"]
        table = table.sort_values(["total", "coder_only"], ascending=False, kind="stable").head(count)
        return table.drop(columns="total").reset_index(names="code")


def disagreement_reason(matched: str, text: str | None = None) -> str:
    """Why one side may have found a match the other did not, from the matched words and the passage.

    coder reads hyphens, line breaks and runs of spaces between words as one space (its matching
    rule 6); spaCy's tokenizer makes "cross-regional" three tokens, so the peer cannot match
    `cross regional` there. spaCy splits punctuation off a word only where a space or another
    split follows it, so in "sharing;strengthen" the peer never sees the word "sharing".

    >>> disagreement_reason("cross-regional governance"), disagreement_reason("joint meetings")
    ('hyphen or line break inside the match', 'other')
    >>> disagreement_reason("resource sharing", "to achieve resource sharing;strengthen the")
    'punctuation without a space beside the match'
    """
    if re.search(r"\w[-\u2010\u2011\u2013]\w|\w\s*\n\s*\w", matched):
        return "hyphen or line break inside the match"
    if text is not None:
        first = re.escape(matched.split("; ")[0])
        glued = rf"\w[^\w\s]+{first}|{first}[^\w\s]+\w|\w{first}|{first}\w"
        if re.search(glued, text, re.IGNORECASE):
            return "punctuation without a space beside the match"
    return "other"


def compare_pairs(
    coder: pd.DataFrame, peer: pd.DataFrame, codes: Sequence[str], *, passages: pd.DataFrame | None = None
) -> Agreement:
    """Compare coder's segments with the peer's pairs, on `codes` only (both frames: PAIR_COLUMNS).

    With `passages` (document, passage, text), the pairs found by one side only carry the passage's text.

    >>> coder = pd.DataFrame([["a.txt", 0, "x", "joint meeting"]], columns=PAIR_COLUMNS)
    >>> compare_pairs(coder, coder, ["x"]).precision
    1.0
    """
    wanted = set(codes)
    keys = ["document", "passage", "code"]
    coder = coder.loc[coder["code"].isin(wanted), PAIR_COLUMNS].drop_duplicates(keys)
    peer = peer.loc[peer["code"].isin(wanted), PAIR_COLUMNS].drop_duplicates(keys)
    joined = coder.merge(peer[keys], on=keys, how="outer", indicator=True)
    shared = int((joined["_merge"] == "both").sum())
    coder_only = joined.loc[joined["_merge"] == "left_only", keys].merge(coder, on=keys)
    peer_only = joined.loc[joined["_merge"] == "right_only", keys].merge(peer, on=keys)
    if passages is not None:
        texts = passages[["document", "passage", "text"]]
        coder_only, peer_only = coder_only.merge(texts, how="left"), peer_only.merge(texts, how="left")
    return Agreement(shared=shared, coder_only=coder_only.reset_index(drop=True),
                     peer_only=peer_only.reset_index(drop=True), codes=len(wanted))


def _coded_passages(out: Path, codebook) -> pd.DataFrame:
    """The passages coder coded in its run folder `out` (passage kinds the codebook codes)."""
    from coder.runs import RunFolder

    passages = RunFolder(out).read_passages()
    return passages.loc[passages["kind"].isin(codebook.code_kinds)].reset_index(drop=True)


def main(argv: Sequence[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from coder import load_codebook

    out, codebook_path, pairs_path = map(Path, argv[:3])
    codebook = load_codebook(codebook_path)
    passages = _coded_passages(out, codebook)
    texts = passages["text"].tolist()
    figures: dict[str, object] = {"passages": len(texts), "characters": sum(map(len, texts))}
    if "--tokenizer-only" in argv:
        import spacy

        tokenizer = spacy.blank("en").tokenizer
        started = time.process_time(), time.perf_counter()
        tokens = sum(len(doc) for doc in tokenizer.pipe(texts, batch_size=256))
        figures.update(cpu=time.process_time() - started[0], wall=time.perf_counter() - started[1], tokens=tokens)
    else:
        peer = peer_codebook(codebook)
        started = time.process_time(), time.perf_counter()
        nlp, matcher = build_peer(peer)
        figures["setup_wall"] = time.perf_counter() - started[1]
        started = time.process_time(), time.perf_counter()
        found = match_passages(nlp, matcher, texts)
        figures.update(cpu=time.process_time() - started[0], wall=time.perf_counter() - started[1], pairs=len(found))
        positions = [position for position, _, _ in found]
        pairs = pd.DataFrame({
            "document": passages["document"].to_numpy()[positions] if found else [],
            "passage": passages["passage"].to_numpy()[positions] if found else [],
            "code": [code for _, code, _ in found],
            "matched": [matched for _, _, matched in found],
        })
        pairs.to_parquet(pairs_path, index=False)
    figures["peak_mb"] = _peak_mb()
    print(json.dumps(figures))


def _peak_mb() -> float | None:
    """This process's peak resident memory in MB; None where the `resource` module is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
