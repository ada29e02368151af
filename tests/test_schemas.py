"""``schemas/`` is what the models generate, and describes what ``model_dump()`` yields."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import StrictInt

from do_images import Image
from do_images._schemas import DRAFT, MODELS, generate, main, render, schema_of
from spec_support import SCHEMAS_DIR, validator


@pytest.mark.parametrize("name", sorted(generate()))
def test_committed_schema_matches_the_models(name: str) -> None:
    """Each committed schema is byte for byte what the models generate now."""
    committed = (SCHEMAS_DIR / name).read_text(encoding="utf-8")
    assert committed == generate()[name], (
        f"schemas/{name} is stale: run `python -m do_images._schemas` and commit the result"
    )


def test_no_schema_file_without_a_model() -> None:
    """Every file in ``schemas/`` is produced by a model (none left behind by a rename)."""
    assert {path.name for path in SCHEMAS_DIR.glob("*.schema.json")} == set(generate())


def test_a_changed_field_changes_the_schema() -> None:
    """Adding a field to a model changes its generated schema, so drift cannot go unnoticed."""

    class Changed(Image):
        checksum: StrictInt | None = None

    assert render(Changed) != render(Image)


@pytest.mark.parametrize("stem", sorted(MODELS))
def test_schema_is_a_valid_draft_2020_12_schema(stem: str) -> None:
    """Each generated schema declares draft 2020-12 and passes its metaschema."""
    schema = schema_of(MODELS[stem])
    validator(schema)
    assert schema["$schema"] == DRAFT


@pytest.mark.parametrize("stem", ["image", "action", "region", "droplet", "snapshot"])
def test_schema_keeps_unknown_fields_open(stem: str) -> None:
    """The object schemas admit fields the API may add later."""
    assert schema_of(MODELS[stem])["additionalProperties"] is True


def test_schema_requires_only_what_the_models_require() -> None:
    """Only the ids and action status/type are required; absent fields stay absent."""
    stems = ("image", "action", "droplet", "snapshot")
    required = {stem: schema_of(MODELS[stem]).get("required", []) for stem in stems}
    assert required == {
        "image": ["id"],
        "action": ["id", "status", "type"],
        "droplet": ["id"],
        "snapshot": ["id"],
    }


def test_check_mode_reports_a_stale_directory(tmp_path: Path) -> None:
    """``--check`` fails on a stale directory and passes once the schemas are written."""
    (tmp_path / "image.schema.json").write_text("{}\n", encoding="utf-8")
    stale = main([str(tmp_path), "--check"])
    main([str(tmp_path)])
    assert (stale, main([str(tmp_path), "--check"])) == (1, 0)


@pytest.mark.parametrize(
    "model", ["Image", "Action", "Region", "RateLimit", "ErrorBody", "Droplet", "Snapshot"]
)
def test_every_public_field_is_documented(model: str) -> None:
    """Each field of the public models has a docstring, and it is the schema's description."""
    import do_images._models as models
    from do_images._schemas import _attribute_docs

    cls = getattr(models, model)
    docs = _attribute_docs(cls)
    assert set(docs) == set(cls.model_fields)
    properties = schema_of(cls)["properties"]
    for name, doc in docs.items():
        assert properties[name]["description"] == doc
