"""The simulated cluster and its faults: the one infrastructure piece that uses the oracle."""
