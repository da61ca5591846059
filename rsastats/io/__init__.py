"""The files layer of rsastats (filled in by the next commit)."""
