"""A key echoed by a provider, masked in the forms it is echoed in, before anyone sees it.

The rule (docs/providers.md, "Base URLs"; docs/architecture.md, security model): any run of
`GRAM` (8) or more consecutive characters of the key, in any case, forwards or reversed, is
replaced by the key's mask, as is, and:
- %-encoded (`%73`, `%2D`, any case), as HTML entities (`&#115;`, `&#x73;`, `&#X73;`,
  `&amp;`) or JSON escapes (`\\u0073`, `\\"`), each character encoded or not;
- as hex (any case, from either nibble);
- spaced out: one or two characters of anything between the key's characters
  (`s k - p r o j`, `s-k---p`, `s, k, -`);
- the whole key in base64 (standard or URL-safe) or base32 (any case), whatever its offset
  in the encoded text.
The part of the key `mask_key` shows (a public prefix such as `sk-proj-`) counts only in a
run that also holds a character of the secret part. A key shorter than 8 characters is
masked whole in the same forms.

Cost: a few passes over the text, each linear in its length (a set lookup per position),
whatever the key; shown_detail scrubs at most llm.MAX_SCRUBBED characters.
"""

from __future__ import annotations

import base64
import html
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator

from configapp.domain import mask_key

GRAM = 8
MIN_SECRET = 4  # shorter "secrets" are not keys; masking them would blank ordinary words
STRIDES = (2, 3)  # a key spaced out by one or two characters
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# One encoded character: %XX, an HTML character reference, a JSON escape.
PERCENT = r"%[0-9A-Fa-f]{2}"
HTML_REFERENCE = r"&#[0-9]{1,7};|&#[xX][0-9A-Fa-f]{1,6};|&[A-Za-z]{2,8};"
JSON_ESCAPE = r"\\u[0-9A-Fa-f]{4}|\\[\"\\/]"
ENCODED_CHAR = re.compile(f"{PERCENT}|{HTML_REFERENCE}|{JSON_ESCAPE}")
# Each encoding alone too: a key may hold what looks like another encoding's escape (a key
# with "%00" in it, HTML-escaped, must not have its "%00" decoded).
ENCODINGS = (ENCODED_CHAR, re.compile(PERCENT), re.compile(HTML_REFERENCE),
             re.compile(JSON_ESCAPE))
Span = tuple[int, int]
# A decoded view of the text: its characters, and where each one came from.
View = tuple[str, Callable[[int], Span]]


def scrub(text: str, *secrets: str | None) -> str:
    """The text with every secret, in every form the module's rule names, replaced by its
    masked form."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            spans = merged(secret_spans(text, secret))
            text = replaced(text, spans, mask_key(secret))
    return text


def secret_spans(text: str, secret: str) -> Iterator[Span]:
    """Where the text holds the secret, in any of the rule's forms (spans may overlap)."""
    length, grams, secret_grams = key_grams(secret)
    for decoded, origin in views(text, length):
        for start, end in gram_runs(decoded, grams, secret_grams, length):
            yield origin(start)[0], origin(end - 1)[1]
    yield from core_spans(text, secret)


def key_grams(secret: str) -> tuple[int, frozenset[str], frozenset[str]]:
    """(n, the lower-cased runs of n characters of the key and of the key reversed, those of
    them that hold a character of the secret part), n being GRAM or the key's length if
    shorter. A run of a public prefix alone is masked only as part of a secret one."""
    key = secret.translate(ASCII_LOWER)
    length = min(GRAM, len(key))
    prefix = len(mask_key(secret).partition("***")[0])
    grams = {key[i:i + length] for i in range(len(key) - length + 1)}
    secret_grams = {key[i:i + length] for i in range(len(key) - length + 1)
                    if i + length > prefix} or {key[:length]}
    return (length, frozenset(grams | {gram[::-1] for gram in grams}),
            frozenset(secret_grams | {gram[::-1] for gram in secret_grams}))


def gram_runs(decoded: str, grams: frozenset[str], secret_grams: frozenset[str],
              length: int) -> Iterator[Span]:
    """The maximal stretches of `decoded` covered by occurrences of the grams that hold at
    least one occurrence of a secret gram.

    Only every `step`th position is probed, for a piece of half a gram: every occurrence
    holds one such aligned piece, and ordinary text holds none, so the grams are looked up
    only around the pieces found."""
    step = length // 2
    pieces = {gram[at:at + step] for gram in grams for at in range(length - step + 1)}
    start = end = -1
    secret = False
    for probe in range(0, len(decoded) - step + 1, step):
        if decoded[probe:probe + step] not in pieces:
            continue
        for index in range(max(probe - length + step, end - length + 1, 0), probe + 1):
            gram = decoded[index:index + length]
            if gram in grams:
                if index > end:
                    if secret:
                        yield start, end
                    start, secret = index, False
                end = index + length
                secret = secret or gram in secret_grams
    if secret:
        yield start, end


def views(text: str, length: int) -> Iterator[View]:
    """The text as is, spaced-out characters gathered, encoded characters decoded, hex
    runs decoded: each lower-cased, with the way back to the text's positions."""
    lower = text.translate(ASCII_LOWER)
    yield lower, stepped(0, 1, 1)
    for stride in STRIDES:
        for phase in range(stride):
            yield lower[phase::stride], stepped(phase, stride, 1)
    if "%" in text or "&" in text or "\\" in text:
        for encoding in ENCODINGS:
            yield decoded_characters(text, encoding)
    for run in re.finditer(f"[0-9A-Fa-f]{{{2 * length},}}", text):
        for phase in (0, 1):
            digits = run[0][phase:]
            decoded = bytes.fromhex(digits[:len(digits) // 2 * 2]).decode("latin-1")
            yield decoded.translate(ASCII_LOWER), stepped(run.start() + phase, 2, 2)


def stepped(first: int, step: int, width: int) -> Callable[[int], Span]:
    """The way back from a view that takes every `step`th character (or pair) from `first`."""
    return lambda k: (first + step * k, first + step * k + width)


def decoded_characters(text: str, encoding: re.Pattern[str] = ENCODED_CHAR) -> View:
    """The text with each %-encoded, HTML or JSON-escaped character decoded. The way back
    is kept per piece (a stretch of plain text, or one encoded character), not per
    character."""
    chars: list[str] = []
    piece_at: list[int] = []  # where each piece starts in the decoded text
    pieces: list[tuple[int, int]] = []  # (start in the text, end or -1 for plain text)
    size = done = 0
    for match in encoding.finditer(text):
        char = decode_one(match[0])
        if char is None:
            continue
        for part, origin in ((text[done:match.start()], (done, -1)),
                             (char, (match.start(), match.end()))):
            chars.append(part)
            piece_at.append(size)
            pieces.append(origin)
            size += len(part)
        done = match.end()
    chars.append(text[done:])
    piece_at.append(size)
    pieces.append((done, -1))

    def origin(k: int) -> Span:
        piece = bisect_right(piece_at, k) - 1
        start, end = pieces[piece]
        return (start, end) if end >= 0 else (start + k - piece_at[piece],
                                              start + k - piece_at[piece] + 1)

    return "".join(chars).translate(ASCII_LOWER), origin


def decode_one(token: str) -> str | None:
    """The one character an encoded token stands for, or None."""
    if token[0] == "%":
        return chr(int(token[1:], 16))
    if token[0] == "\\":
        return chr(int(token[2:], 16)) if token[1] == "u" else token[1]
    if token[1] == "#":
        code = int(token[3:-1], 16) if token[2] in "xX" else int(token[2:-1])
        return chr(code) if code <= 0x10FFFF else None
    char = html.unescape(token)
    return char if len(char) == 1 else None


def core_spans(text: str, secret: str) -> Iterator[Span]:
    """Where the text holds the base64 (case kept) or base32 (any case) of the secret."""
    raw = secret.encode()
    lower = text.translate(ASCII_LOWER)
    for core in base64_cores(raw):
        yield from occurrences(text, core)
    for core in base32_cores(raw):
        yield from occurrences(lower, core.translate(ASCII_LOWER))


def aligned_cores(raw: bytes, encode: Callable[[bytes], bytes], block: int,
                  bits: int) -> Iterator[str]:
    """The characters that the encoding of any text holding `raw` contains whatever raw's
    offset: one core per alignment (a character encodes `bits` bits; `block` bytes make
    whole characters)."""
    for offset in range(block):
        encoded = encode(b"\0" * offset + raw).decode()
        core = encoded[-(-8 * offset // bits):(8 * (offset + len(raw))) // bits]
        if len(core) >= GRAM:
            yield core


def base64_cores(raw: bytes) -> set[str]:
    cores = set(aligned_cores(raw, base64.b64encode, 3, 6))
    return cores | {core.translate(URLSAFE) for core in cores}


def base32_cores(raw: bytes) -> set[str]:
    return set(aligned_cores(raw, base64.b32encode, 5, 5))


URLSAFE = str.maketrans("+/", "-_")


def occurrences(text: str, part: str) -> Iterator[Span]:
    at = text.find(part)
    while at >= 0:
        yield at, at + len(part)
        at = text.find(part, at + 1)


def merged(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, in order."""
    joined: list[Span] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def replaced(text: str, spans: list[Span], mask: str) -> str:
    pieces, done = [], 0
    for start, end in spans:
        pieces += [text[done:start], mask]
        done = end
    return "".join(pieces) + text[done:]
