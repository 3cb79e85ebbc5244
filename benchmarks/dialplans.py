"""Pattern sets written the way operators write dial plans, and numbers dialed at them.

`operator_patterns(count)` mixes every shape operators use (issue 8): digit prefixes
with `.*`, NANP numbers behind leading classes, leading dots, suffix patterns with a
leading `.*`, groups with alternation, optional parts, counted repeats, some
anchored `^...$`, star codes with `*`, `[*]` or `\\*` and a closing `#`, international
prefixes with `(00|+)` or `[+]`, and twins of equal length matching the same numbers
(ties decided by creation time). Each shape comes with a sampler, so
`dialed_numbers(...)` makes numbers that match a pattern picked at random (70 % by
default) and numbers of the same lengths that were not made from any pattern.

Nothing here suits a literal-prefix index on purpose or against it: the shapes and
their weights follow what dial plans hold, and leading classes, dots and groups are
common in them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

Sampler = Callable[[random.Random], str]
Shape = tuple[str, Sampler]


def _digits(rng: random.Random, low: int, high: int | None = None) -> str:
    return "".join(rng.choices("0123456789", k=rng.randint(low, low if high is None else high)))


def _prefix(rng: random.Random, low: int = 2, high: int = 5) -> str:
    return str(rng.randint(1, 9)) + _digits(rng, low - 1, high - 1)


def _prefix_dot_star(rng: random.Random) -> Shape:
    p = _prefix(rng, 3, 7)
    return f"{p}.*", lambda r: p + _digits(r, 0, 8)


def _nanp_area_codes(rng: random.Random) -> Shape:
    areas = sorted({str(rng.randint(200, 999)) for _ in range(rng.randint(1, 4))})
    plus, one = rng.choice([("\\+?", "1?"), ("", "1"), ("\\+", "1"), ("", "")])
    anchored = rng.random() < 0.5
    body = f"{plus}{one}({'|'.join(areas)})\\d{{7}}"
    text = f"^{body}$" if anchored else body

    def sample(r: random.Random) -> str:
        lead = ("+" if plus == "\\+" or (plus and r.random() < 0.5) else "") + (
            "1" if one == "1" or (one and r.random() < 0.5) else ""
        )
        return lead + r.choice(areas) + _digits(r, 7)

    return text, sample


def _leading_class(rng: random.Random) -> Shape:
    mid = _digits(rng, 3)
    low = rng.randint(2, 5)
    tail = rng.randint(3, 5)
    text = f"[{low}-9]\\d{{2}}{mid}\\d{{{tail}}}"
    return text, lambda r: str(r.randint(low, 9)) + _digits(r, 2) + mid + _digits(r, tail)


def _leading_dots(rng: random.Random) -> Shape:
    dots = rng.randint(1, 4)
    p = _digits(rng, 3, 5)
    if rng.random() < 0.5:
        return "." * dots + p + ".*", lambda r: _digits(r, dots) + p + _digits(r, 0, 6)
    return f".{{{dots}}}{p}\\d+", lambda r: _digits(r, dots) + p + _digits(r, 1, 6)


def _suffix(rng: random.Random) -> Shape:
    p = _digits(rng, 4, 6)
    if rng.random() < 0.5:
        return f".*{p}", lambda r: _digits(r, 0, 8) + p
    return f"^\\d*{p}$", lambda r: _digits(r, 0, 8) + p


def _star_code(rng: random.Random) -> Shape:
    code = _digits(rng, 2, 3)
    choice = rng.randrange(4)
    if choice == 0:
        return f"\\*{code}#", lambda r: f"*{code}#"
    if choice == 1:
        return f"*{code}[0-9]#", lambda r: f"*{code}{r.randint(0, 9)}#"
    if choice == 2:
        return f"[*]{code}[*]\\d+#", lambda r: f"*{code}*{_digits(r, 1, 6)}#"
    return f"^*{code}...#$", lambda r: f"*{code}{_digits(r, 3)}#"


def _international(rng: random.Random) -> Shape:
    cc = str(rng.randint(20, 99))
    low = rng.randint(8, 10)
    high = low + rng.randint(0, 2)
    text = f"(00|+){cc}\\d{{{low},{high}}}"
    return text, lambda r: r.choice(["00", "+"]) + cc + _digits(r, low, high)


def _extension(rng: random.Random) -> Shape:
    p = _prefix(rng, 3, 5)
    low = rng.randint(2, 3)
    high = low + rng.randint(1, 2)
    if rng.random() < 0.5:
        return f"{p}\\d{{{low},{high}}}", lambda r: p + _digits(r, low, high)
    lead = rng.choice("123456789")
    return (
        f"({lead}|0)?{p}\\d{{{low},{high}}}",
        lambda r: r.choice(["", lead, "0"]) + p + _digits(r, low, high),
    )


def _optional_country(rng: random.Random) -> Shape:
    p = _prefix(rng, 3, 4)
    tail = rng.randint(4, 7)
    return f"(\\+1)?{p}\\d{{{tail}}}", lambda r: r.choice(["", "+1"]) + p + _digits(r, tail)


def _literal_plus(rng: random.Random) -> Shape:
    cc = str(rng.randint(1, 99))
    p = _digits(rng, 2, 3)
    if rng.random() < 0.5:
        return f"[+]{cc}{p}.*", lambda r: f"+{cc}{p}" + _digits(r, 0, 8)
    return f"\\+{cc}{p}\\d{{6}}", lambda r: f"+{cc}{p}" + _digits(r, 6)


def _hash_code(rng: random.Random) -> Shape:
    p = _digits(rng, 2, 4)
    if rng.random() < 0.5:
        return f"{p}#", lambda r: f"{p}#"
    return f"#{p}\\d*", lambda r: f"#{p}" + _digits(r, 0, 4)


SHAPES: Sequence[tuple[Callable[[random.Random], Shape], int]] = (
    (_prefix_dot_star, 14),
    (_nanp_area_codes, 12),
    (_leading_class, 12),
    (_leading_dots, 12),
    (_suffix, 10),
    (_star_code, 8),
    (_international, 8),
    (_extension, 10),
    (_optional_country, 6),
    (_literal_plus, 4),
    (_hash_code, 4),
)
TWIN_SHARE = 0.05


def _double_range(rng: random.Random) -> Shape:
    """A fixed part with a free count of digits on both sides: up to eight ways to
    place it at one length (what the class-string tables hold worst)."""
    p = _digits(rng, 3, 4)
    low, high = rng.randint(1, 2), rng.randint(6, 9)
    return (
        f"\\d{{{low},{high}}}{p}\\d{{{low},{high}}}",
        lambda r: _digits(r, low, high) + p + _digits(r, low, high),
    )


def _repeated_group(rng: random.Random) -> Shape:
    """A repeated group of two lengths: its strings per length grow without bound, so
    no table takes it (hyperscan does)."""
    a, b = _digits(rng, 1), _digits(rng, 2)
    p = _prefix(rng, 2, 3)
    return f"{p}({a}|{b})+", lambda r: p + "".join(r.choice([a, b]) for _ in range(r.randint(1, 6)))


# The shapes that suit the tables least, mixed with the dial-plan ones.
WIDE_SHAPES: Sequence[tuple[Callable[[random.Random], Shape], int]] = (
    *SHAPES,
    (_double_range, 60),
    (_repeated_group, 40),
)


def _twin(text: str) -> str | None:
    """A pattern of the same length matching some of the same numbers, or None."""
    if "[2-9]" in text:
        return text.replace("[2-9]", "[2-8]", 1)
    if text.endswith(".*"):
        return text[:-2] + "\\d*"
    return None


def operator_shapes(
    count: int,
    seed: int = 8,
    shapes: Sequence[tuple[Callable[[random.Random], Shape], int]] = SHAPES,
) -> list[Shape]:
    """`count` distinct patterns, each with a sampler of numbers it matches."""
    rng = random.Random(seed)
    makers = [maker for maker, _ in shapes]
    weights = [weight for _, weight in shapes]
    found: dict[str, Sampler] = {}
    while len(found) < count:
        text, sampler = rng.choices(makers, weights)[0](rng)
        found.setdefault(text, sampler)
        twin = _twin(text) if rng.random() < TWIN_SHARE else None
        if twin is not None and len(found) < count:
            found.setdefault(twin, sampler)  # samples of the original; some fit the twin
    return list(found.items())


def operator_patterns(count: int, seed: int = 8) -> list[str]:
    """`count` distinct dial-plan patterns (see the module docstring)."""
    return [text for text, _ in operator_shapes(count, seed)]


def dialed_numbers(
    shapes: Sequence[Shape], count: int, *, matching: float = 0.7, seed: int = 12
) -> list[str]:
    """`count` distinct dialed strings: a `matching` share sampled from a random
    pattern, the rest random digit strings of 7 to 13 digits (with a `+` now and then),
    made from no pattern (a broad pattern may still catch some)."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    wanted = round(count * matching)
    while len(found) < wanted:
        found[rng.choice(shapes)[1](rng)] = None
    while len(found) < count:
        number = _digits(rng, 7, 13)
        found[("+" if rng.random() < 0.2 else "") + number] = None
    numbers = list(found)
    rng.shuffle(numbers)
    return numbers
