"""
The runs `npm run bench:server` searches: written straight into MLflow's tables through MLflow's own
SQLAlchemy models (mlflow/store/tracking/dbmodels/models.py of the pinned release), a few thousand runs
in seconds where the API would take minutes on one core. Each run has two params, three metrics
(history and latest value) and a tag, as a small training run logs.

usage: python seed.py DATABASE_URI EXPERIMENT_ID RUNS ARTIFACT_ROOT
"""

import sys
import uuid

from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session


def main(uri: str, experiment_id: int, runs: int, artifact_root: str) -> None:
    engine = create_engine(uri)
    with Session(engine) as session, session.begin():
        for i in range(runs):
            run_id = uuid.uuid4().hex
            start = 1_700_000_000_000 + i
            session.add(
                SqlRun(
                    run_uuid=run_id,
                    name="seed-%d" % i,
                    experiment_id=experiment_id,
                    user_id="bench",
                    status="FINISHED",
                    start_time=start,
                    end_time=start + 60_000,
                    lifecycle_stage="active",
                    artifact_uri="%s/%d/%s/artifacts" % (artifact_root, experiment_id, run_id),
                    source_type="LOCAL",
                    source_name="bench",
                )
            )
            session.add_all(
                [
                    SqlParam(key="lr", value=str(0.001 * (1 + i % 10)), run_uuid=run_id),
                    SqlParam(key="model", value=("resnet", "vit", "mlp")[i % 3], run_uuid=run_id),
                    SqlTag(key="team", value="team-%d" % (i % 5), run_uuid=run_id),
                ]
            )
            for k, key in enumerate(("loss", "accuracy", "f1")):
                value = float((i * (k + 1)) % 97)
                session.add(SqlMetric(key=key, value=value, timestamp=start, step=0, is_nan=False, run_uuid=run_id))
                session.add(SqlLatestMetric(key=key, value=value, timestamp=start, step=0, is_nan=False, run_uuid=run_id))
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(SqlRun).where(SqlRun.experiment_id == experiment_id))
    if count != runs:
        sys.exit("seed: %d runs in experiment %d, %d expected" % (count, experiment_id, runs))
    print("seed: %d runs in experiment %d" % (count, experiment_id))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
