"""The files of deploy/ agree with the code: the example environment is a valid production
configuration, every variable it sets is documented, the systemd units run the project's
commands on queues that exist, and nginx accepts the largest upload the application does.

(systemd-analyze verify and nginx -t were run on them by hand: deploy/README.md. They are not
in the suite, which needs neither systemd nor nginx.)
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from access_requests.services.messages import MAX_MESSAGE_ATTACHMENTS
from hdh_access.celery import app

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
FILLED = {  # what an operator puts in place of each <placeholder> of hdh.env.example
    "SECRET_KEY": "x" * 30 + "-production-secret-key-from-the-environment-123456",
    "HDH_HEALTHZ_TOKEN": "jeton-de-supervision-assez-long-0123456789",
}


def example_environment() -> dict[str, str]:
    """hdh.env.example read as systemd reads an EnvironmentFile (KEY=value, optional double quotes)."""
    values = {}
    for line in (DEPLOY / "hdh.env.example").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values[name.strip()] = FILLED.get(name.strip(), re.sub(r"<[^>]*>", "secret", value))
    return values


def exec_start(unit: str) -> list[str]:
    lines = [line for line in (DEPLOY / unit).read_text().splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, unit
    return shlex.split(lines[0].removeprefix("ExecStart="))


def test_the_example_environment_passes_check_deploy():
    env = {"PATH": os.environ["PATH"], **example_environment()}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_every_variable_of_the_example_environment_is_documented():
    documented = (ROOT / "docs" / "operations.md").read_text()
    assert [name for name in example_environment() if f"`{name}`" not in documented] == []


def test_the_units_run_the_project_commands_and_beat_in_its_own_unit_only():
    assert exec_start("hdh-web.service")[1:] == ["-c", "gunicorn.conf.py", "hdh_access.wsgi"]
    for unit in ("hdh-worker.service", "hdh-worker@.service"):
        command = exec_start(unit)
        assert command[1:4] == ["-A", "hdh_access", "worker"], unit
        assert "-B" not in command and "--beat" not in command, unit
        assert "\nNice=10\n" in (DEPLOY / unit).read_text(), unit  # the web comes first
    assert 'nice -n 10 "$BIN/celery" --app hdh_access worker' in (DEPLOY / "serve.sh").read_text()
    assert "-Q" not in exec_start("hdh-worker.service")  # every queue
    assert exec_start("hdh-worker@.service")[exec_start("hdh-worker@.service").index("-Q") + 1] == "%i"
    assert exec_start("hdh-beat.service")[1:4] == ["-A", "hdh_access", "beat"]
    for unit in DEPLOY.glob("*.service"):
        assert "EnvironmentFile=/etc/hdh-access/hdh.env" in unit.read_text(), unit.name


def test_the_per_queue_instances_the_readme_enables_are_the_queues_of_the_settings():
    readme = (DEPLOY / "README.md").read_text()
    enable = next(line for line in readme.splitlines() if "enable --now hdh-worker@" in line)
    assert set(re.findall(r"hdh-worker@(\w+)", enable)) == set(app.amqp.queues)


def test_nginx_accepts_the_largest_message_the_application_accepts():
    """A message with MAX_MESSAGE_ATTACHMENTS files of MAX_ATTACHMENT_BYTES, plus 1 MiB of form."""
    limit = re.search(r"^\s*client_max_body_size (\d+)m;", (DEPLOY / "nginx.conf.example").read_text(), re.M)
    attachment = int(example_environment()["MAX_ATTACHMENT_BYTES"])
    assert limit and int(limit[1]) * 2**20 == MAX_MESSAGE_ATTACHMENTS * attachment + 2**20
