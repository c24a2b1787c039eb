"""Line count and docstring share of a package: `python bench/code_stats.py [segcore]`.

A docstring line is any line of a module, class or function docstring (from `ast`), counted
once; the share is docstring lines / all lines (blank lines and comments included).
"""
import ast
import sys
from pathlib import Path


def docstring_lines(source: str) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def stats(root: Path) -> tuple[int, int]:
    total = docs = 0
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        total += len(source.splitlines())
        docs += len(docstring_lines(source))
    return total, docs


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "segcore")
    total, docs = stats(root)
    print(f"{root}: {total} lines, {docs} docstring lines ({docs / total:.1%})")
