"""`python -m ordino.bench intake …` (the same as `ordino bench intake …`)."""

from ordino.bench import bench_app

bench_app()
