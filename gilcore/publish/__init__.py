"""Results in; the cross-version report, its GIL section and claims, the site and benchmarks.json out."""
