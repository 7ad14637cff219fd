"""Product knobs: statistical minimums and limits. Each can be overridden from the environment."""

from salesintel.settings.env import env_int

# Segments with fewer closed deals are shown greyed and never ranked.
INSIGHTS_MIN_SEGMENT_SAMPLE = env_int("INSIGHTS_MIN_SEGMENT_SAMPLE", 30)
# No model is trained below this many won and this many lost deals.
SCORING_MIN_WON = env_int("SCORING_MIN_WON", 100)
SCORING_MIN_LOST = env_int("SCORING_MIN_LOST", 100)
# Connections a full scoring pass of a large tenant uses at once (0: one per CPU core, at most 8).
SCORING_WORKERS = env_int("SCORING_WORKERS", 0)
# CSV uploads above this size are refused before parsing.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
