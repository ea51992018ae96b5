"""Prefect flows: orchestration only. Parsing, storing and matching live in data/ and matching/."""
