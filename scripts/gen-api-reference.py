#!/usr/bin/env python3
"""Writes docs/api-reference.md from the CustomResourceDefinitions in
crds/: for each kind its group, version, names and `kubectl get`
columns, then every spec and status field with its type, default,
constraints and description.

  scripts/gen-api-reference.py [--output FILE]

The descriptions are the CRDs' own, the text `kubectl explain` prints, so the
reference cannot say something the cluster does not. Edit a description in
the CRD, then run this again. The output depends on the CRDs alone (no date,
no tool version), so e2e/docs/test_docs.py can regenerate it and
fail when the committed file is stale.

Needs PyYAML (Debian's python3-yaml, or pip's pyyaml)."""
import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "crds"
OUTPUT = ROOT / "docs" / "api-reference.md"

# The order a reader meets the kinds in (docs/overview.md); a kind not listed
# here follows them, by name.
KIND_ORDER = ["CertificateAuthority", "Vault", "VaultSecret", "CertificateRevocation", "EmqxDeployment"]
# Every object has these; the reference describes only what revoca adds.
STANDARD_FIELDS = {"apiVersion", "kind", "metadata"}


def code(text):
    """TEXT as a Markdown code span, whatever backticks it holds."""
    text = str(text)
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(text):
    """TEXT made safe for one cell of a Markdown table: one line, `|` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


# A run of underscores between two letters or digits never starts or ends
# emphasis (EMQX_CRL_CACHE__HTTP_TIMEOUT); any other run might.
_UNDERSCORES = re.compile(r"_+")


def _escape_underscores(text):
    def escape(match):
        before = text[match.start() - 1] if match.start() > 0 else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if before.isalnum() and after.isalnum():
            return match.group()
        return "\\_" * len(match.group())
    return _UNDERSCORES.sub(escape, text)


def prose(text):
    """A CRD description as Markdown: its code spans kept, and outside them the
    characters Markdown would read as markup escaped (`<name>` would vanish as
    an HTML tag, `*` and a `_` at a word's edge could start emphasis)."""
    parts = re.split(r"(`+[^`]*`+)", " ".join(str(text).split()))
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.append(part)
            continue
        part = part.replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")
        out.append(_escape_underscores(part))
    return "".join(out)


def value(v):
    """A default or enum value as written in YAML."""
    if isinstance(v, str):
        return code(v)
    return code(json.dumps(v, separators=(", ", ": ")))


def type_of(schema):
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = schema.get("type", "")
    if kind == "array":
        return "[]" + type_of(schema.get("items", {}))
    if kind == "object" and schema.get("x-kubernetes-preserve-unknown-fields"):
        return "object (any fields)"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return kind or "any"


def sentence(text):
    """TEXT ending as a sentence, so that more can follow it."""
    return text if not text or text[-1] in ".!?" else text + "."


def constraints(schema):
    """What the schema allows beyond the type: a list of sentences."""
    said = []
    if "enum" in schema:
        said.append("One of " + ", ".join(value(v) for v in schema["enum"]) + ".")
    if "pattern" in schema:
        said.append("Pattern " + code(schema["pattern"]) + ".")
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and high is not None:
        said.append(f"{low} to {high} characters.")
    elif high is not None:
        said.append(f"At most {high} characters.")
    elif low is not None:
        said.append(f"At least {low} character{'s' if low != 1 else ''}.")
    if "minimum" in schema:
        said.append(f"At least {schema['minimum']}.")
    if "maximum" in schema:
        said.append(f"At most {schema['maximum']}.")
    if "minItems" in schema:
        said.append(f"At least {schema['minItems']} items.")
    if "maxItems" in schema:
        said.append(f"At most {schema['maxItems']} items.")
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        said.append("No duplicates.")
    elif list_type == "map":
        keys = ", ".join(code(k) for k in schema.get("x-kubernetes-list-map-keys", []))
        said.append(f"One entry per {keys}.")
    items = schema.get("items", {})
    if schema.get("type") == "array" and items.get("type") != "object":
        of_items = [s.rstrip(".") for s in constraints(items)]
        if of_items:
            said.append("Each item: " + "; ".join(s[0].lower() + s[1:] for s in of_items) + ".")
    return said


def walk(schema, path, required, rows, rules):
    """Appends a row for each field below SCHEMA (path relative to the table's
    root) and collects its validation rules as (full path, message)."""
    for name, child in schema.get("properties", {}).items():
        if not path and name in STANDARD_FIELDS:
            continue
        child_path = f"{path}.{name}" if path else name
        rows.append((child_path, child, name in required))
        collect_rules(child, child_path, rules)
        if child.get("type") == "object":
            walk(child, child_path, set(child.get("required", [])), rows, rules)
        elif child.get("type") == "array" and child.get("items", {}).get("type") == "object":
            items = child["items"]
            walk(items, child_path + "[]", set(items.get("required", [])), rows, rules)
        elif child.get("type") == "array":
            collect_rules(child.get("items", {}), child_path + "[]", rules)


def collect_rules(schema, path, rules):
    for rule in schema.get("x-kubernetes-validations", []):
        where = path
        field = rule.get("fieldPath", "")
        if field:
            where = (f"{path}{field}" if path else field.lstrip(".")) if field.startswith(".") else field
        rules.append((where, rule.get("message") or rule["rule"]))


def field_table(rows, prefix):
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for path, schema, is_required in rows:
        kind = type_of(schema) + (", required" if is_required else "")
        default = value(schema["default"]) if "default" in schema else ""
        text = " ".join([sentence(prose(schema.get("description", "")))] + constraints(schema)).strip()
        lines.append(f"| {code(prefix + path)} | {cell(kind)} | {cell(default)} | {cell(text)} |")
    return lines


def section(part, name, root_rules):
    """The table of `spec` or `status`, with the rules declared on it."""
    lines = [f"### {name}", ""]
    if part.get("description"):
        lines += [prose(part["description"]), ""]
    rows, rules = [], list(root_rules)
    collect_rules(part, name, rules)
    walk(part, "", set(part.get("required", [])), rows, rules)
    # Rows name paths relative to spec or status; rules name the full path.
    rules = [(where if where.startswith(name) else f"{name}.{where}", message) for where, message in rules]
    if rows:
        lines += field_table(rows, "") + [""]
    if rules:
        lines += ["The API server refuses an object that breaks one of these rules, with this message:", ""]
        lines += [f"- {code(where)}: {prose(message)}" for where, message in rules]
        lines.append("")
    return lines


def columns(version):
    lines = ["### Columns of `kubectl get`", "",
             "| column | type | shown | JSONPath | description |", "|---|---|---|---|---|"]
    for column in version.get("additionalPrinterColumns", []):
        shown = "with `-o wide`" if column.get("priority", 0) > 0 else "always"
        lines.append(f"| {cell(column['name'])} | {cell(column['type'])} | {shown} | "
                     f"{cell(code(column['jsonPath']))} | {cell(prose(column.get('description', '')))} |")
    return lines + [""]


def kind_section(crd):
    spec = crd["spec"]
    names = spec["names"]
    lines = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        title = names["kind"] if len(spec["versions"]) == 1 else f"{names['kind']} ({version['name']})"
        schema = version["schema"]["openAPIV3Schema"]
        facts = [("API version", code(f"{spec['group']}/{version['name']}")),
                 ("scope", spec["scope"]),
                 ("plural, singular", f"{code(names['plural'])}, {code(names.get('singular', names['kind'].lower()))}")]
        if names.get("shortNames"):
            facts.append(("short names", ", ".join(code(n) for n in names["shortNames"])))
        if names.get("categories"):
            facts.append(("categories", ", ".join(code(c) for c in names["categories"])))
        if "status" in version.get("subresources", {}):
            facts.append(("status", "a subresource: only revoca writes it"))
        lines += [f"## {title}", "", prose(schema.get("description", "")), "",
                  "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts] + [""]
        required = schema.get("required", [])
        if required:
            lines += ["Required: " + ", ".join(code(r) for r in required) + ".", ""]
        lines += columns(version)
        # Rules on the object itself name the field they are about.
        root_rules = []
        collect_rules(schema, "", root_rules)
        properties = schema.get("properties", {})
        for part in ("spec", "status"):
            if part in properties:
                mine = [(w, m) for w, m in root_rules if w.split(".")[0].split("[")[0] == part]
                lines += section(properties[part], part, mine)
        others = [(w, m) for w, m in root_rules if w.split(".")[0].split("[")[0] not in ("spec", "status")]
        if others:
            lines += ["The API server also refuses:", ""] + [f"- {code(w or names['kind'])}: {prose(m)}" for w, m in others] + [""]
    return lines


def render(crds):
    def order(crd):
        kind = crd["spec"]["names"]["kind"]
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)

    crds = sorted(crds, key=order)
    groups = sorted({crd["spec"]["group"] for crd in crds})
    lines = [
        "# API reference",
        "",
        "<!-- Generated by scripts/gen-api-reference.py from crds/. Do not edit:",
        "     change the CRDs' descriptions and run the script again. -->",
        "",
        f"The kinds of {', '.join(code(g) for g in groups)}, from the schemas in `crds/`: the",
        "descriptions are the ones `kubectl explain` prints. Every kind also has the usual",
        "`apiVersion`, `kind` and `metadata`, and names other objects of its own namespace only.",
        "Durations are numbers with units run together (`1y350d`, `30d`, `720h`, `1h30m`; `y` is",
        "365 days, `w` 7 days). [overview.md](overview.md) says how the kinds fit together.",
        "",
    ]
    for crd in crds:
        kind = crd["spec"]["names"]["kind"]
        lines.append(f"- [{kind}](#{kind.lower()})")
    lines.append("")
    for crd in crds:
        lines += kind_section(crd)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def load(directory):
    crds = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                crds.append(document)
    if not crds:
        sys.exit(f"gen-api-reference: no CustomResourceDefinition in {directory}")
    return crds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crds", type=Path, default=CRDS, help="directory of CRD files (default: crds)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write (default: docs/api-reference.md)")
    args = parser.parse_args()
    args.output.write_text(render(load(args.crds)))


if __name__ == "__main__":
    main()
