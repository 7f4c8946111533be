"""Start the test provider in its own process, load its clients and users, and stop it by its pid.

Its database, its log and the JSON files given to its ``provider_load`` command live in a
temporary folder, deleted when it stops: the tests leave no file behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import answers_http, free_port, log_tail, server_environment, stop, wait_until

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_PASSWORD = "Provider-Password-7"


@dataclass
class Provider:
    url: str  # http://127.0.0.1:<port>
    folder: Path
    env: dict[str, str]

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def manage(self, *args: str) -> str:
        """Run one of the provider's management commands; its standard output."""
        result = subprocess.run([sys.executable, "-m", "django", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"provider {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def load(self, *, clients: Sequence[dict] = (), users: Sequence[dict] = ()) -> dict[str, str]:
        """Register clients and create users; each user's email → sub."""
        path = self.folder / "load.json"
        path.write_text(json.dumps({"clients": list(clients), "users": list(users)}))
        try:
            return json.loads(self.manage("provider_load", str(path)).strip().splitlines()[-1])
        finally:
            path.unlink()

    def add_user(self, email: str, *, siret: str = "", given_name: str = "Camille", usual_name: str = "Martin",
                 email_verified: bool | None = None, uid: str = "") -> str:
        """A person who can sign in at the provider (password ``PROVIDER_PASSWORD``); their ``sub``."""
        return self.load(users=[{"email": email, "password": PROVIDER_PASSWORD, "given_name": given_name,
                                 "usual_name": usual_name, "siret": siret, "uid": uid or email,
                                 "email_verified": email_verified}])[email]


@contextmanager
def running_provider(*, clients: list[dict]) -> Iterator[Provider]:
    """The provider, serving on a free port of 127.0.0.1 with ``clients`` registered."""
    folder = Path(tempfile.mkdtemp(prefix="hdh-oidc-provider-"))
    url = f"http://127.0.0.1:{free_port()}"
    env = server_environment(DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings", OIDC_PROVIDER_URL=url,
                             OIDC_PROVIDER_DATABASE=str(folder / "provider.sqlite3"), PYTHONDONTWRITEBYTECODE="1")
    provider = Provider(url=url, folder=folder, env=env)
    process = None
    log = folder / "provider.log"
    try:
        provider.manage("migrate", "--run-syncdb", "--noinput", "-v", "0")
        provider.load(clients=clients)
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", url.removeprefix("http://"), "--noreload",
                 "--skip-checks"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        wait_until(lambda: answers_http(f"{provider.issuer}/.well-known/openid-configuration"), timeout=30,
                   what="the test OpenID Connect provider", process=process, log=log)
        yield provider
    except BaseException:
        if log.exists():
            sys.stderr.write(f"--- test OpenID Connect provider's log ---\n{log_tail(log)}\n")
        raise
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(folder, ignore_errors=True)
