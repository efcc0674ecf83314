"""bench --baseline: a commit's files extracted for a side-by-side measurement."""

from pathlib import Path

import pytest

from bench.baseline import describe, extracted_tree

REPO = Path(__file__).resolve().parents[2]


def test_extracts_the_commit_and_removes_it_afterwards() -> None:
    with extracted_tree(REPO, "HEAD") as tree:
        assert (tree / "bench" / "run_one.py").is_file()
        assert not (tree / ".git").exists()
    assert not tree.exists()
    sha, _, subject = describe(REPO, "HEAD").partition(" ")
    assert len(sha) >= 7 and subject


def test_an_unknown_ref_names_the_ref() -> None:
    with pytest.raises(SystemExit, match="--baseline no-such-ref: git archive failed"):
        with extracted_tree(REPO, "no-such-ref"):
            pass
