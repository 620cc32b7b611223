"""The search path, versions, includes and the refusal of changed content."""

import os
import threading
from pathlib import Path

import pytest

from question_sets import (
    ENV_VAR,
    QuestionSetError,
    UnknownSetError,
    list_sets,
    load_file,
    load_set,
    search_path,
    validate_file,
)
from question_sets.loader import PACKAGE_DIR, _Catalog, _files

ADULT = PACKAGE_DIR / "hmip-adult-2018-1.0.yaml"


def write_set(folder: Path, set_id: str, version: str = "1.0", title: str = "T",
              includes: str = "", name: str | None = None) -> Path:
    path = folder / (name or f"{set_id}-{version}.yaml")
    path.write_text(f"""\
id: {set_id}
version: "{version}"
title: {title}
{includes}
sections:
  - id: s_{set_id.replace('-', '_')}
    title: S
    questions:
      - id: {set_id}.q
        text: Q?
        type: yes_no
""")
    return path


def test_search_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = (tmp_path / n for n in "abc")
    monkeypatch.setenv(ENV_VAR, os.pathsep.join([str(b), "", str(c)]))
    assert search_path([a]) == (a, b, c, PACKAGE_DIR)


def test_sets_are_found_in_extra_dirs_and_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra, env = tmp_path / "extra", tmp_path / "env"
    extra.mkdir()
    env.mkdir()
    write_set(extra, "local")
    write_set(env, "from-env")
    with pytest.raises(UnknownSetError, match="no question set 'local'"):
        load_set("local")
    assert load_set("local", extra_dirs=[extra]).id == "local"
    monkeypatch.setenv(ENV_VAR, str(env))
    assert load_set("from-env").title == "T"
    assert {s.id for s in list_sets([extra])} == {
        "local", "from-env", "hmip-adult-2018", "iom-thematic-2019"}


def test_highest_version_unless_one_is_asked_for(tmp_path: Path) -> None:
    for version in ("1.9", "1.10", "1.2"):
        write_set(tmp_path, "v", version, title=f"T{version}")
    assert load_set("v", extra_dirs=[tmp_path]).version == "1.10"
    assert load_set("v", "1.9", [tmp_path]).title == "T1.9"
    with pytest.raises(UnknownSetError, match=r"no version 2.0 of question set 'v' "
                                              r"\(known: 1.2, 1.9, 1.10\)"):
        load_set("v", "2.0", [tmp_path])


def test_same_id_and_version_with_other_content_is_refused(tmp_path: Path) -> None:
    changed = tmp_path / "adult-copy.yaml"
    changed.write_text(ADULT.read_text().replace(
        "title: HMI Probation adult case supervision standards (2018)", "title: Changed"))
    with pytest.raises(QuestionSetError, match="has different content") as info:
        load_set("hmip-adult-2018", "1.0", extra_dirs=[tmp_path])
    assert str(changed) in str(info.value) and str(ADULT) in str(info.value)
    # Validating the changed file says so, at its version.
    [problem] = validate_file(changed, [tmp_path])
    assert (problem.line, problem.column) == (11, 10)
    assert problem.message == (
        f"question set hmip-adult-2018 version 1.0 is already known with different content "
        f"({ADULT}); give this file a new version")
    # A new version is fine, and an identical copy is not a conflict.
    changed.write_text(changed.read_text().replace('version: "1.0"', 'version: "1.9"'))
    assert load_set("hmip-adult-2018", extra_dirs=[tmp_path]).version == "1.9"
    (tmp_path / "same.yaml").write_text(ADULT.read_text())
    assert load_set("hmip-adult-2018", "1.0", [tmp_path]).digest == load_set(
        "hmip-adult-2018", "1.0").digest


def test_an_edited_file_is_reloaded(tmp_path: Path) -> None:
    path = write_set(tmp_path, "edit", title="Before")
    assert load_set("edit", extra_dirs=[tmp_path]).title == "Before"
    write_set(tmp_path, "edit", title="After, longer")
    assert load_set("edit", extra_dirs=[tmp_path]).title == "After, longer"
    assert load_file(path).title == "After, longer"


def test_includes_resolve_on_the_search_path(tmp_path: Path) -> None:
    write_set(tmp_path, "base")
    write_set(tmp_path, "top", includes="includes: [base]")
    top = load_set("top", extra_dirs=[tmp_path])
    assert [q.id for q in top.questions] == ["base.q", "top.q"]
    assert top.includes == ("base@1.0",)


def test_include_cycle_is_an_error_not_a_hang(tmp_path: Path) -> None:
    write_set(tmp_path, "one", includes="includes: [two]")
    write_set(tmp_path, "two", includes="includes: [one]")
    with pytest.raises(QuestionSetError, match="include cycle: one@1.0 -> two@1.0 -> one@1.0"):
        load_set("one", extra_dirs=[tmp_path])


def test_a_broken_include_is_reported_where_it_is_included(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text('id: broken\nversion: "1.0"\ntitle: B\nsections: []\n')
    top = write_set(tmp_path, "top", includes="includes: [broken]")
    [problem] = validate_file(top, [tmp_path])
    assert (problem.line, problem.column) == (4, 12)
    assert problem.message.startswith("include 'broken' does not load: question set broken@1.0")


def test_list_sets_fails_loudly_on_a_broken_set(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text('id: broken\nversion: "1.0"\ntitle: B\nsections: []\n')
    with pytest.raises(QuestionSetError, match="broken"):
        list_sets([tmp_path])


def test_an_unreadable_file_is_named_not_silently_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nversion: '1.0'\ntitle: [unclosed\n")
    with pytest.raises(UnknownSetError, match=f"could not read the id and version of {bad}"):
        load_set("bad", extra_dirs=[tmp_path])
    with pytest.raises(QuestionSetError, match=f"{bad} is not a valid question set: {bad}:4:1"):
        list_sets([tmp_path])


def test_threads_loading_a_set_at_once_all_get_it() -> None:
    """The catalog is shared by the app's threads (its workers and the comparison's
    background preload): two first loads of a set at once once failed with 'include
    cycle: iom-thematic-2019@1.0 -> iom-thematic-2019@1.0' (the include chain was one
    list for every thread)."""
    files = _files(search_path())
    for _ in range(3):
        catalog = _Catalog(files)  # fresh: nothing checked yet
        start = threading.Barrier(4)
        loaded: list[object] = []
        failed: list[BaseException] = []
        threads = [threading.Thread(target=_load_after, args=(catalog, start, loaded, failed))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failed == []
        assert len(loaded) == 4 and all(qs is loaded[0] for qs in loaded)


def _load_after(catalog: _Catalog, start: threading.Barrier, loaded: list[object],
                failed: list[BaseException]) -> None:
    start.wait()
    try:
        loaded.append(catalog.load("iom-thematic-2019"))
    except Exception as exc:  # noqa: BLE001  (what the threads met is the result)
        failed.append(exc)
