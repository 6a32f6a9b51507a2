"""Every formula's value, stored next to the formula in the saved file (the "cached value" of OOXML).

openpyxl writes a formula cell as `<f>…</f><v/>`: no value. Excel and LibreOffice recompute on opening
(`fullCalcOnLoad`), but a reader that does not calculate (file previewers, mail clients, pandas,
`openpyxl.load_workbook(data_only=True)`) shows blanks. So the workbook is computed here, once, and each
`<v>` is filled with the value and its cell type (`t="str"`, `"b"`, `"e"` for text, booleans and errors;
none for numbers), while the `<f>` stays live.

The evaluator is generic over what the sheets write: it parses every formula cell of the workbook (the
Excel grammar: literals, cell and range references, sheet-qualified references, defined names, the
arithmetic, text and comparison operators with Excel's precedence) and orders the cells by their
dependencies, so a new cost line needs nothing here. It implements the Excel functions the sheets use
and a few neighbours (`FUNCTIONS`), with Excel's rules for blanks, text and errors. A formula it cannot
evaluate (an unknown function, an unparsable reference) keeps its formula, gets no stored value and
raises `StoredValueWarning`, which the tests turn into a failure (`filterwarnings = error`).

Why not the `formulas` package (which the tests use to recompute independently): loading a 36-month,
6-option workbook into it takes about 7 s on one core, against about 0.1 s for the whole export. Why not
XlsxWriter's `write_formula(..., value=...)`: it needs the values too, and the sheets are written with
openpyxl. Excel's own rules referred to: "Calculation operators and precedence in Excel" and the
function pages at https://support.microsoft.com/en-us/excel; the cell types are ECMA-376 Part 1, §18.3.1.4
(`c`) and §18.18.11 (`ST_CellType`).
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import to_excel

__all__ = ["FUNCTIONS", "StoredValueWarning", "XlError", "compute_values", "store_values"]


class StoredValueWarning(UserWarning):
    """A formula whose value could not be computed at export: it stays live but has no stored value."""


@dataclass(frozen=True, slots=True)
class XlError:
    """An Excel error value (`#DIV/0!`, `#VALUE!`, `#N/A` …)."""

    code: str


DIV0, VALUE, REF, NAME, NUM, NA = (XlError(c) for c in ("#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_ERRORS = {e.code: e for e in (DIV0, VALUE, REF, NAME, NUM, NA, XlError("#NULL!"))}

Scalar = float | str | bool | XlError | None
"""A cell's value: None is a blank cell."""


class _Fail(Exception):
    """An Excel error raised through the evaluation (most operations pass the first error on)."""

    def __init__(self, error: XlError) -> None:
        super().__init__(error.code)
        self.error = error


class _Unsupported(Exception):
    """The formula uses something this evaluator does not implement."""


@dataclass(frozen=True, slots=True)
class _Ref:
    """A rectangle of cells on one sheet (1-based rows and columns, inclusive)."""

    sheet: str
    r1: int
    c1: int
    r2: int
    c2: int

    @property
    def size(self) -> int:
        return (self.r2 - self.r1 + 1) * (self.c2 - self.c1 + 1)


# ---------------------------------------------------------------------------------------------- parsing

_CELL = r"\$?[A-Za-z]{1,3}\$?[0-9]+"
_SHEET = r"(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!"
_TOKEN = re.compile(
    rf"""\s*(?:
      (?P<str>"(?:[^"]|"")*")
    | (?P<err>\#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A))
    | (?P<ref>(?:{_SHEET})?{_CELL}(?::{_CELL})?)(?![A-Za-z0-9_.(!])
    | (?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<func>[A-Za-z_][A-Za-z0-9_.]*)\s*\(
    | (?P<name>[A-Za-z_\\][A-Za-z0-9_.\\]*)(?![!(A-Za-z0-9_.])
    | (?P<op><=|>=|<>|[-+*/^&=<>%])
    | (?P<open>\() | (?P<close>\)) | (?P<comma>,)
    )""",
    re.VERBOSE,
)
_CELL_PARTS = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")

# Binding powers (Excel: comparison < & < + - < * / < ^ < % < unary minus, all binary ones left-associative).
_INFIX = {"=": 10, "<>": 10, "<": 10, ">": 10, "<=": 10, ">=": 10, "&": 20, "+": 30, "-": 30, "*": 40, "/": 40, "^": 50}
_POSTFIX_BP = 60
_PREFIX_BP = 70

Node = tuple
"""An expression tree node: (kind, ...)."""


@functools.lru_cache(maxsize=65536)
def _parse_ref(text: str, here: str) -> _Ref:
    sheet = here
    if "!" in text:
        prefix, text = text.rsplit("!", 1)
        sheet = (prefix[1:-1].replace("''", "'") if prefix.startswith("'") else prefix).upper()
    corners = []
    for part in text.split(":"):
        m = _CELL_PARTS.fullmatch(part)
        if m is None:
            raise _Unsupported(f"reference {part!r}")
        corners.append((int(m.group(2)), column_index_from_string(m.group(1).upper())))
    (r1, c1), (r2, c2) = corners[0], corners[-1]
    return _Ref(sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))


class _Parser:
    """Excel formula text (without the leading `=`) → expression tree, by precedence climbing."""

    def __init__(self, text: str, sheet: str) -> None:
        self.sheet = sheet
        self.tokens: list[tuple[str, str]] = []
        pos, end = 0, len(text.rstrip())
        while pos < end:
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _Unsupported(f"cannot read {text[pos : pos + 20]!r}")
            kind = m.lastgroup
            assert kind is not None
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.at = 0

    def parse(self) -> Node:
        node = self.expr(0)
        if self.at != len(self.tokens):
            raise _Unsupported(f"unexpected {self.tokens[self.at][1]!r}")
        return node

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end":
            raise _Unsupported("formula ends too early")
        self.at += 1
        return tok

    def expr(self, min_bp: int) -> Node:
        left = self.primary()
        while True:
            kind, value = self.peek()
            if kind != "op":
                return left
            if value == "%":
                if min_bp >= _POSTFIX_BP:
                    return left
                self.at += 1
                left = ("pct", left)
                continue
            bp = _INFIX[value]
            if bp <= min_bp:
                return left
            self.at += 1
            left = ("bin", value, left, self.expr(bp))

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "op" and value in "+-":
            return ("neg" if value == "-" else "pos", self.expr(_PREFIX_BP))
        if kind == "num":
            return ("lit", float(value))
        if kind == "str":
            return ("lit", value[1:-1].replace('""', '"'))
        if kind == "err":
            return ("lit", _ERRORS[value])
        if kind == "ref":
            return ("ref", _parse_ref(value, self.sheet))
        if kind == "name":
            upper = value.upper()
            if upper in ("TRUE", "FALSE"):
                return ("lit", upper == "TRUE")
            return ("name", upper)
        if kind == "func":
            return self.call(value.upper().removeprefix("_XLFN."))
        if kind == "open":
            node = self.expr(0)
            if self.take()[0] != "close":
                raise _Unsupported("unbalanced parenthesis")
            return node
        raise _Unsupported(f"unexpected {value!r}")

    def call(self, name: str) -> Node:
        args: list[Node] = []
        if self.peek()[0] == "close":
            self.at += 1
            return ("call", name, ())
        while True:
            if self.peek()[0] in ("comma", "close"):
                args.append(("missing",))
            else:
                args.append(self.expr(0))
            kind, value = self.take()
            if kind == "close":
                return ("call", name, tuple(args))
            if kind != "comma":
                raise _Unsupported(f"unexpected {value!r} in {name}()")


@functools.lru_cache(maxsize=4096)
def _parse(text: str, sheet: str) -> Node:
    """A formula's tree (cached: a column repeats its formula text whenever it has no row-relative reference)."""
    return _Parser(text, sheet).parse()


def _refs_of(node: Node) -> Iterator[Node]:
    """Every reference and name node of a tree (its static dependencies)."""
    stack = [node]
    while stack:
        n = stack.pop()
        kind = n[0]
        if kind in ("ref", "name"):
            yield n
        elif kind in ("neg", "pos", "pct"):
            stack.append(n[1])
        elif kind == "bin":
            stack.extend((n[2], n[3]))
        elif kind == "call":
            stack.extend(n[2])


# ---------------------------------------------------------------------------------------------- coercions


def _num(v: object) -> float:
    """A value in a numeric operation: blank is 0, TRUE is 1, numeric text is read, other text is #VALUE!."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float | int):
        return float(v)
    if v is None:
        return 0.0
    if isinstance(v, XlError):
        raise _Fail(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            raise _Fail(VALUE) from None
    raise _Fail(VALUE)


def _text(v: object) -> str:
    """A value in `&`: numbers as Excel's General format writes them (up to 15 significant digits)."""
    if isinstance(v, XlError):
        raise _Fail(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float | int):
        x = float(v)
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return format(x, ".15G")
    return str(v)


def _truth(v: object) -> bool:
    if isinstance(v, XlError):
        raise _Fail(v)
    if isinstance(v, str):
        if v.upper() in ("TRUE", "FALSE"):
            return v.upper() == "TRUE"
        raise _Fail(VALUE)
    return _num(v) != 0


def _finite(x: float) -> float:
    if math.isnan(x) or math.isinf(x):
        raise _Fail(NUM)
    return x


def _approx_equal(a: float, b: float) -> bool:
    """Excel and LibreOffice take numbers that differ only in the last bits for equal (0.1+0.2=0.3 is TRUE)."""
    return a == b or abs(a - b) <= max(abs(a), abs(b)) * 2.0**-48


def _compare(op: str, a: object, b: object) -> bool:
    if isinstance(a, XlError):
        raise _Fail(a)
    if isinstance(b, XlError):
        raise _Fail(b)
    # a blank takes the other side's type: 0, "" or FALSE
    if a is None:
        a = "" if isinstance(b, str) else False if isinstance(b, bool) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else False if isinstance(a, bool) else 0.0

    def rank(v: object) -> int:  # numbers < text < booleans
        return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0

    ra, rb = rank(a), rank(b)
    if ra != rb:
        order = (ra > rb) - (ra < rb)
    elif ra == 1:
        x, y = str(a).casefold(), str(b).casefold()
        order = (x > y) - (x < y)
    else:
        x, y = float(a), float(b)  # type: ignore[arg-type]
        order = 0 if _approx_equal(x, y) else (x > y) - (x < y)
    return {
        "=": order == 0,
        "<>": order != 0,
        "<": order < 0,
        ">": order > 0,
        "<=": order <= 0,
        ">=": order >= 0,
    }[op]


def _power(a: float, b: float) -> float:
    if a == 0 and b == 0:
        raise _Fail(NUM)
    if a == 0 and b < 0:
        raise _Fail(DIV0)
    if a < 0 and not float(b).is_integer():
        raise _Fail(NUM)
    try:
        return _finite(a**b)
    except OverflowError:
        raise _Fail(NUM) from None


def _arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return _finite(a + b)
    if op == "-":
        return _finite(a - b)
    if op == "*":
        return _finite(a * b)
    if op == "/":
        if b == 0:
            raise _Fail(DIV0)
        return _finite(a / b)
    return _power(a, b)


def _round(x: float, digits: float, mode: str) -> float:
    """ROUND (half away from zero), ROUNDUP, ROUNDDOWN on the decimal a spreadsheet shows, not the binary."""
    n = int(digits)
    q = Decimal(1).scaleb(-n)
    return float(Decimal(repr(x)).quantize(q, rounding=mode))


# ---------------------------------------------------------------------------------------------- evaluation


class _Book:
    """The workbook's cells, its defined names, and the values computed so far."""

    def __init__(self, wb: Workbook) -> None:
        self.cells: dict[str, dict[tuple[int, int], object]] = {}
        self.formulas: dict[str, dict[tuple[int, int], str]] = {}
        self.epoch = wb.epoch
        for ws in wb.worksheets:
            raw: dict[tuple[int, int], object] = {}
            forms: dict[tuple[int, int], str] = {}
            # the private cell map: iter_rows() would create every empty cell of the used rectangle
            for (row, col), cell in ws._cells.items():  # type: ignore[attr-defined]
                v = cell.value
                if cell.data_type == "f" and isinstance(v, str) and v.startswith("="):
                    forms[(row, col)] = v[1:]
                elif v is not None:
                    raw[(row, col)] = self._raw(v)
            self.cells[ws.title.upper()] = raw
            self.formulas[ws.title.upper()] = forms
        self.titles = {ws.title.upper(): ws.title for ws in wb.worksheets}
        self.names: dict[str, _Ref | None] = {}
        for name, dn in wb.defined_names.items():
            dest = list(dn.destinations)
            try:
                ref = _parse_ref(f"{_quote(dest[0][0])}!{dest[0][1]}", "") if len(dest) == 1 else None
            except _Unsupported:
                ref = None  # a name for a whole column or a constant: formulas using it read #NAME?
            self.names[name.upper()] = ref
        self.values: dict[tuple[str, int, int], Scalar] = {}

    def _raw(self, v: object) -> Scalar:
        if isinstance(v, bool | str):
            return v
        if isinstance(v, int | float | Decimal):
            return float(v)
        if isinstance(v, datetime | date | time | timedelta):
            return float(to_excel(v, self.epoch))
        return _text(v)

    def cell(self, sheet: str, row: int, col: int) -> Scalar:
        if (row, col) in self.formulas.get(sheet, ()):
            return self.values.get((sheet, row, col), REF)  # REF: a circular reference left uncomputed
        return self.cells.get(sheet, {}).get((row, col))  # type: ignore[return-value]

    def check(self, ref: _Ref) -> _Ref:
        if ref.sheet not in self.cells:
            raise _Fail(REF)
        return ref

    def scalar(self, v: object) -> Scalar:
        """A value where one value is expected: a one-cell reference reads its cell, a wider one is #VALUE!."""
        if isinstance(v, _Ref):
            self.check(v)
            if v.size != 1:
                raise _Fail(VALUE)
            return self.cell(v.sheet, v.r1, v.c1)
        return v  # type: ignore[return-value]

    def each(self, v: object) -> Iterator[tuple[Scalar, bool]]:
        """The values of an argument, each with whether it came from a reference (Excel treats those apart)."""
        if isinstance(v, _Ref):
            self.check(v)
            for r in range(v.r1, v.r2 + 1):
                for c in range(v.c1, v.c2 + 1):
                    yield self.cell(v.sheet, r, c), True
        else:
            yield v, False  # type: ignore[misc]

    def numbers(self, args: tuple[object, ...]) -> list[float]:
        """SUM's view of its arguments: numbers in references (text, TRUE and blanks skipped), typed values coerced."""
        out: list[float] = []
        for a in args:
            for v, from_ref in self.each(a):
                if isinstance(v, XlError):
                    raise _Fail(v)
                if from_ref:
                    if isinstance(v, float | int) and not isinstance(v, bool):
                        out.append(float(v))
                elif v is not None:
                    out.append(_num(v))
        return out

    def ev(self, node: Node, sheet: str) -> object:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ref":
            return node[1]
        if kind == "name":
            ref = self.names.get(node[1])
            if ref is None:
                raise _Fail(NAME)
            return ref
        if kind == "bin":
            op = node[1]
            a = self.scalar(self.ev(node[2], sheet))
            b = self.scalar(self.ev(node[3], sheet))
            if op == "&":
                return _text(a) + _text(b)
            if op in ("+", "-", "*", "/", "^"):
                return _arith(op, _num(a), _num(b))
            return _compare(op, a, b)
        if kind == "neg":
            return -_num(self.scalar(self.ev(node[1], sheet)))
        if kind == "pos":
            return self.ev(node[1], sheet)
        if kind == "pct":
            return _num(self.scalar(self.ev(node[1], sheet))) / 100
        if kind == "missing":
            return None
        if kind == "call":
            name, args = node[1], node[2]
            special = _SPECIAL.get(name)
            if special is not None:
                return special(self, args, sheet)
            fn = FUNCTIONS.get(name)
            if fn is None:
                raise _Unsupported(f"function {name}()")
            return fn(self, tuple(self.ev(a, sheet) for a in args))
        raise _Unsupported(kind)

    def result(self, node: Node, sheet: str) -> Scalar:
        """A formula's value as the cell shows it: a reference reads its cell, a blank reads 0."""
        try:
            v = self.scalar(self.ev(node, sheet))
        except _Fail as e:
            return e.error
        if v is None:
            return 0.0
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return NUM
        return v


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------------- functions

_Fn = Callable[[_Book, tuple[object, ...]], object]


def _arity(args: tuple[object, ...], lo: int, hi: int) -> None:
    if not lo <= len(args) <= hi:
        raise _Fail(VALUE)


def _one(fn: Callable[[float], float]) -> _Fn:
    def f(b: _Book, args: tuple[object, ...]) -> float:
        _arity(args, 1, 1)
        return _finite(float(fn(_num(b.scalar(args[0])))))

    return f


def _rounding(mode: str) -> _Fn:
    def f(b: _Book, args: tuple[object, ...]) -> float:
        _arity(args, 1 if mode == ROUND_HALF_UP else 2, 2)
        digits = _num(b.scalar(args[1])) if len(args) > 1 else 0.0
        return _round(_num(b.scalar(args[0])), digits, mode)

    return f


def _min(b: _Book, args: tuple[object, ...]) -> float:
    xs = b.numbers(args)
    return min(xs) if xs else 0.0


def _max(b: _Book, args: tuple[object, ...]) -> float:
    xs = b.numbers(args)
    return max(xs) if xs else 0.0


def _average(b: _Book, args: tuple[object, ...]) -> float:
    xs = b.numbers(args)
    if not xs:
        raise _Fail(DIV0)
    return math.fsum(xs) / len(xs)


def _count(b: _Book, args: tuple[object, ...]) -> float:
    n = 0
    for a in args:
        for v, from_ref in b.each(a):
            if isinstance(v, bool):
                n += not from_ref
            elif isinstance(v, float | int):
                n += 1
            elif isinstance(v, str) and not from_ref:
                try:
                    float(v)
                    n += 1
                except ValueError:
                    pass
    return float(n)


def _counta(b: _Book, args: tuple[object, ...]) -> float:
    return float(sum(1 for a in args for v, _ in b.each(a) if v is not None))


def _product(b: _Book, args: tuple[object, ...]) -> float:
    return _finite(math.prod(b.numbers(args)))


def _sumproduct(b: _Book, args: tuple[object, ...]) -> float:
    cols: list[list[float]] = []
    for a in args:
        vals = []
        for v, _ in b.each(a):
            if isinstance(v, XlError):
                raise _Fail(v)
            vals.append(float(v) if isinstance(v, float | int) and not isinstance(v, bool) else 0.0)
        cols.append(vals)
    if not cols or any(len(c) != len(cols[0]) for c in cols):
        raise _Fail(VALUE)
    return _finite(math.fsum(math.prod(xs) for xs in zip(*cols, strict=True)))


def _npv(b: _Book, args: tuple[object, ...]) -> float:
    if len(args) < 2:
        raise _Fail(VALUE)
    rate = _num(b.scalar(args[0]))
    if rate == -1:
        raise _Fail(DIV0)
    flows = b.numbers(args[1:])
    return _finite(math.fsum(v / (1 + rate) ** k for k, v in enumerate(flows, start=1)))


def _and_or(is_and: bool) -> _Fn:
    def f(b: _Book, args: tuple[object, ...]) -> bool:
        seen = []
        for a in args:
            for v, from_ref in b.each(a):
                if isinstance(v, XlError):
                    raise _Fail(v)
                if v is None or (from_ref and isinstance(v, str)):
                    continue
                seen.append(_truth(v))
        if not seen:
            raise _Fail(VALUE)
        return all(seen) if is_and else any(seen)

    return f


def _not(b: _Book, args: tuple[object, ...]) -> bool:
    _arity(args, 1, 1)
    return not _truth(b.scalar(args[0]))


def _is(test: Callable[[Scalar], bool]) -> Callable[[_Book, tuple[Node, ...], str], bool]:
    """ISNUMBER and its kin: never an error themselves, so their argument's error is caught, not passed on."""

    def f(b: _Book, args: tuple[Node, ...], sheet: str) -> bool:
        if len(args) != 1:
            raise _Fail(VALUE)
        try:
            v = b.ev(args[0], sheet)
            v = b.cell(b.check(v).sheet, v.r1, v.c1) if isinstance(v, _Ref) else v
        except _Fail as e:
            v = e.error
        return test(v)  # type: ignore[arg-type]

    return f


def _index(b: _Book, args: tuple[object, ...]) -> object:
    _arity(args, 2, 3)
    ref = args[0]
    if not isinstance(ref, _Ref):
        if len(args) == 2 or args[2] is None:
            return ref if int(_num(b.scalar(args[1]))) in (0, 1) else REF
        raise _Fail(REF)
    b.check(ref)
    i = int(_num(b.scalar(args[1]))) if args[1] is not None else 0
    j = int(_num(b.scalar(args[2]))) if len(args) > 2 and args[2] is not None else None
    rows, cols = ref.r2 - ref.r1 + 1, ref.c2 - ref.c1 + 1
    if j is None:
        if rows == 1:
            i, j = 1, i  # one row: the index counts columns
        elif cols == 1:
            j = 1
        else:
            j = 0
    if not (0 <= i <= rows and 0 <= j <= cols):
        raise _Fail(REF)
    r1, r2 = (ref.r1, ref.r2) if i == 0 else (ref.r1 + i - 1,) * 2
    c1, c2 = (ref.c1, ref.c2) if j == 0 else (ref.c1 + j - 1,) * 2
    return _Ref(ref.sheet, r1, c1, r2, c2)


def _match(b: _Book, args: tuple[object, ...]) -> float:
    _arity(args, 2, 3)
    x = b.scalar(args[0])
    if isinstance(x, XlError):
        raise _Fail(x)
    kind = int(_num(b.scalar(args[2]))) if len(args) > 2 and args[2] is not None else 1
    ref = args[1]
    if not isinstance(ref, _Ref) or (ref.r1 != ref.r2 and ref.c1 != ref.c2):
        raise _Fail(NA)
    values = [v for v, _ in b.each(ref)]

    def same_type(v: object) -> bool:
        return isinstance(v, str) == isinstance(x, str) and isinstance(v, bool) == isinstance(x, bool)

    found = None
    for k, v in enumerate(values, start=1):
        if v is None or isinstance(v, XlError) or not same_type(v):
            continue
        if kind == 0:
            if _compare("=", v, x):
                return float(k)
        elif kind > 0:
            if _compare("<=", v, x):
                found = k
            else:
                break
        else:
            if _compare(">=", v, x):
                found = k
            else:
                break
    if found is None:
        raise _Fail(NA)
    return float(found)


def _mod(b: _Book, args: tuple[object, ...]) -> float:
    _arity(args, 2, 2)
    n, d = _num(b.scalar(args[0])), _num(b.scalar(args[1]))
    if d == 0:
        raise _Fail(DIV0)
    return n - d * math.floor(n / d)


def _power_fn(b: _Book, args: tuple[object, ...]) -> float:
    _arity(args, 2, 2)
    return _power(_num(b.scalar(args[0])), _num(b.scalar(args[1])))


def _sqrt(x: float) -> float:
    if x < 0:
        raise _Fail(NUM)
    return math.sqrt(x)


def _log(fn: Callable[[float], float]) -> Callable[[float], float]:
    def f(x: float) -> float:
        if x <= 0:
            raise _Fail(NUM)
        return fn(x)

    return f


def _choose(b: _Book, args: tuple[Node, ...], sheet: str) -> object:
    if len(args) < 2:
        raise _Fail(VALUE)
    k = int(_num(b.scalar(b.ev(args[0], sheet))))
    if not 1 <= k < len(args):
        raise _Fail(VALUE)
    return b.ev(args[k], sheet)


def _if(b: _Book, args: tuple[Node, ...], sheet: str) -> object:
    """IF evaluates only the branch it takes (as Excel does: the other may hold an error)."""
    if not 2 <= len(args) <= 3:
        raise _Fail(VALUE)
    branch = 1 if _truth(b.scalar(b.ev(args[0], sheet))) else 2
    if branch >= len(args):
        return False  # IF(cond, x) when cond is false
    node = args[branch]
    return 0.0 if node == ("missing",) else b.ev(node, sheet)  # IF(cond, , x): an empty branch reads 0


def _iferror(b: _Book, args: tuple[Node, ...], sheet: str) -> object:
    if len(args) != 2:
        raise _Fail(VALUE)
    try:
        v = b.scalar(b.ev(args[0], sheet))
    except _Fail:
        return b.ev(args[1], sheet)
    return b.ev(args[1], sheet) if isinstance(v, XlError) else v


_SPECIAL: dict[str, Callable[[_Book, tuple[Node, ...], str], object]] = {
    "IF": _if,
    "IFERROR": _iferror,
    "CHOOSE": _choose,
    "ISNUMBER": _is(lambda v: isinstance(v, float | int) and not isinstance(v, bool)),
    "ISTEXT": _is(lambda v: isinstance(v, str)),
    "ISBLANK": _is(lambda v: v is None),
    "ISERROR": _is(lambda v: isinstance(v, XlError)),
    "ISNA": _is(lambda v: v == NA),
}


FUNCTIONS: dict[str, _Fn] = {
    "SUM": lambda b, a: _finite(math.fsum(b.numbers(a))),
    "MIN": _min,
    "MAX": _max,
    "AVERAGE": _average,
    "COUNT": _count,
    "COUNTA": _counta,
    "PRODUCT": _product,
    "SUMPRODUCT": _sumproduct,
    "NPV": _npv,
    "AND": _and_or(True),
    "OR": _and_or(False),
    "NOT": _not,
    "TRUE": lambda b, a: True,
    "FALSE": lambda b, a: False,
    "ROUND": _rounding(ROUND_HALF_UP),
    "ROUNDUP": _rounding(ROUND_UP),
    "ROUNDDOWN": _rounding(ROUND_DOWN),
    "INT": _one(math.floor),
    "ABS": _one(abs),
    "SIGN": _one(lambda x: float((x > 0) - (x < 0))),
    "SQRT": _one(_sqrt),
    "EXP": _one(math.exp),
    "LN": _one(_log(math.log)),
    "LOG10": _one(_log(math.log10)),
    "MOD": _mod,
    "POWER": _power_fn,
    "INDEX": _index,
    "MATCH": _match,
}
"""Excel functions with their Excel semantics (those in `_SPECIAL` take their arguments unevaluated)."""


# ---------------------------------------------------------------------------------------------- the workbook


def compute_values(wb: Workbook) -> dict[tuple[str, str], Scalar]:
    """The value of every formula cell of `wb`, in dependency order.

    Args:
        wb: an openpyxl workbook as written (formulas are strings starting with `=`).

    Returns:
        (sheet title, cell coordinate such as "B5") → the value Excel would show: a float, a str, a bool or an
        `XlError`. A formula that cannot be evaluated is left out (and warned about).
    """
    from openpyxl.utils import get_column_letter

    book = _Book(wb)
    trees: dict[tuple[str, int, int], Node] = {}
    deps: dict[tuple[str, int, int], list[tuple[str, int, int]]] = {}
    in_range: dict[_Ref, list[tuple[str, int, int]]] = {}
    skipped: list[str] = []

    def formulas_in(ref: _Ref) -> list[tuple[str, int, int]]:
        if ref not in in_range:
            forms = book.formulas.get(ref.sheet, {})
            if ref.size <= len(forms):
                keys = [
                    (ref.sheet, r, c)
                    for r in range(ref.r1, ref.r2 + 1)
                    for c in range(ref.c1, ref.c2 + 1)
                    if (r, c) in forms
                ]
            else:
                keys = [(ref.sheet, r, c) for (r, c) in forms if ref.r1 <= r <= ref.r2 and ref.c1 <= c <= ref.c2]
            in_range[ref] = keys
        return in_range[ref]

    for sheet, forms in book.formulas.items():
        for (r, c), text in forms.items():
            key = (sheet, r, c)
            try:
                tree = _parse(text, sheet)
            except _Unsupported as e:
                skipped.append(f"{book.titles[sheet]}!{get_column_letter(c)}{r} ={text}: {e}")
                continue
            trees[key] = tree
            d: list[tuple[str, int, int]] = []
            for n in _refs_of(tree):
                ref = n[1] if n[0] == "ref" else book.names.get(n[1])
                if ref is not None:
                    d.extend(formulas_in(ref))
            deps[key] = d

    # depth-first topological order, iterative: a chain of thousands of cells must not hit the recursion limit
    order: list[tuple[str, int, int]] = []
    state: dict[tuple[str, int, int], int] = {}  # 1: on the stack, 2: done
    for start in trees:
        if start in state:
            continue
        stack = [(start, iter(deps[start]))]
        state[start] = 1
        while stack:
            key, it = stack[-1]
            for dep in it:
                if dep not in trees or state.get(dep) == 2:
                    continue
                if state.get(dep) == 1:
                    skipped.append(f"{book.titles[dep[0]]}!{get_column_letter(dep[2])}{dep[1]}: circular reference")
                    continue
                state[dep] = 1
                stack.append((dep, iter(deps[dep])))
                break
            else:
                stack.pop()
                state[key] = 2
                order.append(key)

    out: dict[tuple[str, str], Scalar] = {}
    for key in order:
        sheet, r, c = key
        try:
            value = book.result(trees[key], sheet)
        except _Unsupported as e:
            skipped.append(f"{book.titles[sheet]}!{get_column_letter(c)}{r} ={book.formulas[sheet][(r, c)]}: {e}")
            continue
        book.values[key] = value
        out[(book.titles[sheet], f"{get_column_letter(c)}{r}")] = value
    if skipped:
        warnings.warn(
            f"{len(skipped)} formula(s) stored without a value (costmodel.export._values cannot evaluate them): "
            + "; ".join(skipped[:5]),
            StoredValueWarning,
            stacklevel=2,
        )
    return out


_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}
# openpyxl writes a formula cell as <c r="B5" s="3"><f>…</f><v /></c> (or <v></v>)
_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f>(?:<v\s*/>|<v></v>)</c>')
_TYPE_ATTR = re.compile(r'\st="[^"]*"')


def _v(value: Scalar) -> tuple[str | None, str]:
    """The cell type attribute and the `<v>` text of a value (ECMA-376 ST_CellType)."""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, XlError):
        return "e", escape(value.code)
    if isinstance(value, str):
        return "str", escape(value)
    x = float(value or 0.0)
    return None, str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title → the zip member holding its XML (read from the workbook and its relationships)."""
    wb = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("p:Relationship", _NS)}
    out = {}
    for s in wb.findall("m:sheets/m:sheet", _NS):
        target = targets[s.get(f"{{{_NS['r']}}}id")]
        out[s.get("name", "")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return out


def store_values(data: bytes, values: dict[tuple[str, str], Scalar]) -> bytes:
    """The saved workbook `data` with each formula's `<v>` filled from `values` (formulas unchanged).

    Args:
        data: an .xlsx written by openpyxl.
        values: what `compute_values` returned for the same workbook.

    Returns:
        The workbook's bytes, every other part copied as it was.
    """
    by_sheet: dict[str, dict[str, Scalar]] = {}
    for (sheet, coord), v in values.items():
        by_sheet.setdefault(sheet, {})[coord] = v
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = {part: by_sheet.get(title, {}) for title, part in _sheet_parts(src).items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            cells = parts.get(info.filename)
            if cells:

                def fill(m: re.Match[str], cells: dict[str, Scalar] = cells) -> str:
                    coord, attrs, formula = m.group(1, 2, 3)
                    if coord not in cells:
                        return m.group(0)
                    t, text = _v(cells[coord])
                    attrs = _TYPE_ATTR.sub("", attrs) + (f' t="{t}"' if t else "")
                    return f'<c r="{coord}"{attrs}><f>{formula}</f><v>{text}</v></c>'

                body = _FORMULA_CELL.sub(fill, body.decode("utf-8")).encode("utf-8")
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
