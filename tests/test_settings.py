"""lienthong/settings.py: the environment read once, with working defaults."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from lienthong.settings import Settings


def test_defaults_work_on_a_fresh_machine():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/lienthong.db"
    assert settings.external_topics == () and settings.handler_modules == ()
    assert settings.timezone == ZoneInfo("Asia/Ho_Chi_Minh")
    assert settings.job_lock == timedelta(seconds=30)


def test_each_variable_is_read_into_the_engine_options():
    settings = Settings.from_env({
        "DATABASE_URL": "postgresql://db/lienthong", "LIENTHONG_EXTERNAL_TOPICS": " clients.*, score ,",
        "LIENTHONG_TIMEZONE": "UTC", "LIENTHONG_JOB_LOCK_SECONDS": "2.5", "LIENTHONG_HANDLER_MODULES": "a.b,c",
    })
    assert settings.database_url == "postgresql://db/lienthong"
    assert settings.handler_modules == ("a.b", "c")
    assert settings.engine_options() == {"external_topics": ("clients.*", "score"), "timezone": ZoneInfo("UTC"),
                                         "job_lock": timedelta(seconds=2.5)}
