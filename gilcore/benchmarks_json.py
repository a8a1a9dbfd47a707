"""``python -m gilcore.benchmarks_json``: the documented command; the code is gilcore.publish.benchmarks_json."""
import sys

from gilcore.publish import benchmarks_json

if __name__ == "__main__":
    sys.exit(benchmarks_json.main())
else:
    sys.modules[__name__] = benchmarks_json
