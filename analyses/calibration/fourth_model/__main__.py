"""``python -m analyses.calibration.fourth_model CMD [designs ...]``: see the package docstring."""
from .cli import main

if __name__ == "__main__":
    main()
