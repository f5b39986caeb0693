"""download() for real, against an HTTP server on 127.0.0.1 serving Alexandria-format files."""

import bz2
import functools
import hashlib
import http.server
import json
import socket
import threading
import time

import pytest

from matfuse.sources.alexandria import DownloadError, download, iter_entries


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; `/short/<name>` announces 1000 more bytes than it sends, then hangs up."""

    def do_GET(self):
        if self.path.startswith("/short/"):
            body = (self.directory_path / self.path.removeprefix("/short/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory, alexandria_sample):
    """A folder of files on a local HTTP server: a valid Alexandria file and broken variants."""
    root = tmp_path_factory.mktemp("served")
    entries = list(iter_entries(alexandria_sample))[:20]
    good = bz2.compress(json.dumps({"entries": entries}).encode())
    (root / "alexandria_000.json.bz2").write_bytes(good)
    (root / "truncated.json.bz2").write_bytes(good[: len(good) // 2])
    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2] ^= 0xFF
    (root / "corrupt.json.bz2").write_bytes(bytes(corrupt))
    (root / "not_alexandria.json.bz2").write_bytes(bz2.compress(b'{"rows": [1, 2]}'))
    (root / "cut_json.json.bz2").write_bytes(
        bz2.compress(json.dumps({"entries": entries})[:-500].encode())
    )
    handler = functools.partial(Handler, directory=str(root))
    Handler.directory_path = root
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_download_verifies_and_records_the_sha256(tmp_path, served):
    base, root = served
    expected = hashlib.sha256((root / "alexandria_000.json.bz2").read_bytes()).hexdigest()
    dest = tmp_path / "resources" / "alexandria_000.json.bz2"
    assert download(f"{base}/alexandria_000.json.bz2", dest) == expected
    assert dest.read_bytes() == (root / "alexandria_000.json.bz2").read_bytes()
    assert (tmp_path / "resources" / "alexandria_000.json.bz2.sha256").read_text() == (
        f"{expected}  alexandria_000.json.bz2\n"
    )
    assert len(list(iter_entries(dest))) == 20
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name, dest.name + ".sha256"]
    # the same download with the right pin passes
    download(f"{base}/alexandria_000.json.bz2", tmp_path / "again.json.bz2", sha256=expected)


def test_pin_mismatch_fails_and_leaves_nothing(tmp_path, served):
    base, _ = served
    dest = tmp_path / "alexandria_000.json.bz2"
    with pytest.raises(DownloadError, match=r"sha256 [0-9a-f]{64} differs from the pinned 0{64}"):
        download(f"{base}/alexandria_000.json.bz2", dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("truncated.json.bz2", "corrupt or truncated file"),
        ("corrupt.json.bz2", "corrupt or truncated file"),
        ("cut_json.json.bz2", "corrupt or truncated file"),
        ("not_alexandria.json.bz2", "not an Alexandria file"),
    ],
)
def test_broken_files_fail_and_leave_nothing(tmp_path, served, name, message):
    base, _ = served
    with pytest.raises(DownloadError, match=message):
        download(f"{base}/{name}", tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_transfer_cut_short_is_caught_by_content_length(tmp_path, served):
    base, _ = served
    with pytest.raises(DownloadError, match="server announced .*: the transfer was cut short"):
        download(f"{base}/short/alexandria_000.json.bz2", tmp_path / "a.json.bz2")
    assert list(tmp_path.iterdir()) == []


def test_missing_file_names_the_http_status(tmp_path, served):
    base, _ = served
    with pytest.raises(DownloadError, match="HTTP 404 .*data.alexandria.base_url"):
        download(f"{base}/alexandria_099.json.bz2", tmp_path / "a.json.bz2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_fails_fast_naming_the_local_alternatives(tmp_path):
    with pytest.raises(DownloadError) as error:
        download(f"http://127.0.0.1:{free_port()}/alexandria_000.json.bz2", tmp_path / "a.json.bz2")
    message = str(error.value)
    assert "cannot reach" in message
    assert "data.alexandria.local_files" in message and "MATFUSE_ALEXANDRIA_FILES" in message
    assert list(tmp_path.iterdir()) == []


def test_silent_server_times_out_instead_of_hanging(tmp_path):
    """A server that accepts the connection and never answers: bounded by `timeout`."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/alexandria_000.json.bz2"
        start = time.monotonic()
        with pytest.raises(DownloadError, match="cannot reach .*data.alexandria.local_files"):
            download(url, tmp_path / "a.json.bz2", timeout=0.5)
        assert time.monotonic() - start < 5  # a guard against hanging, not a speed target
