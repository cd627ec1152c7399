# Importing `forms` registers every schema with engine.form_registry.registry (see lienthong/cli.py).
from . import bhyt, birth, birth_registration, death, death_registration, funeral, personal_id, residence  # noqa: F401
