"""SQL expressions that read one property of an event the way the in-memory path does.

Every engine must refuse what :func:`meterlib._numbers.to_decimal` refuses and must never round,
so a number is read in three steps, all portable SQL:

1. the value as text is checked against a regular expression that accepts exactly the decimal
   literals with at most ``scale`` places (trailing zeros do not count: ``"1.50"`` has one);
2. a value that fails (or is missing) is replaced by an error message naming the event id, the
   property, the value and the rule, such as
   ``meterlib: event 'e7': properties.qty = '1.5x' must be a decimal with at most 12 places``;
3. the result is cast to ``DECIMAL(38, scale)``. A valid literal converts exactly; the message
   cannot convert, so the engine stops the query with a conversion error that carries the
   message. SQL has no portable ``RAISE``; a failing cast is one in every engine (Spark needs
   ``spark.sql.ansi.enabled=true``, its default since Spark 4).

A literal with more integer digits than ``38 - scale`` overflows the cast: an error as well.
Exponent forms are accepted when the places they imply fit (``"1.5E-11"`` has 12 places);
a mantissa written with more places than ``scale`` is refused even when a positive exponent
would shift them away, a conservative rule that errs towards an error, never towards rounding.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["DECIMAL_PATTERN", "fail_text", "number_pattern", "read_number", "read_text", "text_of"]

#: ASCII blanks a number may be surrounded by (as ``str.strip`` allows); written as the
#: characters themselves because backslash escapes in SQL literals differ between engines.
_BLANK = "[ \t]*"


def _mantissa(places: int) -> str:
    """Digits with at most ``places`` significant fraction digits (trailing zeros are free)."""
    forms = [f"[0-9]+([.][0-9]{{0,{places}}}0*)?", "[.]0+"]
    if places:
        forms.append(f"[.][0-9]{{1,{places}}}0*")
    return "|".join(f"({form})" for form in forms)


def number_pattern(scale: int) -> str:
    """A regular expression (RE2, Java, POSIX ARE alike) for decimals with ≤ ``scale`` places."""
    forms = [f"({_mantissa(scale)})([eE][+]?[0-9]+)?"]
    forms.extend(f"({_mantissa(scale - shift)})[eE]-0*{shift}" for shift in range(scale + 1))
    body = "|".join(f"({form})" for form in forms)
    return f"^{_BLANK}[+-]?({body}){_BLANK}$"


#: The pattern for scale 12, shown in documentation.
DECIMAL_PATTERN = number_pattern(12)


def text_of(column: exp.Expr) -> exp.Expr:
    """A column as text (a no-op for text columns)."""
    return exp.cast(column, exp.DataType.build("VARCHAR"))


def fail_text(event_id: exp.Expr, field: str, value: exp.Expr, rule: str) -> exp.Expr:
    """``'meterlib: event ' || id || ...``: the message a failing cast will carry."""
    shown = exp.Coalesce(
        this=exp.DPipe(
            this=exp.DPipe(this=exp.Literal.string("'"), expression=value, safe=True),
            expression=exp.Literal.string("'"),
            safe=True,
        ),
        expressions=[exp.Literal.string("missing")],
    )
    parts: list[exp.Expr] = [
        exp.Literal.string("meterlib: event '"),
        event_id,
        exp.Literal.string(f"': properties.{field} = "),
        shown,
        exp.Literal.string(f" must be {rule}"),
    ]
    message = parts[0]
    for part in parts[1:]:
        message = exp.DPipe(this=message, expression=part, safe=True)
    return message


def read_number(
    column: exp.Expr,
    event_id: exp.Expr,
    field: str,
    scale: int,
    *,
    exact_type: bool,
) -> exp.Expr:
    """``column`` as ``DECIMAL(38, scale)``; a query error for anything the funnel refuses.

    ``exact_type`` says the column already holds exact numbers with at most ``scale`` places
    (an integer type, or ``DECIMAL(p, s)`` with ``s <= scale``): only its presence is checked.
    """
    target = exp.DataType.build(f"DECIMAL(38, {scale})")
    rule = f"a decimal with at most {scale} places"
    text = text_of(column)
    failure = exp.cast(fail_text(event_id, field, text, rule), target)
    if exact_type:
        missing = exp.Is(this=column, expression=exp.Null())
        return exp.Case(ifs=[exp.If(this=missing, true=failure)], default=exp.cast(column, target))
    valid = exp.RegexpLike(this=text, expression=exp.Literal.string(number_pattern(scale)))
    return exp.Case(ifs=[exp.If(this=valid, true=exp.cast(text.copy(), target))], default=failure)


def read_text(column: exp.Expr, event_id: exp.Expr, field: str) -> exp.Expr:
    """``column`` as text; a query error when it is missing (the in-memory path rejects it)."""
    text = text_of(column)
    failure = exp.cast(
        exp.cast(fail_text(event_id, field, text, "present (a meter reads it)"), "BIGINT"),
        exp.DataType.build("VARCHAR"),
    )
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=column, expression=exp.Null()), true=failure)],
        default=text,
    )
