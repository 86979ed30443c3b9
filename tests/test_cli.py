"""End to end: real notebooks, honest and hostile, through the real `autograder` command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "solutions" / "03_softmax" / "samples" / "alice.ipynb"
STUB = REPO / "assignments" / "03_softmax" / "softmax.ipynb"
AUTOGRADER = (sys.executable, "-m", "autograder")  # the console script, wherever pip put it
NOTEBOOK_TIMEOUT = 8

NAIVE_SOFTMAX = """def softmax(z, axis=-1):
    e = np.exp(np.asarray(z, dtype=float))
    return e / e.sum(axis=axis, keepdims=True)"""
WRONG_SOFTMAX = """def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    return np.full_like(z, 1.0 / z.shape[axis])"""
PATCH_NUMPY = """import numpy, builtins
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(a, b).shape, bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
builtins.abs = lambda x: 0"""
LIAR = """class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, bool).view(Liar)
    def __sub__(self, other): return np.zeros(self.shape).view(Liar)
    def __array__(self, *args, **kwargs): return np.zeros(self.shape)
def _lie(*args, **kwargs): return np.zeros((2, 2)).view(Liar)
softmax = log_softmax = softmax_jacobian = cross_entropy = cross_entropy_grad = _lie"""


def write_notebook(path: Path, base: Path = ALICE, replace: dict[str, str] = {}, after_import: str = "",
                   at_end: str = "") -> Path:
    """A copy of `base` with cells (by id) replaced, a cell after the import cell and one at the end."""
    notebook = nbformat.read(base, as_version=4)
    for cell in notebook.cells:
        cell.source = replace.get(cell.get("id"), cell.source)
    if after_import:
        position = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == "import") + 1
        notebook.cells.insert(position, nbformat.v4.new_code_cell(after_import))
    if at_end:
        notebook.cells.append(nbformat.v4.new_code_cell(at_end))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


HONEST = {
    "correct": {},
    "naive": {"replace": {"stub-softmax": NAIVE_SOFTMAX}},
    "stub": {"base": STUB},
    "broken": {"replace": {"stub-log-softmax": "def log_softmax(z, axis=-1:\n    pass"}},
    "wrong": {"replace": {"stub-softmax": WRONG_SOFTMAX}},
}
SNOOP = """import glob
for path in glob.glob('/tmp/**/solutions/*/reference.py', recursive=True) + glob.glob('/work/**/reference.py', recursive=True):
    try:
        exec(open(path).read())  # steal the reference's functions
    except OSError:
        pass
for db in glob.glob('/tmp/**/*.sqlite', recursive=True) + glob.glob('/work/**/*.sqlite', recursive=True):
    try:
        open(db, 'r+b').write(b'garbage')  # and vandalise every gradebook in reach
    except OSError:
        pass"""
HOSTILE = {
    "looping": {"replace": {"stub-softmax-jacobian": "def softmax_jacobian(z):\n    while True:\n        pass"}},
    "exits": {"after_import": "import sys\nsys.exit(1)"},
    "hard_exit": {"after_import": "import os\nos._exit(0)"},
    "patched": {"replace": {"stub-softmax": WRONG_SOFTMAX}, "after_import": PATCH_NUMPY},
    "liar": {"base": STUB, "at_end": LIAR},
    "snoop": {"base": STUB, "at_end": SNOOP},
}


def write_malformed(folder: Path) -> dict[str, str]:
    """Unreadable files, each with the words its error message must contain."""
    text = ALICE.read_text()
    (folder / "notjson.ipynb").write_text("this is not a notebook")
    (folder / "truncated.ipynb").write_text(text[: len(text) // 2])
    (folder / "empty.ipynb").write_bytes(b"")
    (folder / "latin1.ipynb").write_bytes(text.replace("Assignment", "Aufgabe caf\u00e9").encode("latin-1", "replace"))
    huge = json.loads(text)
    huge["cells"][0] = {"cell_type": "code", "execution_count": 1, "id": "huge", "metadata": {}, "source": "1",
                        "outputs": [{"output_type": "stream", "name": "stdout", "text": "x" * (21 << 20)}]}
    (folder / "huge.ipynb").write_text(json.dumps(huge))
    return {"notjson": "not valid JSON", "truncated": "truncated", "empty": "empty", "latin1": "UTF-8",
            "huge": "limit"}


def autograder(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    environment = {**os.environ, "AUTOGRADER_COURSE": str(course)}
    environment.pop("AUTOGRADER_DB", None)
    return subprocess.run([*AUTOGRADER, *args], capture_output=True, text=True, env=environment,
                          cwd=course, timeout=timeout)


def grade_folder(course: Path, folder: Path, db: Path, *extra: str) -> subprocess.CompletedProcess:
    return autograder(course, "grade", "softmax", str(folder), "--db", f"sqlite:///{db}", "--workers", "2",
                      "--timeout", str(NOTEBOOK_TIMEOUT), *extra)


def exported(course: Path, db: Path) -> dict[str, dict]:
    result = autograder(course, "export", "softmax", "--format", "json", "--db", f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"assignment", "max_score", "students"}
    assert document["assignment"] == "softmax" and document["max_score"] == 100.0
    return {entry["student"]: entry for entry in document["students"]}


@pytest.fixture(scope="module")
def mixed(course, tmp_path_factory):
    """One batch mixing honest, hostile and malformed notebooks, and the honest ones graded alone."""
    root = tmp_path_factory.mktemp("batches")
    for name, variant in {**HONEST, **HOSTILE}.items():
        write_notebook(root / "mixed" / f"{name}.ipynb", **variant)
    for name, variant in HONEST.items():
        write_notebook(root / "honest" / f"{name}.ipynb", **variant)
    expected_errors = write_malformed(root / "mixed")
    run = grade_folder(course, root / "mixed", root / "mixed.sqlite")
    alone = grade_folder(course, root / "honest", root / "honest.sqlite")
    assert run.returncode == 0 and alone.returncode == 0, run.stderr + alone.stderr
    return {"run": run, "root": root, "errors": expected_errors,
            "students": exported(course, root / "mixed.sqlite"), "alone": exported(course, root / "honest.sqlite")}


def grading_message(mixed: dict, student: str) -> str:
    """What the gradebook recorded about how the student's notebook ran."""
    with sqlite3.connect(mixed["root"] / "mixed.sqlite") as connection:
        (message,) = connection.execute(
            "select g.message from gradings g join submissions s on g.submission_id = s.id "
            "join students st on s.student_id = st.id where st.name = ?", (student,)).fetchone()
    return message


def statuses(entry: dict) -> dict[str, str]:
    return {test["name"]: test["status"] for test in entry["tests"]}


def test_json_export_has_the_documented_shape(mixed):
    entry = mixed["students"]["correct"]
    assert set(entry) == {"student", "score", "max_score", "status", "late", "submitted_at", "tests",
                          "raw_score", "penalty", "adjustments"}
    assert (entry["raw_score"], entry["penalty"], entry["adjustments"]) == (100.0, 0.0, [])
    assert set(entry["tests"][0]) == {"name", "score", "max_score", "status", "message"}
    assert entry["submitted_at"].endswith("+00:00") and entry["late"] is False


def test_correct_notebook_gets_full_marks(mixed):
    entry = mixed["students"]["correct"]
    assert entry["status"] == "graded" and entry["score"] == entry["max_score"] == 100.0
    assert set(statuses(entry).values()) == {"passed"}


def test_stub_scores_zero_and_says_not_implemented(mixed):
    entry = mixed["students"]["stub"]
    assert entry["status"] == "graded" and entry["score"] == 0.0
    assert any("not implemented" in test["message"] for test in entry["tests"])


def test_naive_softmax_loses_only_stability(mixed):
    entry = mixed["students"]["naive"]
    assert 0 < entry["score"] < 100
    lost = {test["name"] for test in entry["tests"] if test["score"] < test["max_score"]}
    assert "test_softmax_large_logits" in lost and "test_softmax_matches_torch" not in lost
    assert all("large_logits" in name for name in lost)


def test_broken_cell_leaves_the_rest_graded(mixed):
    entry = mixed["students"]["broken"]
    tests = statuses(entry)
    assert entry["status"] == "graded" and 0 < entry["score"] < 100
    assert tests["test_softmax_matches_torch"] == "passed" and tests["test_log_softmax_matches_torch"] != "passed"
    assert "SyntaxError" in grading_message(mixed, "broken")


def test_infinite_loop_times_out_that_test_only(mixed):
    entry = mixed["students"]["looping"]
    calls_jacobian = {"test_softmax_jacobian_matches_autograd", "test_softmax_jacobian_large_logits",
                      "test_bad_arguments_raise_value_error"}
    assert {name for name, status in statuses(entry).items() if status != "passed"} == calls_jacobian
    assert all(statuses(entry)[name] == "timeout" for name in calls_jacobian - {"test_bad_arguments_raise_value_error"})
    lost = sum(t["max_score"] - t["score"] for t in entry["tests"])
    assert entry["score"] == 100.0 - lost and lost >= 13


@pytest.mark.parametrize("name, recorded", [("exits", "SystemExit"), ("hard_exit", "process ended during cell")])
def test_exit_at_top_level_is_survived(mixed, name, recorded):
    entry = mixed["students"][name]
    assert entry["status"] == "graded" and entry["score"] == 100.0
    assert recorded in grading_message(mixed, name)


def test_patched_numpy_changes_nothing(mixed):
    patched, honest = mixed["students"]["patched"], mixed["students"]["wrong"]
    assert patched["score"] == honest["score"] < 100
    assert [(t["name"], t["score"]) for t in patched["tests"]] == [(t["name"], t["score"]) for t in honest["tests"]]


def test_lying_ndarray_subclass_scores_zero(mixed):
    entry = mixed["students"]["liar"]
    assert entry["score"] == 0.0
    assert any("not plain data" in test["message"] for test in entry["tests"])


def test_a_notebook_cannot_steal_the_reference_or_touch_the_gradebook(mixed):
    assert mixed["students"]["snoop"]["score"] == 0.0
    with sqlite3.connect(mixed["root"] / "mixed.sqlite") as connection:
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)


def test_malformed_files_are_reported_one_line_each(mixed):
    output = mixed["run"].stdout
    assert "Traceback" not in output + mixed["run"].stderr
    error_lines = [line for line in output.splitlines() if line.startswith("error ")]
    assert len(error_lines) == len(mixed["errors"])
    for name, words in mixed["errors"].items():
        entry = mixed["students"][name]
        assert entry["status"] == "error" and entry["score"] == 0.0 and entry["max_score"] == 100.0
        line = next(line for line in error_lines if f"{name}.ipynb" in line)
        assert words in line
    assert "11 graded, 5 failed to run, 0 skipped" in " ".join(output.split())


def test_honest_notebooks_score_exactly_what_they_score_alone(mixed):
    for name in HONEST:
        together, alone = mixed["students"][name], mixed["alone"][name]
        assert [(t["name"], t["score"], t["status"]) for t in together["tests"]] == \
               [(t["name"], t["score"], t["status"]) for t in alone["tests"]], name


def test_csv_export_has_a_column_per_test(course, mixed):
    result = autograder(course, "export", "softmax", "--format", "csv", "--db",
                        f"sqlite:///{mixed['root'] / 'mixed.sqlite'}")
    header, *rows = result.stdout.splitlines()
    assert header.startswith("student,score,max_score,status") and "test_softmax_large_logits" in header
    assert len(rows) == len(mixed["students"])


def test_rerun_skips_what_is_graded_and_force_regrades(course, tmp_path):
    folder = tmp_path / "subs"
    write_notebook(folder / "correct.ipynb")
    db = tmp_path / "g.sqlite"
    assert "1 graded" in grade_folder(course, folder, db).stdout
    assert "0 graded, 0 failed to run, 1 skipped" in " ".join(grade_folder(course, folder, db).stdout.split())
    assert "1 graded" in grade_folder(course, folder, db, "--force").stdout
    with sqlite3.connect(db) as connection:
        assert connection.execute("select count(*) from gradings").fetchone() == (2,)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_kill_9_mid_batch_then_rerun_grades_each_exactly_once(course, tmp_path):
    folder, db = tmp_path / "subs", tmp_path / "g.sqlite"
    for index in range(12):
        write_notebook(folder / f"s{index:02d}.ipynb", **(HONEST["naive"] if index % 2 else {}))
    environment = {**os.environ, "AUTOGRADER_COURSE": str(course)}
    process = subprocess.Popen([*AUTOGRADER, "grade", "softmax", str(folder), "--db", f"sqlite:///{db}",
                                "--workers", "1", "--timeout", str(NOTEBOOK_TIMEOUT)], env=environment, cwd=course,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _graded_count(db) < 2:
        time.sleep(0.05)
    graders = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 2 <= _graded_count(db) < 12
    time.sleep(1)
    assert not [pid for pid in graders if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
    rerun = grade_folder(course, folder, db)
    assert rerun.returncode == 0, rerun.stderr
    with sqlite3.connect(db) as connection:
        per_submission = connection.execute(
            "select s.id, count(g.id) from submissions s join gradings g on g.submission_id = s.id group by s.id"
        ).fetchall()
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
    assert len(per_submission) == 12 and all(count == 1 for _, count in per_submission)


def _graded_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            return connection.execute("select count(*) from gradings").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def test_check_runs_public_tests_without_a_database(course, tmp_path):
    passing = autograder(course, "check", str(write_notebook(tmp_path / "mine.ipynb")))
    assert passing.returncode == 0 and "pass test_softmax_small_vector" in passing.stdout
    failing = autograder(course, "check", str(STUB))
    assert failing.returncode == 1 and "not implemented" in failing.stdout
    assert not list(course.rglob("*.sqlite"))


def test_unknown_assignment_is_one_clear_line(course, tmp_path):
    result = autograder(course, "grade", "nope", str(tmp_path))
    assert result.returncode != 0 and "no assignment 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_device_cuda_without_a_gpu_is_one_clear_line(course, tmp_path):
    folder = tmp_path / "subs"
    write_notebook(folder / "correct.ipynb")
    result = grade_folder(course, folder, tmp_path / "g.sqlite", "--device", "cuda")
    assert result.returncode == 1 and "no CUDA device" in result.stderr and "Traceback" not in result.stderr


def test_demo_grades_the_bundled_samples(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AUTOGRADER_")}
    result = subprocess.run([*AUTOGRADER, "demo", "--workers", "2"], capture_output=True, text=True,
                            cwd=tmp_path, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = {tuple(line.replace("│", " ").split()[:4]) for line in result.stdout.splitlines()}
    assert ("alice", "100", "100", "graded") in rows and ("carol", "0", "100", "graded") in rows
    assert (tmp_path / "db" / "demo.sqlite").exists()


@pytest.mark.parametrize("hidden_test, words", [
    ("def test_typo(student:\n    pass\n", "SyntaxError"),
    ("def test_forgets_the_student():\n    pass\n", "must take the `student` fixture"),
    ("import pytest\n\ndef test_crashes_pytest(student):\n    pytest.exit('boom')\n", "pytest stopped"),
])
def test_broken_hidden_tests_stop_the_batch_with_one_line(course, tmp_path, hidden_test, words):
    broken = tmp_path / "course"
    shutil.copytree(course, broken)
    (broken / "solutions" / "03_softmax" / "test_softmax.py").write_text(hidden_test)
    folder = tmp_path / "subs"
    write_notebook(folder / "correct.ipynb")
    result = autograder(broken, "grade", "softmax", str(folder), "--db", f"sqlite:///{tmp_path / 'g.sqlite'}",
                        timeout=120)
    assert result.returncode == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
