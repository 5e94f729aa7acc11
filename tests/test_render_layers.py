"""Renderers depend on the domain, never the reverse; no private name crosses a module."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "meterlib"
#: Packages and modules that render; everything else below them is domain or edge code.
RENDER = ("meterlib.render",)
#: Only the command line and the public facade may import renderers besides themselves.
ALLOWED = ("meterlib.render", "meterlib.commands", "meterlib.cli", "meterlib.__init__")


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts)


def _imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def _is_hook(function: ast.FunctionDef) -> bool:
    """A ``_repr_html_`` whose body is a docstring, one import and one return."""
    body = [
        s
        for s in function.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    return (
        function.name == "_repr_html_"
        and len(body) == 2
        and isinstance(body[0], ast.ImportFrom)
        and isinstance(body[1], ast.Return)
    )


def test_domain_modules_import_renderers_only_in_repr_html_hooks():
    offenders: list[str] = []
    for path in SRC.rglob("*.py"):
        module = _module(path)
        if module.startswith(ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hooks = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef) and _is_hook(function)
            for node in ast.walk(function)
        }
        offenders.extend(
            f"{module}:{getattr(node, 'lineno', 0)} imports {name}"
            for node in ast.walk(tree)
            for name in _imports(node)
            if name.startswith(RENDER) and id(node) not in hooks
        )
    assert offenders == []


def test_result_types_have_repr_html_hooks():
    hooks = []
    displays = []  # display objects of the renderers themselves (lists that show themselves)
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_render = _module(path).startswith(RENDER)
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for item in cls.body:
                if isinstance(item, ast.FunctionDef) and item.name == "_repr_html_":
                    if in_render:
                        displays.append(cls.name)
                        continue
                    assert _is_hook(item), f"{cls.name}._repr_html_ does more than a hook"
                    hooks.append(cls.name)
    assert sorted(hooks) == sorted(
        [
            "Audit",
            "BatchReport",
            "Charge",
            "Invoice",
            "IssuedInvoice",
            "Note",
            "ScenarioComparison",
            "Statement",
            "UsageTable",
        ]
    )
    assert sorted(displays) == ["DocumentList", "PaymentList"]


def test_no_private_name_is_imported_from_another_render_module():
    offenders = []
    for path in (SRC / "render").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("meterlib")
            ):
                offenders += [
                    f"{_module(path)} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and node.module != "meterlib._numbers"
                ]
    assert offenders == []
