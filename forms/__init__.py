# Importing `forms` registers every schema with engine.forms.registry (see lienthong/cli.py).
from . import birth, identity  # noqa: F401
