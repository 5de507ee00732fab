"""QOF knowledge shared by services: register definitions over codelists (business rules as data)."""
