# Importing `forms` registers every schema with engine.forms.registry (see lienthong/cli.py).
from . import bhyt, birth, birth_registration, death, death_registration, funeral, identity, residence  # noqa: F401
