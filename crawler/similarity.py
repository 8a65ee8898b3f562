"""Near-duplicate fingerprints: MinHash (datasketch) over word 3-shingles, banded for lookup.

A record's body becomes a 64-value MinHash signature; 16 bands of 4 values each become 16 integer
keys. Two texts whose shingle sets have Jaccard similarity 0.8 share at least one band key with
probability 0.9998 (0.6: 0.89, 0.5: 0.64, 0.2: 0.03), and each candidate is then confirmed on its
whole signature.

"Near" is judged on containment, not Jaccard: a republished notice usually loses its lead or gains
a source line, so most of the shorter text is found in the longer one while their Jaccard drops.
Containment is estimated from the MinHash Jaccard and the two shingle-set sizes; texts less than
half as long as each other are never near duplicates (a short notice quoted in a long report).

The band keys live in the state database (`crawler.state`), so a lookup costs a few index seeks
whatever the number of stored records, and nothing is held in memory.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from crawler.text import tone_key

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE_WORDS = 3
# Below this many words a text is too short to call "near" anything: two short notices that differ
# in one date or name look alike to MinHash. Such texts are only compared exactly.
MIN_WORDS = 50
DEFAULT_THRESHOLD = 0.8
MIN_SIZE_RATIO = 0.5
_SEED = 20240601
_NOT_WORD = re.compile(r"\W+")
# Shingles are hashed with CRC-32 (C speed, 32 bits as the affine32 scheme wants) rather than
# datasketch's default SHA-1: the random permutations applied on top provide the min-wise mixing.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=zlib.crc32)


@dataclass(frozen=True)
class Fingerprint:
    """A text's MinHash signature and the band keys it is looked up by."""

    signature: np.ndarray  # NUM_PERM unsigned 32-bit values
    size: int  # distinct shingles in the text

    @property
    def band_keys(self) -> list[int]:
        return band_keys(self.signature)

    def to_bytes(self) -> bytes:
        return self.signature.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes, size: int) -> Fingerprint:
        return cls(np.frombuffer(blob, dtype="<u4").astype(np.uint64), size)

    def jaccard(self, other: Fingerprint) -> float:
        """Estimated Jaccard similarity of the two texts' shingle sets."""
        return float(np.count_nonzero(self.signature == other.signature)) / NUM_PERM

    def similarity(self, other: Fingerprint) -> float:
        """Estimated share of the shorter text's shingles found in the other; 0 for texts of very
        different lengths."""
        small, large = sorted((self.size, other.size))
        if large == 0 or small / large < MIN_SIZE_RATIO:
            return 0.0
        jaccard = self.jaccard(other)
        return min(1.0, jaccard * (small + large) / ((1 + jaccard) * small))


def words(text: str) -> list[str]:
    """Comparison words: case-folded, one tone-mark placement, punctuation dropped."""
    text = text.casefold()
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _NOT_WORD.sub(" ", tone_key(text)).split()


def fingerprint(text: str) -> Fingerprint | None:
    """The MinHash of a text's word 3-shingles; None when the text is too short to compare loosely."""
    tokens = words(text)
    if len(tokens) < MIN_WORDS:
        return None
    shingles = {" ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8") for i in range(len(tokens) - SHINGLE_WORDS + 1)}
    minhash = MinHash(num_perm=NUM_PERM, permutations=_TEMPLATE.permutations, scheme="affine32", hashfunc=zlib.crc32)
    minhash.update_batch(list(shingles))
    return Fingerprint(minhash.hashvalues.astype(np.uint64), len(shingles))


def band_keys(signature: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (SQLite integers are signed), the band's number mixed in."""
    raw = signature.astype("<u4").tobytes()
    width = ROWS * 4
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(raw[band * width : (band + 1) * width], digest_size=8, salt=bytes([band])).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys
