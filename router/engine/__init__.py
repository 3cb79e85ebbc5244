"""The engine: router's use cases with no HTTP and no SQL (DESIGN 1-2).

`engine.Engine` is the object HTTP handlers and embedding programs call; `events` and
`answers` are its typed inputs and outputs; `calls`, `explain` and the provisioning
modules (`accounts`, `numbers`, `applications`, `inventory`, `callbacks`) hold the
use cases. This package imports nothing itself, so the store can use the answer types
without loading the engine.
"""
