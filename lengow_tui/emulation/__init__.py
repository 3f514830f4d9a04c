"""Building blocks for loopback marketplace emulators (tests, benchmarks, demos). No pytest here."""
