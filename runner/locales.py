"""The locale of the servers and databases the project makes: SCHEMA_PG_LOCALE.

The schema must mean the same in every locale a customer may create the
database with, and a Turkish DBA creates it Turkish (docs/locale.md). The
embedded server, the test servers and the benchmark's take their locale from
SCHEMA_PG_LOCALE, so that the suite can run in one:

  C.UTF-8            (the default) libc's C.UTF-8: code-point order
  tr_TR.UTF-8        any libc locale installed on the machine (`locale -a`)
  icu:tr-TR          an ICU locale (builds with ICU: 15 and 16 here), with
                     C.UTF-8 for the libc categories
  builtin:C.UTF-8    PostgreSQL 17's own provider (17 and newer)
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runner.errors import EXIT_SERVER, EXIT_USAGE, RunnerError

DEFAULT = "C.UTF-8"
PROVIDERS = ("libc", "icu", "builtin")
# What the libc categories are when another provider collates.
LIBC_BESIDE = "C.UTF-8"
INSTALL_HINT = "as root run `make locales` (Debian's locales package and locale-gen)"


def _normal(name: str) -> str:
    """A locale name as `locale -a` lists it: tr_TR.UTF-8 is tr_TR.utf8."""
    base, dot, encoding = name.partition(".")
    return base + (dot + encoding.lower().replace("-", "") if dot else "")


def installed_libc_locales() -> set[str]:
    """The libc locales of this machine, normalized (C.utf8, tr_TR.utf8)."""
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    return {_normal(line.strip()) for line in out.splitlines() if line.strip()}


def has_icu(bin_dir: Path) -> bool:
    """Whether a server build links ICU (the 16 npm build carries its own)."""
    proc = subprocess.run(["ldd", str(bin_dir / "postgres")], capture_output=True, text=True)
    return "libicu" in proc.stdout


@dataclass(frozen=True, kw_only=True)
class Locale:
    provider: str  # libc, icu or builtin
    name: str

    @classmethod
    def parse(cls, text: str) -> Locale:
        provider, colon, name = text.strip().partition(":")
        if not colon:
            provider, name = "libc", text.strip()
        if provider not in PROVIDERS or not name or any(c in name for c in "'\" \\"):
            raise RunnerError(f"SCHEMA_PG_LOCALE={text} is not a locale: write a libc locale "
                              "(tr_TR.UTF-8), icu:LOCALE (icu:tr-TR) or builtin:C.UTF-8",
                              EXIT_USAGE)
        return cls(provider=provider, name=name)

    @classmethod
    def from_env(cls) -> Locale:
        return cls.parse(os.environ.get("SCHEMA_PG_LOCALE", "").strip() or DEFAULT)

    @property
    def label(self) -> str:
        return self.name if self.provider == "libc" else f"{self.provider}:{self.name}"

    def check(self, major: int, bin_dir: Path) -> None:
        """One line saying what is missing when a server of this build cannot
        be made in this locale."""
        if self.provider == "libc" and _normal(self.name) not in installed_libc_locales():
            raise RunnerError(f"SCHEMA_PG_LOCALE={self.label}: the locale is not installed "
                              f"on this machine: {INSTALL_HINT}", EXIT_SERVER)
        if self.provider == "icu" and not has_icu(bin_dir):
            raise RunnerError(f"SCHEMA_PG_LOCALE={self.label} needs ICU, and this build of "
                              f"PostgreSQL {major} has none: use a libc locale (tr_TR.UTF-8) "
                              "or SCHEMA_PG_MAJOR=15 or 16", EXIT_SERVER)
        if self.provider == "builtin" and major < 17:
            raise RunnerError(f"SCHEMA_PG_LOCALE={self.label}: the builtin provider is new in "
                              f"PostgreSQL 17, not in {major}", EXIT_SERVER)

    def initdb_args(self) -> list[str]:
        if self.provider == "libc":
            return [f"--locale={self.name}"]
        flag = "--icu-locale" if self.provider == "icu" else "--builtin-locale"
        return [f"--locale={LIBC_BESIDE}", f"--locale-provider={self.provider}",
                f"{flag}={self.name}"]

    def create_database_options(self) -> str:
        """The options of CREATE DATABASE ... TEMPLATE template0 that give a
        database this locale (names are checked by parse: no quotes)."""
        if self.provider == "libc":
            return f"LOCALE '{self.name}'"
        option = "ICU_LOCALE" if self.provider == "icu" else "BUILTIN_LOCALE"
        return f"LOCALE_PROVIDER {self.provider} {option} '{self.name}' LOCALE '{LIBC_BESIDE}'"

    @classmethod
    def of_entry(cls, provider_code: str, collate: str, locale: str | None) -> Locale:
        """The locale of a pg_database entry (datlocprovider, datcollate, and
        daticulocale or datlocale)."""
        provider = {"c": "libc", "i": "icu", "b": "builtin"}.get(provider_code, provider_code)
        return cls(provider=provider, name=collate if provider == "libc" else (locale or ""))

    def matches(self, provider_code: str, collate: str, locale: str | None) -> bool:
        """Whether a database's pg_database entry is this locale."""
        other = Locale.of_entry(provider_code, collate, locale)
        return (other.provider == self.provider
                and _normal(other.name).lower() == _normal(self.name).lower())

    @classmethod
    def of_database(cls, conn) -> Locale:
        """The locale of the database conn is connected to."""
        major = conn.info.server_version // 10000
        row = conn.execute(database_locale_sql(major), (conn.info.dbname,)).fetchone()
        return cls.of_entry(*row)


DATABASE_LOCALE_SQL = {
    # datlocprovider is new in 15; daticulocale became datlocale in 17.
    15: "SELECT datlocprovider, datcollate, daticulocale FROM pg_database WHERE datname = %s",
    17: "SELECT datlocprovider, datcollate, datlocale FROM pg_database WHERE datname = %s",
}


def database_locale_sql(major: int) -> str:
    return DATABASE_LOCALE_SQL[17 if major >= 17 else 15]
