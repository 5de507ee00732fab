"""The ``qof`` command: run the platform locally, mint tokens, generate data and documents."""
