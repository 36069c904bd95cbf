from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('botapp', '0002_update_engine'),
    ]

    operations = [
        migrations.CreateModel(
            name='TrialMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('chat_id', models.BigIntegerField(db_index=True, verbose_name='chat')),
                ('message_id', models.PositiveIntegerField(verbose_name='message id')),
                ('from_bot', models.BooleanField(default=True, verbose_name='from the bot')),
                ('content', models.JSONField(default=dict, verbose_name='content')),
                ('sent_at', models.DateTimeField(auto_now_add=True, verbose_name='sent')),
                ('edited', models.BooleanField(default=False, verbose_name='edited')),
            ],
            options={
                'verbose_name': 'message in Try the bot',
                'verbose_name_plural': 'messages in Try the bot',
                'ordering': ['chat_id', 'message_id'],
                'constraints': [models.UniqueConstraint(fields=('chat_id', 'message_id'), name='trial_message_unique')],
            },
        ),
    ]
