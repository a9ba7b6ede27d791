"""Stage `train`: logistic regression by stochastic gradient descent, in pure Python.

Reads params.yaml (train.lr, train.epochs, seed) and data/prepared/, writes the model
to model.pkl (a cached output) and test metrics to metrics.json (kept in git).
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import random

from params_file import load

DATA_DIR = os.path.join("data", "prepared")


def read_csv(path: str) -> list[tuple[list[float], int]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [([float(r["x1"]), float(r["x2"])], int(r["label"])) for r in csv.DictReader(f)]


def predict(weights: list[float], x: list[float]) -> float:
    z = weights[0] + sum(w * xi for w, xi in zip(weights[1:], x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def fit(rows: list[tuple[list[float], int]], lr: float, epochs: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    weights = [0.0, 0.0, 0.0]
    order = list(range(len(rows)))
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            x, y = rows[i]
            err = predict(weights, x) - y
            weights[0] -= lr * err
            for j, xj in enumerate(x, start=1):
                weights[j] -= lr * err * xj
    return weights


def evaluate(weights: list[float], rows: list[tuple[list[float], int]]) -> dict[str, float]:
    eps = 1e-12
    loss = correct = 0.0
    for x, y in rows:
        p = predict(weights, x)
        loss -= y * math.log(p + eps) + (1 - y) * math.log(1 - p + eps)
        correct += int((p > 0.5) == bool(y))
    return {"accuracy": round(correct / len(rows), 4), "loss": round(loss / len(rows), 4)}


def main() -> None:
    params = load()
    train = read_csv(os.path.join(DATA_DIR, "train.csv"))
    test = read_csv(os.path.join(DATA_DIR, "test.csv"))
    weights = fit(train, params["train"]["lr"], params["train"]["epochs"], params["seed"])
    metrics = evaluate(weights, test)
    with open("model.pkl", "wb") as f:
        pickle.dump({"weights": [round(w, 6) for w in weights]}, f, protocol=4)
    with open("metrics.json", "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"train: accuracy={metrics['accuracy']} loss={metrics['loss']}")


if __name__ == "__main__":
    main()
