#!/usr/bin/env bash
# Autogenerate a migration from engine/models.py, diffing against a scratch SQLite database at head.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DATABASE_URL="sqlite:///$tmp/head.db" .venv/bin/python - "${1:?usage: migrations/generate.sh MESSAGE}" <<'PY'
import sys
from alembic import command
from alembic.config import Config
from engine.db import MIGRATIONS, Database
from lienthong.settings import Settings

Database(Settings.from_env().database_url).migrate()
config = Config()
config.set_main_option("script_location", str(MIGRATIONS))
command.revision(config, message=sys.argv[1], autogenerate=True)
PY
# Migrations must not import the models: store the decorated type as what it is in the database.
newest=$(ls -t migrations/versions/*.py | head -1)
sed -i 's/engine\.models\.UTCDateTime(timezone=True)/sa.DateTime(timezone=True)/g' "$newest"
