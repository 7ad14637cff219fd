"""DealScore ids are handed out 1,000 at a time per connection (the identity sequence's CACHE).

A chunked scoring pass draws its history ids on two connections at once. With one value per
call the two ranges' ids interleave, so both backends insert into the same rightmost leaf of
the primary key and wait for each other (``LWLock:BufferContent``). With a cache each backend
fills its own leaves. On the 1M-deal bench tenant the history insert of a pass that changes
every score went from 4.9 to 3.8 s on average in scoring_bench.py runs; two harness runs did not
show it (docs/scoring.md, "History ids in blocks"). The cost: a connection that closes leaves up
to 999 ids unused, and ids no longer follow insertion order across connections (history is read
in ``scored_at`` order; the id only breaks ties).
"""

from django.db import migrations

CACHE = 1_000


class Migration(migrations.Migration):
    dependencies = [("scoring", "0010_modelversion_number")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE scoring_dealscore ALTER COLUMN id SET CACHE {CACHE}",
            "ALTER TABLE scoring_dealscore ALTER COLUMN id SET CACHE 1",
        ),
    ]
