"""The model's own chat template, from (in transformers' order of precedence) chat_template.jinja,
chat_template.json {"chat_template": ...}, or tokenizer_config.json "chat_template" (a string, or a
list of {"name", "template"} from which "default" is taken). Written to the bundle as
chat_template.jinja; the API renders it with @huggingface/jinja."""
import json
import os
from typing import Optional

from safetensors_reader import CheckpointError

BUNDLE_FILE = "chat_template.jinja"


def find_chat_template(hf_dir: str) -> tuple[Optional[str], str]:
    """(template text or None, where it came from)."""
    jinja = os.path.join(hf_dir, "chat_template.jinja")
    if os.path.isfile(jinja):
        with open(jinja, encoding="utf-8") as f:
            return f.read(), "chat_template.jinja"
    for name in ("chat_template.json", "tokenizer_config.json"):
        path = os.path.join(hf_dir, name)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                value = json.load(f).get("chat_template")
        except (OSError, json.JSONDecodeError, AttributeError) as err:
            raise CheckpointError(f"{path}: unreadable ({err})") from err
        if value is None:
            continue
        if isinstance(value, list):
            named = {t.get("name"): t.get("template") for t in value if isinstance(t, dict)}
            if "default" not in named:
                raise CheckpointError(f"{path}: chat_template is a list without a 'default' entry (found {sorted(named)})")
            value = named["default"]
        if not isinstance(value, str) or not value.strip():
            raise CheckpointError(f"{path}: chat_template must be a non-empty string")
        return value, f"{name} chat_template"
    return None, "none in the folder"


def write_chat_template(hf_dir: str, out_dir: str) -> tuple[Optional[str], str]:
    text, source = find_chat_template(hf_dir)
    if text is None:
        return None, source
    with open(os.path.join(out_dir, BUNDLE_FILE), "w", encoding="utf-8") as f:
        f.write(text)
    return BUNDLE_FILE, source
