"""Where data is kept: the engine, the models, migrations, backups and encryption at rest."""
