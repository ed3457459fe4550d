"""The token viewer's client: the tokenizer lab's helper process cuts text exactly as tiktoken
does, and every way the helper can fail is one TokenizerServerError line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from labs.tokenizer import encodings  # tiktoken Encodings from the shipped files, offline
from studytui.runs.token_client import TokenizerClient, TokenizerServerError

ROOT = Path(__file__).resolve().parents[1]
TEXT = "Hello world, naïve 🦙 tokens!"


@pytest.fixture
def client():
    c = TokenizerClient()
    yield c
    c.close()


def helper(tmp_path: Path, monkeypatch, body: str) -> TokenizerClient:
    """A client whose helper is `body`, a module found only through the caller's PYTHONPATH."""
    (tmp_path / "fake_helper.py").write_text(textwrap.dedent(body), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return TokenizerClient(import_root=ROOT, module="fake_helper")


def test_the_helper_cuts_text_as_tiktoken_does(client):
    results = client.encode(TEXT, ["gpt2", "cl100k_base"])
    assert [r.name for r in results] == ["gpt2", "cl100k_base"]
    for r in results:
        expected = encodings.get_encoding(r.name)
        assert r.error is None
        assert r.ids == expected.encode(TEXT)
        assert r.tokens == [expected.decode_single_token_bytes(i) for i in r.ids]
        assert b"".join(r.tokens) == TEXT.encode("utf-8")
    # the same process answers again
    pid = client._proc.pid
    assert client.encode("again", ["gpt2"])[0].ids == encodings.get_encoding("gpt2").encode("again")
    assert client._proc.pid == pid


def test_a_tokenizer_that_cannot_load_answers_with_its_error(client, tmp_path):
    (bad,) = client.encode("x", [str(tmp_path / "missing.model")])
    assert bad.ids == [] and bad.tokens == []
    assert bad.error and "\n" not in bad.error


def test_close_ends_the_helper_and_the_next_encode_starts_another(client):
    client.encode("a", ["gpt2"])
    proc = client._proc
    client.close()
    assert proc.poll() is not None and client._proc is None
    client.close()  # twice is harmless
    assert client.encode("a", ["gpt2"])[0].ids == [64]


def test_the_callers_pythonpath_is_kept(tmp_path, monkeypatch):
    fake = helper(
        tmp_path,
        monkeypatch,
        """
        import json, sys
        for line in sys.stdin:
            print(json.dumps({"results": [{"name": "fake", "ids": [7], "tokens": ["6869"], "error": None}]}), flush=True)
        """,
    )
    try:
        (r,) = fake.encode("hi", ["fake"])
    finally:
        fake.close()
    assert (r.name, r.ids, r.tokens, r.error) == ("fake", [7], [b"hi"], None)


def test_a_helper_that_exits_is_one_line_and_restarted_next_time(tmp_path, monkeypatch):
    fake = helper(tmp_path, monkeypatch, "import sys; sys.exit(0)\n")
    for _ in range(2):
        with pytest.raises(TokenizerServerError, match=r"^the tokenizer helper exited \(is the tokenizer"):
            fake.encode("x", ["gpt2"])
        assert fake._proc is None


@pytest.mark.parametrize(
    "answer",
    [
        "not json",
        '{"no": "results"}',
        '{"results": [{"ids": []}]}',
        '{"results": [{"name": "x", "tokens": ["zz"]}]}',
    ],
)
def test_a_helper_that_answers_nonsense_is_one_line(tmp_path, monkeypatch, answer):
    fake = helper(
        tmp_path,
        monkeypatch,
        f"""
        import sys
        for line in sys.stdin:
            print({answer!r}, flush=True)
        """,
    )
    try:
        with pytest.raises(TokenizerServerError, match="^the tokenizer helper answered nonsense: "):
            fake.encode("x", ["gpt2"])
    finally:
        fake.close()


def test_a_helper_that_cannot_start_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/no/such/python")
    with pytest.raises(TokenizerServerError, match="^could not start the tokenizer helper: "):
        TokenizerClient(import_root=ROOT).encode("x", ["gpt2"])


ECHO = """
import json, sys
for line in sys.stdin:
    print(json.dumps({"results": [{"name": "fake", "ids": [1], "tokens": ["61"], "error": None}]}), flush=True)
"""


def test_the_import_root_given_is_where_the_helper_is_found(tmp_path, monkeypatch):
    """Not the installed tokenizer lab's root: the one the client was given (a labs path)."""
    (tmp_path / "fake_helper.py").write_text(ECHO, encoding="utf-8")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    fake = TokenizerClient(import_root=tmp_path, module="fake_helper")
    try:
        assert fake.encode("a", ["fake"])[0].ids == [1]
    finally:
        fake.close()


def test_the_helpers_stderr_never_reaches_the_terminal(tmp_path, monkeypatch, capfd):
    """Under the TUI a helper's warning on our stderr would write over the screen."""
    (tmp_path / "fake_helper.py").write_text(
        "import sys\nprint('noise', file=sys.stderr, flush=True)\n" + ECHO
    )
    fake = TokenizerClient(import_root=tmp_path, module="fake_helper")
    try:
        fake.encode("a", ["fake"])
    finally:
        fake.close()
    assert "noise" not in capfd.readouterr().err


def test_a_helper_gone_while_we_write_is_one_line(tmp_path, monkeypatch):
    """More text than a pipe holds, to a helper that never reads: the write itself fails."""
    fake = helper(tmp_path, monkeypatch, "import sys; sys.exit(0)\n")
    with pytest.raises(TokenizerServerError, match=r"^the tokenizer helper exited"):
        fake.encode("x" * 1_000_000, ["gpt2"])


def test_no_tokenizer_lab_is_the_manifests_own_one_line(monkeypatch):
    from studytui.runs import token_client

    def no_lab(name):
        raise ValueError(f"unknown lab {name!r}")

    monkeypatch.setattr(token_client, "get_manifest", no_lab)
    with pytest.raises(TokenizerServerError, match="^unknown lab 'tokenizer'$"):
        TokenizerClient().encode("x", ["gpt2"])
