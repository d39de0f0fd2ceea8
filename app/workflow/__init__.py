"""One review workflow engine for every qualification record type.

``states`` (import-free data), ``registry`` (the record types) and ``engine`` (the transitions).
This package file imports none of them, so models can read ``states`` without loading the engine.
"""
