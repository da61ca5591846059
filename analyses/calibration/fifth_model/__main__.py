"""``python -m analyses.calibration.fifth_model truth|run|retry|accuracy|report``: see the package docstring."""
from .cli import main

if __name__ == "__main__":
    main()
