import django.db.models.deletion
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django.conf import settings
from django.db import migrations, models


def sessions_carry_over(apps, schema_editor):
    """The sessions open at the upgrade move to the new table with their user, so nobody is logged out."""
    Old = apps.get_model("sessions", "Session")
    New = apps.get_model("accounts", "UserSession")
    codec = SessionStore()  # the salt is the class name: the same as the new store's
    for old in Old.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        user_id = str(codec.decode(old.session_data).get("_auth_user_id", ""))
        New.objects.create(
            session_key=old.session_key,
            session_data=old.session_data,
            expire_date=old.expire_date,
            user_id=int(user_id) if user_id.isdigit() else None,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_custody_power_of_attorney'),
        ('sessions', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='UserSession',
            fields=[
                ('session_key', models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name='session key')),
                ('session_data', models.TextField(verbose_name='session data')),
                ('expire_date', models.DateTimeField(db_index=True, verbose_name='expire date')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'session',
                'verbose_name_plural': 'sessions',
                'db_table': 'accounts_session',
                'abstract': False,
            },
        ),
        migrations.RunPython(sessions_carry_over, migrations.RunPython.noop),
    ]
