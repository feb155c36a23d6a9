"""Write the train/validation file lists (with their content hashes) for encode_corpus.ts and the model card.

--packages adds the pinned Debian packages of packages.py to the standard library; the stdlib
validation files stay in validation either way, and a manifest (package, version, path, sha256 of
content) of every file used is written beside the lists.
"""
import argparse
import hashlib
import json
from pathlib import Path

import corpus
import packages

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--out", type=Path, required=True)
ap.add_argument("--max-files", type=int, default=0, help="keep only the first N files of each split (smoke runs)")
ap.add_argument("--packages", action="store_true", help="add the Debian packages of packages.py")
ap.add_argument("--work", type=Path, default=Path(__file__).parent / "work" / "packages", help="where packages are downloaded and unpacked")
ap.add_argument("--update-lock", action="store_true", help="pin the versions the archive serves now (first run)")
args = ap.parse_args()
train, val = corpus.split_corpus()
root = corpus.stdlib_dir()
manifest = [{"package": "python3.11-stdlib", "version": "", "path": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
             "split": "val" if p in set(val) else "train"} for p in sorted(train + val)]
versions = {}
if args.packages:
    got = packages.fetch(args.work, update_lock=args.update_lock)
    versions = {n: g["version"] for n, g in got.items()}
    for name, rel, p in packages.package_files(got):
        is_val = packages.is_validation(name, rel)
        (val if is_val else train).append(p)
        manifest.append({"package": name, "version": versions[name], "path": rel, "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                         "split": "val" if is_val else "train"})
if args.max_files:
    train, val = train[: args.max_files], val[: max(1, args.max_files // 10)]
listing = {
    "root": str(root),
    "packages": list(corpus.STDLIB_PACKAGES) + list(versions),
    "package_versions": versions,
    "validation_percent": corpus.VALIDATION_PERCENT,
    "train": [str(p) for p in train],
    "val": [str(p) for p in val],
    "train_sha256": hashlib.sha256("".join(f"{p} {m}\n" for p, m in ((e["path"], e["sha256"]) for e in manifest if e["split"] == "train")).encode()).hexdigest(),
    "val_sha256": hashlib.sha256("".join(f"{p} {m}\n" for p, m in ((e["path"], e["sha256"]) for e in manifest if e["split"] == "val")).encode()).hexdigest(),
}
if not args.packages:  # the stdlib-only recipe keeps its historical hashes
    listing["train_sha256"], listing["val_sha256"] = corpus.file_list_hash(train), corpus.file_list_hash(val)
args.out.parent.mkdir(parents=True, exist_ok=True)
args.out.write_text(json.dumps(listing, indent=1))
(args.out.parent / "corpus_manifest.json").write_text(json.dumps({"packages": versions, "files": manifest}, separators=(",", ":")) + "\n")
print(json.dumps({"train_files": len(train), "val_files": len(val), "train_sha256": listing["train_sha256"], "val_sha256": listing["val_sha256"],
                  "packages": len(versions)}))
