"""The documentation a user gets with the repository: docs/api-reference.md is
what scripts/gen-api-reference.py makes of the CRDs today, and README.md,
SECURITY.md, docs/ and the READMEs of the chart, bench/, fuzz/ and e2e/ point
only at files the repository holds. No cluster and no revoca process."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
GENERATOR = ROOT / "scripts" / "gen-api-reference.py"
REFERENCE = ROOT / "docs" / "api-reference.md"


def user_docs():
    docs = [ROOT / "README.md", ROOT / "SECURITY.md", ROOT / "helm" / "revoca" / "README.md",
            ROOT / "bench" / "README.md", ROOT / "fuzz" / "README.md"]
    docs += sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "e2e").rglob("README.md"))
    return [doc for doc in docs if doc.exists()]


def test_api_reference_is_generated_from_the_current_crds(tmp_path):
    fresh = tmp_path / "api-reference.md"
    result = subprocess.run([sys.executable, GENERATOR, "--output", fresh], capture_output=True, text=True)
    assert result.returncode == 0, (
        f"scripts/gen-api-reference.py failed ({result.returncode}); it needs PyYAML "
        f"(scripts/install-deps.sh installs it):\n{result.stderr}")
    assert REFERENCE.read_text() == fresh.read_text(), (
        "docs/api-reference.md differs from what the CRDs in crds/ give: "
        "run scripts/gen-api-reference.py and commit docs/api-reference.md")


def test_the_generator_writes_the_same_bytes_twice(tmp_path):
    outputs = []
    for name in ("first.md", "second.md"):
        subprocess.run([sys.executable, GENERATOR, "--output", tmp_path / name], check=True)
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]


def references(text):
    """(target, kind) for each relative Markdown link, and for each path that
    climbs with ../ in the text or its inline code. Code blocks are left out:
    their paths belong to the reader's own files (a kustomization of theirs)."""
    found = []
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", text)
    for match in re.finditer(r"\]\(([^)\s]+)\)", prose):
        target = match.group(1).split("#", 1)[0]
        if target and not re.match(r"[a-z][a-z0-9+.-]*:", target):
            found.append((target, "link"))
    for match in re.finditer(r"(?<![\w.])((?:\.\./)+[\w./-]*\w)", text):
        found.append((match.group(1), "path"))
    return found


def test_docs_refer_only_to_files_in_the_repository():
    outside = []
    for doc in user_docs():
        for target, kind in references(doc.read_text()):
            resolved = (doc.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                outside.append(f"{doc.relative_to(ROOT)}: {kind} {target}")
    assert outside == [], ("these point outside the repository or at nothing; a user who clones it has "
                           "only what it holds:\n" + "\n".join(outside))
