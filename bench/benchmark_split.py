"""The PTB-XL benchmark protocol (Strodthoff et al. 2020): train strat folds 1–8, validate 9, test 10.

    python bench/benchmark_split.py --data_root ../shared/ptbxl --model resnet1d_wang --seeds 0 1 2 --ensemble

Same options as bench/cv.py (it is bench/cv.py with ``--plan benchmark``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv import main  # noqa: E402

if __name__ == "__main__":
    main(default_plan="benchmark")
