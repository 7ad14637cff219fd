"""Current scores are stored at fillfactor 45 (was 60), so a pass that changes every score can
put every row's new version on its own page.

An in-place (HOT) update needs room on the row's page for its new version while the old one
still stands. At fillfactor 60 a page filled by a first pass has room for two thirds of its rows'
new versions: on the 1M-deal bench tenant, the next day's pass updated 62% of the rows in place
and moved the rest to new pages, each move adding a primary-key entry. At 45 it updated 98% in
place, and that pass's current-score update took 1.6-1.7 s per 500,000-deal chunk against
2.3-2.6 s (docs/scoring.md, "Room on the page for every new version"). The table is not larger
for it after the second pass: at 60 the moved third fills new pages to 60%, which comes to the
same number of pages as every row at 45. Pages written before this migration keep their fill
until their rows move.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scoring", "0011_dealscore_id_cache")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE scoring_currentscore SET (fillfactor = 45)",
            "ALTER TABLE scoring_currentscore SET (fillfactor = 60)",
        ),
    ]
