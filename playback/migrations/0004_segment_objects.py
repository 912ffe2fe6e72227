import django.contrib.postgres.fields
from django.conf import settings
from django.db import migrations, models


def _one_part_objects(apps, schema_editor):
    # A segment indexed before objects is an object of one part, on the disk of the node that migrates.
    Segment = apps.get_model("playback", "Segment")
    Segment.objects.update(
        sizes=models.Func(models.F("bytes"), function="ARRAY", template="%(function)s[%(expressions)s]"),
        durations=models.Func(models.F("duration"), function="ARRAY", template="%(function)s[%(expressions)s]"),
        node=settings.VMS_NODE_NAME,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("playback", "0003_export_queue"),
    ]

    operations = [
        migrations.AddField(
            model_name="segment",
            name="sizes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.PositiveIntegerField(), default=list, help_text="each part's bytes", size=None
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="segment",
            name="durations",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.FloatField(), default=list, help_text="each part's seconds", size=None
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="segment",
            name="node",
            field=models.CharField(blank=True, max_length=63),
        ),
        migrations.AddField(
            model_name="segment",
            name="uploaded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_one_part_objects, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="segment",
            index=models.Index(
                condition=models.Q(("node", ""), _negated=True), fields=["node", "start"], name="segment_on_node"
            ),
        ),
    ]
