"""What each command computes, as plain frozen results that never print: prepare, evaluate, steps, vjp, ..."""
