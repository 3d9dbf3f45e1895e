"""House style: every public function of the package documents its arguments and return value."""

import ast

from conftest import ROOT

PACKAGE = ROOT / "scripts" / "diffpipe"


def own_nodes(fn):
    """The nodes of a function's own body (not those of functions defined inside it)."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def returns_value(node: ast.FunctionDef) -> bool:
    if node.returns is not None:
        return not (isinstance(node.returns, ast.Constant) and node.returns.value is None)
    return any(isinstance(child, ast.Return) and child.value is not None for child in own_nodes(node))


def public_functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        containers = [tree] + [n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]
        for node in containers:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                    yield path.relative_to(PACKAGE), item


def problems():
    found = []
    for path, fn in public_functions():
        doc = ast.get_docstring(fn) or ""
        args = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
        where = f"{path}:{fn.lineno} {fn.name}"
        if not doc:
            found.append(f"{where}: no docstring")
            continue
        if args and "Args:" not in doc:
            found.append(f"{where}: no Args section")
        for arg in args:
            if "Args:" in doc and f"{arg}" not in doc.split("Args:")[1]:
                found.append(f"{where}: argument {arg} undocumented")
        generator = any(isinstance(c, (ast.Yield, ast.YieldFrom)) for c in own_nodes(fn))
        if generator and "Yields:" not in doc:
            found.append(f"{where}: no Yields section")
        elif not generator and returns_value(fn) and "Returns:" not in doc:
            found.append(f"{where}: no Returns section")
    return found


def test_every_public_function_documents_arguments_and_return_value():
    assert not problems(), "\n".join(problems())
