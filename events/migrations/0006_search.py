"""Colour and plate search (events.search, events.plates): fuzzystrmatch for levenshtein(), the plate key and its
deletion neighbourhood as SQL functions, and the partial indexes and statistics the search reads. They are on expressions of
the payload that the model does not declare, so they are plain SQL here and the migration state is unchanged."""

from django.contrib.postgres.operations import CreateExtension
from django.db import migrations

# events.plates.normalize_plate in SQL (tests hold the two equal): no key for text longer than MAX_PLATE_TEXT.
# PARALLEL RESTRICTED (both functions): a search finds a handful of plates, and the planner, which cannot know how
# few (no statistics), would otherwise start parallel workers for them, slower than the search itself.
PLATE_KEY = """
CREATE FUNCTION events_plate_key(plate text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL RESTRICTED AS $$
    SELECT CASE WHEN length(plate) <= 32
                THEN nullif(translate(upper(regexp_replace(plate, '[^A-Za-z0-9]', '', 'g')), 'OQIZSB', '001258'), '')
           END
$$
"""

# The key with up to two characters deleted, for keys within two edits of each other share one. Repeats are left
# in: GIN keeps each of an array's values once. PL/pgSQL: a few times faster than set-returning SQL (~0.2 ms a key).
PLATE_VARIANTS = """
CREATE FUNCTION events_plate_variants(plate_key text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL RESTRICTED AS $$
DECLARE
    variants text[] := ARRAY[plate_key];
    one_less text;
BEGIN
    FOR i IN 1..length(plate_key) LOOP
        one_less := left(plate_key, i - 1) || substr(plate_key, i + 1);
        variants := variants || one_less;
        FOR j IN i..length(one_less) LOOP
            variants := variants || (left(one_less, j - 1) || substr(one_less, j + 1));
        END LOOP;
    END LOOP;
    RETURN variants;
END
$$
"""

PLATE_INDEX = """
CREATE INDEX event_plate_variants ON events_event
USING gin (events_plate_variants(events_plate_key(payload ->> 'plate')))
WHERE type = 'license_plate'
"""

ATTRIBUTES_INDEX = """
CREATE INDEX event_attributes_gin ON events_event
USING gin ((payload -> 'attributes') jsonb_path_ops)
WHERE type IN ('person', 'vehicle')
"""

# How common a colour (or a person's pair) is, for the planner to tell a rare one (read through the index) from a
# common one (read newest first on (tenant, ts), filtered): a partial index's own statistics are not used for that.
ATTRIBUTES_STATISTICS = """
CREATE STATISTICS event_attributes ON (payload -> 'attributes') FROM events_event;
ALTER STATISTICS event_attributes SET STATISTICS 1000
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0005_notifications"),
    ]

    operations = [
        CreateExtension("fuzzystrmatch"),
        migrations.RunSQL(PLATE_KEY, "DROP FUNCTION events_plate_key(text)"),
        migrations.RunSQL(PLATE_VARIANTS, "DROP FUNCTION events_plate_variants(text)"),
        migrations.RunSQL(PLATE_INDEX, "DROP INDEX event_plate_variants"),
        migrations.RunSQL(ATTRIBUTES_INDEX, "DROP INDEX event_attributes_gin"),
        migrations.RunSQL(ATTRIBUTES_STATISTICS, "DROP STATISTICS event_attributes"),
    ]
