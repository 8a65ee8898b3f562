"""Exit statuses, run folders and user errors of `crawler crawl` (real subprocesses, local servers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.registry import REGISTRY_PATH, parse_registry


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    """The command failed with `code` and said `message` on exactly one line, with no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr and "please report it" not in result.stderr


# -- item 8: user errors are user errors ------------------------------------------------------------


def test_out_and_job_on_a_file_or_where_nothing_can_be_written(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n", encoding="utf-8")
    state = ["--state", str(tmp_path / "state.sqlite")]
    one_line_error(cli("crawl", "http://127.0.0.1:9/", "--out", str(a_file), *state), 2, "is a file, not a folder")
    one_line_error(
        cli("crawl", "http://127.0.0.1:9/", "--out", str(a_file / "run"), *state), 2, "cannot write in --out folder"
    )
    one_line_error(
        cli("crawl", "http://127.0.0.1:9/", "--out", str(tmp_path / "run"), "--job", str(a_file), *state),
        2,
        "--job folder",
    )
    assert a_file.read_text(encoding="utf-8") == "not a folder\n"
    if os.geteuid() != 0:  # root writes into a read-only folder all the same
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        one_line_error(
            cli("crawl", "http://127.0.0.1:9/", "--out", str(locked / "run"), *state), 2, "cannot write in"
        )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("CONCURRENT_REQUESTS=x", "CONCURRENT_REQUESTS must be a whole number"),
        ("LOG_LEVEL=LOUD", "-s LOG_LEVEL takes DEBUG"),
        ("DEPTH_LIMIT=1.5", "-s DEPTH_LIMIT takes a whole number"),
        ("DNS_TIMEOUT=soon", "-s DNS_TIMEOUT takes a number"),
        ("ROBOTSTXT_OBEY=maybe", "-s ROBOTSTXT_OBEY takes True or False"),
        ("DEFAULT_REQUEST_HEADERS=Accept", "-s DEFAULT_REQUEST_HEADERS takes a JSON object"),
        ("ITEM_PIPELINES=[1]", "-s ITEM_PIPELINES takes a JSON object"),
        ("FILES_STORE={tmp}/a-file/files", "FILES_STORE folder"),
        ("LOG_FILE={tmp}/a-file/crawl.log", "LOG_FILE folder"),
    ],
)
def test_bad_values_of_scrapy_settings_are_one_line(setting: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    result = cli(
        "crawl",
        "http://127.0.0.1:9/",
        "--out",
        str(tmp_path / "run"),
        "--state",
        str(tmp_path / "state.sqlite"),
        "--download-attachments",
        "-s",
        setting.format(tmp=tmp_path),
    )
    one_line_error(result, 2, message)


def test_good_values_of_scrapy_settings_pass_the_check() -> None:
    from crawler.cli import check_setting_value

    for name, value in [
        ("LOG_LEVEL", "debug"),
        ("DEPTH_LIMIT", "3"),
        ("DOWNLOAD_TIMEOUT", "2.5"),
        ("ROBOTSTXT_OBEY", "False"),
        ("TELNETCONSOLE_ENABLED", "0"),
        ("DEFAULT_REQUEST_HEADERS", '{"Accept-Language": "vi"}'),
        ("USER_AGENT", "anything at all"),
        ("SOME_SETTING_OF_OURS", "x"),
    ]:
        check_setting_value(name, value)


def test_record_fixture_without_its_files(tmp_path: Path) -> None:
    one_line_error(cli("record-fixture", str(tmp_path / "absent")), 2, "no fixture folder")
    case = tmp_path / "case"
    case.mkdir()
    one_line_error(cli("record-fixture", str(case)), 2, "lacks meta.json and page.html")
    (case / "page.html").write_text("<html><body><p>x</p></body></html>", encoding="utf-8")
    (case / "meta.json").write_text("{not json", encoding="utf-8")
    one_line_error(cli("record-fixture", str(case)), 2, "is not valid JSON")
    (case / "meta.json").write_text("{}", encoding="utf-8")
    one_line_error(cli("record-fixture", str(case)), 2, "lacks 'url'")
    assert not (case / "expected.json").exists()


def _add_portal(registry: Path, fixtures: Path, slug: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = {"--name": "Sở Thông tin và Truyền thông Đắk Lắk", "--url": "https://stttt.daklak.gov.vn/", "--code": "66"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    flat = [part for pair in args.items() for part in pair]
    return cli("add-portal", slug, *flat, "--registry", str(registry), "--fixtures", str(fixtures))


@pytest.mark.parametrize(
    ("slug", "extra", "message"),
    [
        ("../evil", (), "slug '../evil' must be lower-case ASCII"),
        ("a/b", (), "slug 'a/b' must be lower-case"),
        ("Dak-Lak", (), "slug 'Dak-Lak' must be lower-case"),
        ("đắk-lắk", (), "must be lower-case ASCII"),
        ("dak--lak", (), "must be lower-case"),
        ("dak-", (), "must be lower-case"),
        ("dak-lak", ("--code", "6"), "code '6' must be a two-digit GSO province code"),
        ("dak-lak", ("--code", "../66"), "must be a two-digit"),
        ("dak-lak", ("--legacy-code", "xx"), "legacy code 'xx' must be"),
        ("dak-lak", ("--legacy-code", "99"), "legacy code '99' must be"),
        ("dak-lak", ("--name", "Sở\nTTTT"), "must be non-empty text without control characters"),
        ("dak-lak", ("--name", "Sở\x1b[31mTTTT"), "without control characters"),
        ("dak-lak", ("--name", "  "), "must be non-empty"),
        ("dak-lak", ("--feed", "https://stttt.daklak.gov.vn/rss\n"), "has spaces or control characters"),
    ],
)
def test_add_portal_refuses_bad_slugs_codes_and_names(
    slug: str, extra: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    registry = tmp_path / "portals.toml"
    original = REGISTRY_PATH.read_text(encoding="utf-8")
    registry.write_text(original, encoding="utf-8")
    result = _add_portal(registry, tmp_path / "fx", slug, *extra)
    one_line_error(result, 2, message)
    assert registry.read_text(encoding="utf-8") == original
    assert not (tmp_path / "fx").exists() and not (tmp_path / "evil").exists()


def test_add_portal_writes_quotes_and_backslashes_as_toml(tmp_path: Path) -> None:
    registry = tmp_path / "portals.toml"
    registry.write_text(REGISTRY_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    name = 'Báo "Đắk Lắk" \\ điện tử'
    result = _add_portal(registry, tmp_path / "fx", "bao-dak-lak", "--name", name, "--legacy-code", "66")
    assert result.returncode == 0, result.stderr
    entry = parse_registry(registry.read_text(encoding="utf-8")).get("bao-dak-lak")
    assert entry is not None and entry.name == name and entry.legacy_code == "66"
    one_line_error(
        cli("add-portal", "x-y", "--name", "X", "--url", "https://x.vn/", "--code", "66", "--registry", str(tmp_path)),
        2,
        "no registry file",
    )
