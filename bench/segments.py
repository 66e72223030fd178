"""Benchmark: segment counting of 1M personalised texts, vectorised vs a per-text loop.

Baseline: ``[segments.count(t) for t in texts]`` (the exact per-text function).
Measured: ``segments.count_series(Series)`` (Arrow string kernels + numpy). Both run in the
same process on the same texts, and the answers are checked to be identical.

    .venv/bin/python bench/segments.py [--rows 1000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

sys.path = [p for p in sys.path if not p.rstrip("/").endswith("bench")]  # bench/*.py must not shadow modules

import numpy as np  # noqa: E402 -- after the sys.path fix above, on purpose
import pandas as pd  # noqa: E402 -- idem

from smslab.segments import count, count_series  # noqa: E402 -- idem

FIRST = [
    "Anna",
    "Sam",
    "Wanjiru",
    "Zoë",
    "Łukasz",
    "José",
    "Chloé",
    "Müller",
    "Øyvind",
    "Priya",
    "Ahmet",
    "Siobhán",
    "Jean-François",
    "Noémie",
    "Björn",
    "Ana",
    "Françoise",
    "Kwame",
    "Yuki",
    "李",
]
TEMPLATES = [
    "Hi {name}, ACME Black Friday: 30% off everything today only. Your code: {code}. Reply DEAL for more. "
    "Reply STOP to opt out.",
    "Bonjour {name}, -30% sur tout aujourd'hui avec le code {code}. Répondez DEAL. STOP au 36180",
    "{name}, your basket of {amount}€ is waiting [code {code}] — free delivery until midnight! Reply STOP to opt out.",
    "Hola {name}: 30% de descuento hoy con el código {code}. Responde DEAL para más ofertas. Baja: BAJA. {pad}",
    "Hey {name} 🎉 Black Friday is here: {code} gives 30% off. Reply STOP to opt out.",
    "ACME: {name}, order {code} shipped. Track: https://acme.example/t/{code} ~ questions? Reply HELP. {pad}",
]


def make_texts(rows: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(rows):
        template = TEMPLATES[i % len(TEMPLATES)]
        out.append(
            template.format(
                name=rng.choice(FIRST),
                code=f"BF{rng.randrange(10**6):06d}",
                amount=rng.randrange(10, 999),
                pad="x" * rng.randrange(0, 120),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    texts = make_texts(args.rows, args.seed)
    series = pd.Series(texts)  # pandas 3: the default `str` dtype, Arrow-backed
    print(f"Series dtype: {series.dtype} ({type(series.array).__name__})")

    t0 = time.perf_counter()
    loop = [count(t) for t in texts]
    loop_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    frame = count_series(series)
    vec_s = time.perf_counter() - t0

    same = (
        np.array_equal(frame["segments"].to_numpy(), np.fromiter((c.segments for c in loop), dtype=np.int64))
        and np.array_equal(frame["units"].to_numpy(), np.fromiter((c.units for c in loop), dtype=np.int64))
        and frame["encoding"].astype(str).tolist() == [c.encoding for c in loop]
    )
    enc = frame["encoding"].value_counts().to_dict()
    seg = frame["segments"].value_counts().sort_index().to_dict()
    print(f"texts: {args.rows:,} personalised (encodings {enc}; segments {seg})")
    print(f"baseline per-text loop [count(t) for t in texts]: {loop_s:.2f} s ({args.rows / loop_s:,.0f} texts/s)")
    print(f"vectorised count_series(Series):                  {vec_s:.2f} s ({args.rows / vec_s:,.0f} texts/s)")
    print(f"identical answers: {same}")
    print(f"ratio (vectorised speed / loop speed): {loop_s / vec_s:.1f}x")
    if not same:
        raise SystemExit("answers differ")


if __name__ == "__main__":
    main()
