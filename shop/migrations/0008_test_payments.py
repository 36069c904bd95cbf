from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0007_pictures'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='purchase',
            name='purchase_payment_type_valid',
        ),
        migrations.AlterField(
            model_name='purchase',
            name='payment_type',
            field=models.CharField(choices=[('stars', 'Telegram Stars'), ('provider', 'Payment provider'), ('free', 'Free'), ('manual', 'Granted by staff'), ('test', 'Test (not paid)')], max_length=16, verbose_name='payment type'),
        ),
        migrations.AddConstraint(
            model_name='purchase',
            constraint=models.CheckConstraint(condition=models.Q(('payment_type__in', ['stars', 'provider', 'free', 'manual', 'test'])), name='purchase_payment_type_valid'),
        ),
        migrations.AddConstraint(
            model_name='purchase',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('payment_type', 'test'), _negated=True), ('payment_id__startswith', 'test:'), _connector='OR'), name='purchase_test_payment_id'),
        ),
    ]
