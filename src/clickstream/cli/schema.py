"""`clickstream schema`: the BigQuery JSON schemas that Terraform reads, generated from the contract."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from clickstream.errors import ConfigError

DEFAULT_OUT = Path("schemas/bigquery")

app = typer.Typer(
    help="Artifacts generated from the contract and committed to the repo (Terraform reads them).",
    no_args_is_help=True,
)


def expected_files() -> dict[str, str]:
    """File name -> content for every contract table, exactly as `schema export` writes them."""
    from clickstream.contract.render import bigquery_schema_json
    from clickstream.contract.tables import ALL_TABLES

    return {f"{table.name}.json": bigquery_schema_json(table) for table in ALL_TABLES}


def drift(out: Path) -> list[str]:
    """What in `out` differs from the contract, one 'name (why)' per file; empty when in sync."""
    expected = expected_files()
    found = {p.name for p in out.glob("*.json")} if out.is_dir() else set()
    problems = []
    for name in sorted(expected.keys() | found):
        if name not in found:
            problems.append(f"{name} (missing)")
        elif name not in expected:
            problems.append(f"{name} (not in the contract)")
        elif (out / name).read_text(encoding="utf-8") != expected[name]:
            problems.append(f"{name} (differs)")
    return problems


@app.command()
def export(
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Folder for one <table>.json per contract table."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 if the files in --out differ from the contract (for CI)."
    ),
) -> None:
    """Write the BigQuery JSON schema of every contract table (Terraform's google_bigquery_table reads them)."""
    console, err_console = Console(), Console(stderr=True)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder, e.g. --out {DEFAULT_OUT}")
    if check:
        problems = drift(out)
        if problems:
            err_console.print(
                f"{out} is out of date with the contract: {', '.join(problems)}; run `clickstream schema export --out {out}`",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1)
        console.print(f"{out} matches the contract ({len(expected_files())} tables)", highlight=False)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, content in expected_files().items():
            (out / name).write_text(content, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise ConfigError(f"cannot write schemas to {out}: {exc.strerror}; choose a writable --out") from exc
    console.print(f"wrote {len(expected_files())} BigQuery schemas to {out}", highlight=False)
    stale = [p.split(" ")[0] for p in drift(out) if p.endswith("(not in the contract)")]
    if stale:
        # Deleting is left to the user: the folder may be shared with files we did not write.
        err_console.print(f"note: not in the contract, delete if obsolete: {', '.join(stale)}", highlight=False)
