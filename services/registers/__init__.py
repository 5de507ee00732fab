"""Registers: patients, coded records (SNOMED CT) and QOF disease registers of each practice."""
