"""Write the train/validation file lists (with their content hashes) for encode_corpus.ts and the model card."""
import argparse
import json
from pathlib import Path

import corpus

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--out", type=Path, required=True)
ap.add_argument("--max-files", type=int, default=0, help="keep only the first N files of each split (smoke runs)")
args = ap.parse_args()
train, val = corpus.split_corpus()
if args.max_files:
    train, val = train[: args.max_files], val[: max(1, args.max_files // 10)]
root = corpus.stdlib_dir()
listing = {
    "root": str(root),
    "packages": list(corpus.STDLIB_PACKAGES),
    "validation_percent": corpus.VALIDATION_PERCENT,
    "train": [str(p) for p in train],
    "val": [str(p) for p in val],
    "train_sha256": corpus.file_list_hash(train),
    "val_sha256": corpus.file_list_hash(val),
}
args.out.parent.mkdir(parents=True, exist_ok=True)
args.out.write_text(json.dumps(listing, indent=1))
print(json.dumps({"train_files": len(train), "val_files": len(val), "train_sha256": listing["train_sha256"], "val_sha256": listing["val_sha256"]}))
