r"""Whole documents verified: every derivative claim of a ``.tex`` file judged, with the
file and line it stands on.

``verify_document("notes.tex")`` reads the file as text (nothing is run:
:mod:`symnorm.language.tex_source`), finds its math, and in it

* definitions: ``f(x) = \frac12\|Ax - b\|_2^2`` (``:=``, ``\coloneqq``; in display or
  inline math) name a function for the claims after it;
* derivative claims in ``equation``, ``align``, ``gather``, ``multline``, ``$$...$$`` and
  ``\[...\]``: ``\nabla f = ...`` and the other notations of
  :mod:`symnorm.language.claims`, the function named or written out on the left; of a
  vector-valued function, its Jacobian (``\frac{\partial F}{\partial x} = ...``,
  ``J_x F = ...``, and ``J_F(x) = ...`` once ``F`` is defined);
* chains ``\nabla f &= a \\ &= b``: ``a`` is judged against the derived result, and every
  later step against the step before it, so a mistake is reported on the line where it
  was made. After a definition, ``f(x) &= a \\ &= b`` checks ``b`` against ``a``.

Each finding is a verdict (``proved``, ``equal at random points``, ...), ``skipped`` (a
claim that cannot be read, with the reason and the ``file:line:column`` of the problem:
never silently dropped) or a ``note`` (an ``\input`` not followed).
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .check.compare import LAYOUT, SAMPLED, STATUSES, UNDECIDED, WRONG, compare, symbols_of
from .language.claims import (
    ClaimHead,
    jacobian_name,
    read_definition,
    read_head,
    relation_pieces,
    starts_a_derivative,
)
from .language.tex_source import MAX_BYTES, Source, equations, math_blocks, read_source
from .model.errors import ParseError, ShapeError, SymnormError
from .model.text import to_text
from .targets import Target, derive, read_claim, resolve
from .verify import Verdict, verdict_from

__all__ = ["MAX_BYTES", "DocumentReport", "Finding", "verify_document"]

SKIPPED = "skipped"
NOTE = "note"


@dataclass
class Finding:
    """One claim of a document and what was found: where (``path``, 1-based ``line`` and
    ``column``), the ``status`` (a :class:`~symnorm.verify.Verdict` status, ``"skipped"``
    or ``"note"``), the ``claim`` as written, a one-line ``message``, more ``details``
    (a counterexample), the ``verdict`` itself, and ``kind``: ``"claim"`` (against the
    derived result), ``"step"`` (against the line before) or ``"note"``."""

    path: str
    line: int
    column: int
    status: str
    claim: str
    message: str = ""
    details: list[str] = field(default_factory=list)
    verdict: Verdict | None = None
    kind: str = "claim"
    offset: int = 0

    @property
    def label(self) -> str:
        """The status in words, with its evidence (``equal at 9 random points (n = 2,
        3, 4)``, ``equal almost everywhere (not where x = 0)``)."""
        v = self.verdict
        if v is None:
            return self.status
        if self.status == SAMPLED:
            return f"equal at {v.sampled()}"
        if self.status == LAYOUT:
            return f"equal up to layout ({v.layout or 'numerator'} layout: the transpose)"
        if v.where and v.ok:
            return f"{self.status} (not where {v.where})"
        return self.status

    def text(self) -> str:
        """``notes.tex:42: wrong: \\nabla f = 2x: ...`` and indented details."""
        where = f"{self.path}:{self.line}:"
        if self.status == SKIPPED:
            where += f"{self.column}:"
        head = f"{where} {self.label}: {self.claim}" if self.claim else \
            f"{where} {self.label}"
        if self.message:
            head += f": {self.message}"
        return "\n".join([head, *(f"    {d}" for d in self.details)])

    def to_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column,
                "status": self.status, "kind": self.kind, "claim": self.claim,
                "message": self.message, "details": list(self.details),
                "verdict": None if self.verdict is None else self.verdict.to_dict()}


@dataclass
class DocumentReport:
    r"""Every finding of :func:`verify_document`, in document order.

    Parameters
    ----------
    path : str
        The document, as given.
    findings : list of Finding
        One a claim, a chain's step or a note, in document order.

    Notes
    -----
    ``ok`` is true when no claim is wrong; ``strict_ok`` when none is wrong, undecided or
    skipped; ``counts`` the number of claims with each status; ``text()`` one
    ``file:line: status: claim`` line a finding (a terminal and an editor can jump to it)
    and a summary; ``to_dict()`` the same as JSON-ready data.

    Examples
    --------
    >>> import pathlib, tempfile, symnorm as sn
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "n.tex"
    >>> _ = path.write_text(r"$$\nabla_x \|x\|_1 = \operatorname{sign}(x)$$")
    >>> report = sn.verify_document(path)
    >>> report.ok, report.counts
    (True, {'proved': 1})
    """

    path: str
    findings: list[Finding]

    @property
    def claims(self) -> list[Finding]:
        """The findings that are claims or steps (not notes)."""
        return [f for f in self.findings if f.status != NOTE]

    @property
    def ok(self) -> bool:
        """True when no claim is wrong (skipped and undecided claims do not count)."""
        return all(f.status != WRONG for f in self.findings)

    @property
    def strict_ok(self) -> bool:
        """True when every claim holds (none wrong, undecided or skipped)."""
        return all(f.status not in (WRONG, UNDECIDED, SKIPPED) for f in self.findings)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status in (*STATUSES, SKIPPED):
            n = sum(f.status == status for f in self.claims)
            if n:
                out[status] = n
        return out

    def summary(self) -> str:
        """``notes.tex: 12 claims: 7 proved, 2 wrong, 1 skipped, ...``"""
        n = len(self.claims)
        if not n:
            return (f"{self.path}: no derivative claims found (a claim is a derivative on the "
                    r"left of '=' in display math: \nabla f = ..., \frac{\partial f}"
                    r"{\partial x} = ...)")
        parts = ", ".join(f"{k} {s}" for s, k in self.counts.items())
        return f"{self.path}: {n} claim{'s' if n != 1 else ''}: {parts}"

    def text(self) -> str:
        return "\n".join([*(f.text() for f in self.findings), self.summary()])

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<DocumentReport {self.summary()}>"

    def to_dict(self) -> dict:
        return {"path": self.path, "ok": self.ok, "summary": self.summary(),
                "counts": self.counts, "findings": [f.to_dict() for f in self.findings]}

    def _repr_html_(self) -> str:
        colour = {WRONG: "#cf222e", SKIPPED: "#9a6700", UNDECIDED: "#9a6700", NOTE: "#57606a"}
        rows = "".join(
            f"<tr><td>{html.escape(f'{f.path}:{f.line}')}</td>"
            f'<td style="color:{colour.get(f.status, "#1a7f37")}">{html.escape(f.label)}</td>'
            f"<td><code>{html.escape(f.claim)}</code></td>"
            f"<td>{html.escape(' '.join([f.message, *f.details]).strip())}</td></tr>"
            for f in self.findings)
        return (f'<div class="symnorm-document"><b>{html.escape(self.summary())}</b>'
                "<table><tr><th>where</th><th>verdict</th><th>claim</th><th>why</th></tr>"
                f"{rows}</table></div>")


# ----------------------------------------------------------------------------- reading

@dataclass
class _Step:
    spans: list[tuple[int, int]]
    relation: str

    def text(self, clean: str) -> str:
        return " ".join(clean[s:e] for s, e in self.spans)

    def locate(self, pos: int) -> int:
        """The document offset of position ``pos`` of :meth:`text`."""
        for s, e in self.spans:
            if pos <= e - s:
                return s + pos
            pos -= e - s + 1
        return self.spans[-1][1]


@dataclass
class _Chain:
    lhs: tuple[int, int]
    steps: list[_Step]


# a second claim on the same row: "\nabla h = 2x, \qquad \nabla^2 h = 2I"
_SECOND_CLAIM = re.compile(r",?\s*\\q?quad\s*(?:\\text\s*\{[^{}]*\}\s*)?"
                           r"(?=\\nabla|\\[dt]?frac\s*\{\s*\\partial|\\partial|[∇∂])")


def _split_claims(clean: str, s: int, e: int) -> list[tuple[int, int]]:
    spans, start = [], s
    for m in _SECOND_CLAIM.finditer(clean, s, e):
        before = clean[start:m.start()]
        content = re.sub(r"\\q?quad|&|\s", "", before)
        if before.count("{") == before.count("}") and content:
            spans.append((start, m.start()))
            start = m.end()
    spans.append((start, e))
    return spans


def _chains(clean: str, rows: list[list[tuple[int, int]]]) -> list[_Chain]:
    """The equations of a block as chains: a row ``a &= b`` starts one, a row ``&= c``
    goes on with it, a row without ``=`` continues the last step (``&\\quad + c``)."""
    chains: list[_Chain] = []
    for row in rows:
        for s, e in (span for eq in row for span in _split_claims(clean, *eq)):
            pieces = relation_pieces(clean, s, e)
            if len(pieces) == 1:
                ps, pe, _ = pieces[0]
                if ps < pe and chains and chains[-1].steps:
                    chains[-1].steps[-1].spans.append((ps, pe))
                continue
            lhs = pieces[0]
            steps = [_Step([(a, b)], r) for a, b, r in pieces[1:] if a < b]
            if lhs[0] == lhs[1]:
                if chains:
                    chains[-1].steps.extend(steps)
                continue
            chains.append(_Chain((lhs[0], lhs[1]), steps))
    return chains


def _what(err: Exception) -> str:
    """An error's message without its ``at line L, column C``, caret lines and the list of
    every command the reader knows."""
    first = str(err).splitlines()[0] if str(err) else type(err).__name__
    first = first.split("; known commands:")[0]
    return re.sub(r" at line \d+, column \d+", "", first)


def _one_line(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _Judge:
    """Walks a document's chains in order, keeping its definitions."""

    def __init__(self, source: Source, shapes: dict, seed: int, settings: int,
                 points: int) -> None:
        self.source = source
        self.shapes = shapes
        self.options = {"seed": seed, "settings": settings, "points": points}
        self.functions: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self.broken: dict[str, str] = {}   # name -> why its definition was not read
        self.cache: dict = {}
        self.findings: list[Finding] = []

    # ---- findings
    def add(self, offset: int, status: str, claim: str, message: str = "",
            details: list[str] | None = None, verdict: Verdict | None = None,
            kind: str = "claim") -> None:
        path, line, column = self.source.locate(offset)
        self.findings.append(Finding(path, line, column, status, _one_line(claim), message,
                                     list(details or []), verdict, kind, offset))

    def skip(self, offset: int, claim: str, err: Exception | str) -> None:
        self.add(offset, SKIPPED, claim, err if isinstance(err, str) else _what(err))

    def verdict(self, offset: int, claim: str, v: Verdict, kind: str) -> None:
        message, details = "", []
        if v.status == WRONG:
            if v.shape_mismatch:
                message = v.shape_mismatch
            elif kind == "step":
                before = _one_line(to_text(v.reference), 60)
                message = f"does not follow from the line before ({before})"
            else:
                message = v.summary().removeprefix("wrong: the claim is ")
            if v.counterexample is not None:
                details.append(f"counterexample {v.counterexample.text()}")
            if v.reason:
                details.append(v.reason)
        elif v.status == UNDECIDED:
            message = v.reason or ""
        self.add(offset, v.status, claim, message, details, v, kind)

    # ---- definitions
    def inline(self, clean: str, lo: int, hi: int) -> None:
        pieces = relation_pieces(clean, lo, hi)
        if len(pieces) == 2:
            definition = read_definition(clean, pieces[0][0], pieces[0][1])
            if definition is not None:
                try:
                    expr = read_claim(clean[pieces[1][0]:pieces[1][1]], dict(self.shapes), None,
                                      prefer_latex=True)
                except SymnormError:
                    return  # inline math is often prose: only a readable one defines
                self.functions[definition.name] = (expr, definition.arguments)
                self.broken.pop(definition.name, None)

    def define(self, clean: str, chain: _Chain) -> None:
        definition = read_definition(clean, *chain.lhs)
        assert definition is not None
        first = chain.steps[0]
        text = first.text(clean)
        claim = f"{clean[chain.lhs[0]:chain.lhs[1]]} = {text}"
        try:
            expr = read_claim(text, dict(self.shapes), None, prefer_latex=True)
        except ParseError as err:
            self.functions.pop(definition.name, None)
            path, line, _ = self.source.locate(chain.lhs[0])
            self.broken[definition.name] = f"its definition ({path}:{line}) could not be read"
            self.skip(first.locate(err.position or 0), claim,
                      f"the definition of {definition.name} cannot be read: {_what(err)}")
            return
        except SymnormError as err:
            self.functions.pop(definition.name, None)
            path, line, _ = self.source.locate(chain.lhs[0])
            self.broken[definition.name] = f"its definition ({path}:{line}) could not be read"
            self.skip(first.spans[0][0], claim,
                      f"the definition of {definition.name} cannot be read: {_what(err)}")
            return
        self.functions[definition.name] = (expr, definition.arguments)
        self.broken.pop(definition.name, None)
        target = Target(expr, None, 1)
        self.steps(clean, chain.steps[1:], target, expr, None, None)

    # ---- claims
    def chain(self, clean: str, chain: _Chain) -> None:
        lhs = clean[chain.lhs[0]:chain.lhs[1]]
        if not chain.steps:
            return
        try:
            head = read_head(clean, *chain.lhs)
        except ParseError as err:
            self.skip(err.position or chain.lhs[0], f"{lhs} = {chain.steps[0].text(clean)}",
                      err)
            return
        if head is None:
            definition = read_definition(clean, *chain.lhs)
            if definition is None or chain.steps[0].relation not in ("=", ":="):
                return
            of = jacobian_name(definition, self.functions)
            if of is None:
                self.define(clean, chain)
                return
            head = ClaimHead(1, (), of, definition.arguments, None, definition.start,
                             definition.start, definition.end, jacobian=True)  # J_F(x) = ...
        self.derivative(clean, head, chain)

    def target(self, clean: str, head: ClaimHead, claim: str) -> Target | None:
        if head.name is not None and head.function is None and head.name in self.broken \
                and head.name not in self.functions:
            self.skip(head.function_start, claim,
                      f"the claim differentiates {head.name}: {self.broken[head.name]}")
            return None
        try:
            return resolve(head, None, None, shapes=self.shapes, functions=self.functions,
                           text=clean)
        except ParseError as err:
            self.skip(err.position if err.position is not None else head.start, claim, err)
        except SymnormError as err:
            self.skip(head.start, claim, err)
        return None

    def derivative(self, clean: str, head: ClaimHead, chain: _Chain) -> None:
        lhs = clean[chain.lhs[0]:chain.lhs[1]]
        first = chain.steps[0]
        claim = f"{lhs} = {first.text(clean)}"
        target = self.target(clean, head, claim)
        if target is None:
            return
        try:
            full, reference = derive(target, self.cache)
        except SymnormError as err:
            self.skip(head.start, claim, f"symnorm cannot derive it: {_what(err)}")
            return
        self.steps(clean, chain.steps, target, reference, full, lhs)

    def steps(self, clean: str, steps: list[_Step], target: Target, reference: Any,
              full: Any, lhs: str | None) -> None:
        """Judge ``steps``: the first against ``reference`` (the derived result, when
        ``full`` is given), each later one against the one before."""
        bindings = {s.name: s for s in symbols_of(target.f)}
        bindings.update(self.shapes)
        previous: Any = None if full is not None else reference
        for k, step in enumerate(steps):
            text = step.text(clean)
            claim = f"{lhs} = {text}" if k == 0 and lhs is not None else f"= {text}"
            at = step.spans[0][0]
            if starts_a_derivative(text):
                previous = self.restated(clean, step, target, previous, reference, full, claim)
                continue
            try:
                expr = read_claim(text, bindings, None, target.index_names, True)
            except ParseError as err:
                self.skip(step.locate(err.position or 0), claim, err)
                previous = None  # the next step is judged against the derived result
                continue
            except ShapeError as err:
                expr = None
                shape_error: Exception | None = err
            except SymnormError as err:
                self.skip(at, claim, err)
                previous = None
                continue
            else:
                shape_error = None
            if previous is None and full is None:  # a definition's chain: nothing before
                previous = expr
                continue
            against = reference if previous is None else previous
            kind = "claim" if previous is None else "step"
            if shape_error is not None:
                v = Verdict(status=WRONG, hand=None, reference=against, f=target.f,
                            wrt=target.wrt_shown, kind=target.kind if kind == "claim"
                            else "step", shape_mismatch=_what(shape_error))
                self.verdict(at, claim, v, kind)
                previous = None
                continue
            v = self.compare(expr, against, target, full if previous is None else None, kind)
            self.verdict(at, claim, v, kind)
            if v.status != WRONG:
                previous = expr
            elif full is not None:  # after a wrong step, the next is judged against the truth
                previous = None

    def compare(self, expr: Any, against: Any, target: Target, full: Any, kind: str
                ) -> Verdict:
        if full is not None:  # the derived result (or a component of it)
            what = Verdict(status=WRONG, hand=None, reference=against, f=target.f,
                           wrt=target.wrt_shown, kind=target.kind)._what()
            c = compare(expr, against, full=full, component=target.component,
                        indices=target.indices, kinks=(target.f,),
                        layout=target.transposed_layout or False, what=what,
                        min_size=target.min_size, **self.options)
            return verdict_from(c, expr, target, against, None)
        c = compare(expr, against, indices=target.indices, kinks=(target.f,),
                    what=f"the line before, {to_text(against)}", min_size=target.min_size,
                    **self.options)
        return verdict_from(c, expr, target, against, None, kind="step")

    def restated(self, clean: str, step: _Step, target: Target, previous: Any,
                 reference: Any, full: Any, claim: str) -> Any:
        r"""A derivative in the middle of a chain (``\nabla f = \nabla (x^\top x) = 2x``):
        the derivative of what it writes, judged against the line before."""
        s, e = step.spans[0]
        try:
            head = read_head(clean, s, e)
        except ParseError as err:
            self.skip(err.position or s, claim, err)
            return None
        if head is None or head.function is None:
            return previous  # the same derivative, restated by name
        functions = dict(self.functions)
        try:
            mid = resolve(head, None, None, shapes=self.shapes, functions=functions,
                          text=clean)
            mid_full, mid_ref = derive(mid, self.cache)
        except SymnormError as err:
            self.skip(getattr(err, "position", None) or s, claim, err)
            return None
        against = reference if previous is None else previous
        c = compare(mid_ref, against, indices=target.indices, kinks=(target.f, mid.f),
                    what=f"the line before, {to_text(against)}", min_size=target.min_size,
                    **self.options)
        self.verdict(s, claim, verdict_from(c, mid_ref, target, against, None, kind="step"),
                     "step")
        return mid_ref


def verify_document(path: str | os.PathLike[str], *, follow_input: bool = False,
                    shapes: dict[str, object] | None = None, max_bytes: int = MAX_BYTES,
                    seed: int = 0, settings: int = 3, points: int = 3) -> DocumentReport:
    r"""Judge every derivative claim of a ``.tex`` file (see :mod:`symnorm.notes`).

    Parameters
    ----------
    path : str or path-like
        The ``.tex`` file, read as UTF-8 text; nothing is run (no TeX, no macros).
    follow_input : bool
        Read ``\input{...}`` and ``\include{...}`` in place, only for files in the
        folder of ``path`` (or below it); otherwise each is reported as a note.
    shapes : dict, optional
        Declarations of names, as for :func:`symnorm.parse` (``{"t": "scalar"}``).
    max_bytes : int
        The largest document read, all inputs together (default 2 MB).
    seed, settings, points : int
        The random points of every comparison, as for :func:`symnorm.verify`.

    Returns
    -------
    DocumentReport
        One :class:`Finding` a claim (and a chain's every step), in document order:
        ``file:line``, the verdict (``proved``, ``equal at random points``, ``equal up to
        layout``, ``equal almost everywhere``, ``wrong`` with a counterexample, ``could
        not decide``) or ``skipped`` with the reason; ``.ok`` is false when a claim is
        wrong.

    Raises
    ------
    symnorm.ParseError
        When the file cannot be read as a document: missing, larger than ``max_bytes``,
        not UTF-8, or math never closed (``file:line:column: ...``).

    Examples
    --------
    >>> import pathlib, tempfile, symnorm as sn
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.tex").write_text(r'''
    ... Let $f(x) = \|x\|_2^2$.
    ... \begin{align}
    ...   \nabla f &= 2x \\
    ...            &= x + x^\top
    ... \end{align}
    ... ''')
    >>> report = sn.verify_document(folder / "notes.tex")
    >>> print(report.text().replace(str(folder), "."))  # doctest: +NORMALIZE_WHITESPACE
    ./notes.tex:4: proved: \nabla f = 2x
    ./notes.tex:5: wrong: = x + x^\top: shape mismatch in 'x + x^\top': ...
    ./notes.tex: 2 claims: 1 proved, 1 wrong
    >>> report.ok
    False
    """
    source = read_source(path, follow_input=follow_input, max_bytes=max_bytes)
    judge = _Judge(source, dict(shapes or {}), seed, settings, points)
    for block in math_blocks(source):
        clean, rows = equations(source.text, block)
        if not block.display:
            judge.inline(clean, block.start, block.end)
            continue
        for chain in _chains(clean, rows):
            judge.chain(clean, chain)
    for offset, note in source.notes:
        judge.add(offset, NOTE, "", note, kind="note")
    findings = sorted(judge.findings, key=lambda f: f.offset)
    return DocumentReport(os.fspath(path), findings)
