"""The training corpus: Python 3.11 standard-library sources as Debian packages them.

Files come from the Debian packages' own file lists (not a directory walk), so the corpus does not
change when unrelated packages drop extra modules under /usr/lib/python3.11. The split is by file and
depends only on each file's path, so adding or removing a file never moves another file across it.
"""
import hashlib
import subprocess
import sysconfig
from pathlib import Path

STDLIB_PACKAGES = ("libpython3.11-minimal", "libpython3.11-stdlib", "python3.11", "python3.11-minimal")
VALIDATION_PERCENT = 6  # by file; >= 5% of files, never trained on


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def list_corpus_files() -> list[Path]:
    root = stdlib_dir()
    files: set[Path] = set()
    for pkg in STDLIB_PACKAGES:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
        if out.returncode != 0:
            continue
        for line in out.stdout.splitlines():
            p = Path(line)
            if p.suffix == ".py" and root in p.parents and "dist-packages" not in p.parts and p.is_file():
                files.add(p)
    if not files:
        raise SystemExit(f"no stdlib sources found via dpkg for {STDLIB_PACKAGES}; is python3.11 installed?")
    return sorted(files, key=lambda p: str(p.relative_to(root)))


def is_validation(rel_path: str) -> bool:
    digest = hashlib.sha256(rel_path.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < VALIDATION_PERCENT


def split_corpus() -> tuple[list[Path], list[Path]]:
    root = stdlib_dir()
    train, val = [], []
    for p in list_corpus_files():
        (val if is_validation(str(p.relative_to(root))) else train).append(p)
    return train, val


def read_text(p: Path) -> str:
    # a stray non-UTF-8 byte becomes U+FFFD rather than dropping the file
    return p.read_bytes().decode("utf-8", errors="replace")


def file_list_hash(files: list[Path]) -> str:
    """sha256 over 'relative_path sha256(content)' lines: pins both the list and the contents."""
    root = stdlib_dir()
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(root)} {hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()
