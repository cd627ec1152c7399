"""The service's configuration, read from the environment once (by the CLI and the WSGI entry
point) and passed in: nothing below this package reads the engine's variables itself.

  DATABASE_URL                default sqlite:///var/lienthong.db
  LIENTHONG_EXTERNAL_TOPICS   topics served by remote workers (comma-separated, * allowed)
  LIENTHONG_TIMEZONE          zone of dates written without one (default Asia/Ho_Chi_Minh)
  LIENTHONG_JOB_LOCK_SECONDS  how long a worker's claim on a job lasts unless its heartbeat renews it
                              (default 30: a killed worker's jobs are taken again within that)
  LIENTHONG_HANDLER_MODULES   more modules with @handler functions to import (comma-separated)

The adapters to the outside world (registers, agencies, SMS, printing) read their own variables
when first used (registers/, agencies/), so a site configures one without touching the others.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from engine.clock import DEFAULT_TIMEZONE
from engine.db import DEFAULT_URL


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


class SettingError(ValueError):
    """A variable of the environment has a value the service cannot use (named in the message)."""


def _parsed(environ: Mapping[str, str], name: str, default: str, parse):
    text = environ.get(name) or default
    try:
        return parse(text)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise SettingError(f"{name}={text!r} is not valid ({exc})") from None


def _seconds(text: str) -> timedelta:
    seconds = float(text)
    if not 0 < seconds <= 86400:
        raise ValueError("expected seconds between 0 and 86400")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Settings:
    database_url: str
    external_topics: tuple[str, ...] = ()
    timezone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)
    job_lock: timedelta = timedelta(seconds=30)
    handler_modules: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=environ.get("DATABASE_URL") or DEFAULT_URL,
            external_topics=_names(environ.get("LIENTHONG_EXTERNAL_TOPICS", "")),
            timezone=_parsed(environ, "LIENTHONG_TIMEZONE", DEFAULT_TIMEZONE, ZoneInfo),
            job_lock=_parsed(environ, "LIENTHONG_JOB_LOCK_SECONDS", "30", _seconds),
            handler_modules=_names(environ.get("LIENTHONG_HANDLER_MODULES", "")),
        )

    def engine_options(self) -> dict:
        """The ProcessEngine's keyword arguments these settings decide."""
        return {"external_topics": self.external_topics, "timezone": self.timezone, "job_lock": self.job_lock}
