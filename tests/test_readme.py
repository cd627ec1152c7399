"""The README's handler example is a real handler, copied exactly, so it cannot drift from the code."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import handlers.population_check as example

README = Path(__file__).resolve().parent.parent / "README.md"


def example_source() -> str:
    """The module's imports (after `from __future__`) and the handler, as the README shows them."""
    module = inspect.getsource(example)
    imports = module[module.index("from __future__ import annotations\n") + len("from __future__ import annotations\n"):]
    imports = imports[:imports.index("\ndef ")].strip()
    return imports + "\n\n\n" + inspect.getsource(example.check_identity).rstrip()


def readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Writing a service-task handler", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    first, rest = block.split("\n", 1)
    assert first.startswith("# handlers/population_check.py"), first  # names where it comes from
    return rest.rstrip()


def test_the_readme_handler_is_the_real_one_verbatim():
    assert readme_example() == example_source()
