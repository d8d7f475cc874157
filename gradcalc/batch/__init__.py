"""Sample files run as a test suite: cases (TOML), selection (-k), worker pool (timeouts), reports."""
