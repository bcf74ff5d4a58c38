"""The app's error handlers (neloura/app.py): a 422 names the first validation errors only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from neloura.app import MAX_REPORTED_ERRORS


def test_a_422_names_the_first_errors_and_counts_the_rest(client: TestClient) -> None:
    rows = [0.5] * 1000  # every item is wrong (rows are integers): 1000 errors
    response = client.post("/api/plotter/export", json={"name": "c.csv", "rows": rows, "format": "csv"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    parts = detail.split("; ")
    assert len(parts) == MAX_REPORTED_ERRORS + 1
    assert [p.split(":")[0] for p in parts[:-1]] == [f"rows.{i}" for i in range(MAX_REPORTED_ERRORS)]
    assert parts[-1] == f"and {1000 - MAX_REPORTED_ERRORS:,} more errors"
    assert len(response.content) < 5000


def test_a_few_errors_are_all_named(client: TestClient) -> None:
    response = client.post("/api/plotter/export", json={"name": "c.csv", "rows": [0.5, 1, 2.5], "format": "csv"})
    assert response.status_code == 422
    parts = response.json()["detail"].split("; ")
    assert [p.split(":")[0] for p in parts] == ["rows.0", "rows.2"]
