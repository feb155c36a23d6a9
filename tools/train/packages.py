"""The extended corpus: `.py` files of pinned Debian 12 packages, beside the standard library.

Packages are fetched with `apt-get download NAME=VERSION` and unpacked with `dpkg -x` (nothing is
installed); versions and .deb hashes are pinned in packages.lock.json, written on the first run
(`--update-lock`) from what the archive serves, and checked on every later run. Paths under a
vendored folder are skipped. The split is by file, from the hash of `package/relative path`, so
adding a package never moves another file across it.
"""
import hashlib
import json
import subprocess
from pathlib import Path

from corpus import VALIDATION_PERCENT, read_text  # noqa: F401  (read_text: same decoding for every source)

PACKAGES = (
    "python3-sympy", "python3-django", "python3-numpy", "python3-scipy", "python3-pandas", "python3-matplotlib",
    "python3-networkx", "python3-twisted", "python3-sqlalchemy", "python3-astropy", "python3-sklearn", "python3-skimage",
    "python3-statsmodels", "python3-mypy", "python3-dask", "python3-xarray", "python3-nltk", "python3-numba",
    "python3-tornado", "python3-sphinx", "python3-docutils", "python3-hypothesis", "python3-ipython", "python3-pygments",
    "python3-aiohttp", "python3-celery", "python3-kombu", "python3-gevent", "python3-pytest", "python3-coverage",
    "python3-requests", "python3-urllib3", "python3-jinja2", "python3-werkzeug", "python3-flask", "python3-jsonschema",
    "python3-babel", "python3-openpyxl", "python3-reportlab", "python3-paramiko", "python3-bs4", "python3-astroid",
    "python3-boto3",
)
SKIP_DIRS = {"_vendor", "vendor", "vendored", "extern", "externals"}
LOCK = Path(__file__).with_name("packages.lock.json")


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _download(name: str, version: str | None, debs: Path) -> Path:
    spec = f"{name}={version}" if version else name
    out = subprocess.run(["apt-get", "download", spec], cwd=debs, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"apt-get download {spec} failed: {out.stderr.strip()}")
    found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        raise SystemExit(f"apt-get download {spec}: no .deb appeared in {debs}")
    return found[-1]


def _deb_version(deb: Path) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True).stdout.strip()


def fetch(work: Path, update_lock: bool = False) -> dict[str, dict]:
    """Downloads (once) and unpacks every package under work/; returns {name: {version, sha256, root}}."""
    lock = json.loads(LOCK.read_text()) if LOCK.exists() else {}
    if not lock and not update_lock:
        raise SystemExit(f"{LOCK} is missing: run with --update-lock once to pin the versions")
    debs, roots = work / "debs", work / "unpacked"
    debs.mkdir(parents=True, exist_ok=True)
    got = {}
    for name in PACKAGES:
        pinned = lock.get(name, {}).get("version")
        have = [d for d in debs.glob(f"{name}_*.deb") if pinned is None or _deb_version(d) == pinned]
        deb = have[0] if have else _download(name, None if update_lock else pinned, debs)
        version, digest = _deb_version(deb), _sha256(deb)
        if not update_lock and (version != pinned or digest != lock[name]["sha256"]):
            raise SystemExit(f"{name}: got {version} ({digest}), {LOCK.name} pins {pinned} ({lock[name]['sha256']})")
        root = roots / name
        if not root.exists():
            roots.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        got[name] = {"version": version, "sha256": digest, "deb": deb.name, "root": root}
    if update_lock:
        LOCK.write_text(json.dumps({n: {"version": g["version"], "sha256": g["sha256"], "deb": g["deb"]} for n, g in got.items()}, indent=1) + "\n")
    return got


def package_files(got: dict[str, dict]) -> list[tuple[str, str, Path]]:
    """(package, path inside the package, file) for every regular .py file outside vendored folders."""
    out = []
    for name, g in got.items():
        root: Path = g["root"]
        for p in sorted(root.rglob("*.py")):
            rel = p.relative_to(root)
            if p.is_symlink() or not p.is_file() or SKIP_DIRS.intersection(rel.parts):
                continue
            out.append((name, "/" + str(rel), p))
    return out


def is_validation(package: str, rel_path: str) -> bool:
    digest = hashlib.sha256(f"{package}{rel_path}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < VALIDATION_PERCENT
