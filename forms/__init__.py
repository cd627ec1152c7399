# Importing `forms` registers every schema with engine.forms.registry (see lienthong/cli.py).
from . import bhyt, birth, birth_registration, death, identity, residence  # noqa: F401
