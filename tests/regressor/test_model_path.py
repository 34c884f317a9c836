"""The regressor's default file: one name, `./models/xgboost.json`, as the service documentation gives it."""

from pathlib import Path

from budsim.regressor.training import DEFAULT_MODEL, ROOT
from budsim.settings import Settings


def test_the_service_and_the_trainer_default_to_the_documented_file() -> None:
    default = Settings.model_fields["model_path"].default  # not Settings(): MODEL_PATH may be set around the tests
    assert default == Path("./models/xgboost.json")
    assert ROOT / default == DEFAULT_MODEL  # `budsim train` and the benches write where the service reads


def test_the_dockerfile_trains_the_file_the_image_serves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "MODEL_PATH=/app/models/xgboost.json" in dockerfile
    assert "--output /app/models/xgboost.json" in dockerfile
