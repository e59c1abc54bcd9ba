"""The forms a provider may echo an API key in, each of which the scrubber must mask
(configapp/providers/scrubber.py). Each takes the key and the text around it in the echo (the
encodings of a whole message encode what surrounds the key too)."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from urllib.parse import quote

Echo = Callable[[str, str, str], str]


def _around(encode: Callable[[str], str]) -> Echo:
    """The key alone encoded, between its plain surroundings."""
    return lambda key, left, right: f"{left}{encode(key)}{right}"


def _whole(encode: Callable[[bytes], bytes]) -> Echo:
    """The surroundings and the key encoded together (base64, base32, hex of a message)."""
    return lambda key, left, right: encode(f"{left}{key}{right}".encode()).decode()


ECHOES: dict[str, Echo] = {
    "plain": _around(lambda k: k),
    "upper case": _around(str.upper),
    "swapped case": _around(str.swapcase),
    "hex": _around(lambda k: k.encode().hex()),
    "HEX": _around(lambda k: k.encode().hex().upper()),
    "hex of the message": _whole(lambda b: b.hex().encode()),
    "base64": _whole(base64.b64encode),
    "url-safe base64": _whole(base64.urlsafe_b64encode),
    "base32": _whole(base64.b32encode),
    "lower-case base32": _whole(lambda b: base64.b32encode(b).lower()),
    "reversed": _around(lambda k: k[::-1]),
    "spaced": _around(" ".join),
    "dashed": _around("-".join),
    "dotted": _around(".".join),
    "commas": _around(",".join),
    "comma and space": _around(", ".join),
    "html decimal": _around(lambda k: "".join(f"&#{ord(c)};" for c in k)),
    "html hex": _around(lambda k: "".join(f"&#x{ord(c):x};" for c in k)),
    "HTML HEX": _around(lambda k: "".join(f"&#X{ord(c):X};" for c in k)),
    "html escaped": _around(html.escape),
    "url-encoded": _around(lambda k: quote(k, safe="")),
    "every character %-encoded": _around(lambda k: "".join(f"%{ord(c):02X}" for c in k)),
    "%-encoded, lower case": _around(lambda k: "".join(f"%{ord(c):02x}" for c in k)),
    "json escaped": _around(lambda k: json.dumps(k)[1:-1]),
    "all but its last character": _around(lambda k: k[:-1]),
    "all but its first character": _around(lambda k: k[1:]),
    "half encoded": _around(lambda k: "".join(f"&#{ord(c)};" if i % 2 else c
                                              for i, c in enumerate(k))),
}
