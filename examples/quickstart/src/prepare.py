"""Stage `prepare`: generate a small deterministic dataset into data/prepared/.

Two numeric features and a binary label from a noisy linear rule, split 80/20 into
train.csv and test.csv. The same params always give byte-identical files.
"""

from __future__ import annotations

import csv
import os
import random

from params_file import load

OUT_DIR = os.path.join("data", "prepared")


def make_rows(n: int, noise: float, rng: random.Random) -> list[tuple[float, float, int]]:
    rows = []
    for _ in range(n):
        x1, x2 = rng.uniform(-3, 3), rng.uniform(-3, 3)
        score = 1.5 * x1 - 2.0 * x2 + 0.5 + rng.gauss(0, noise)
        rows.append((round(x1, 4), round(x2, 4), int(score > 0)))
    return rows


def write_csv(path: str, rows: list[tuple[float, float, int]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["x1", "x2", "label"])
        writer.writerows(rows)


def main() -> None:
    params = load()
    rng = random.Random(params["seed"])
    rows = make_rows(params["prepare"]["n_samples"], params["prepare"]["noise"], rng)
    split = int(len(rows) * 0.8)
    os.makedirs(OUT_DIR, exist_ok=True)
    write_csv(os.path.join(OUT_DIR, "train.csv"), rows[:split])
    write_csv(os.path.join(OUT_DIR, "test.csv"), rows[split:])
    print(f"prepare: {split} train rows, {len(rows) - split} test rows in {OUT_DIR}/")


if __name__ == "__main__":
    main()
