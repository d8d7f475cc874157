"""Every way a variable gets numbers: seeded draws kept inside each op's domain, PyTorch's generator, files."""
