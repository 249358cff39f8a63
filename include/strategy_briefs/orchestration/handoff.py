"""The typed values the DAG's tasks hand each other through XCom, on Airflow's allow-list.

- `ingest.load_submission` returns the `StagedFile` it staged (a dataclass of plain
  values: Airflow's serde stores it with `dataclasses.asdict` and rebuilds it as is);
- `briefs.render_briefs` returns a list of `RenderedBrief`, which the quality gate, the
  editor's approval and `delivery.deliver_briefs` read (it brings its own
  `serialize`/`deserialize`: `briefs/rendered.py`).

Airflow's XCom serde rebuilds only classes on its allow-list (`[core]
allowed_deserialization_classes`, by default `airflow.*`). Task code takes these types from
here, so importing them adds them to the list, in every process that parses the DAG.
"""

from __future__ import annotations

from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.ingest.loading import StagedFile

__all__ = ["RenderedBrief", "StagedFile"]


def _allow_in_xcom() -> None:
    from airflow.sdk.serde import allow_class

    for cls in (RenderedBrief, StagedFile):
        allow_class(cls)


_allow_in_xcom()
