-- One database per service: no service reads another's tables (ARCHITECTURE.md, "Services").
-- Runs once, when the PostgreSQL volume is first initialised.
CREATE DATABASE registers;
CREATE DATABASE indicators;
CREATE DATABASE recall;
CREATE DATABASE workload;
CREATE DATABASE web;
