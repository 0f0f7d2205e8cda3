"""The CNI upgrade gate: the suite before and after, live probes through the upgrade itself."""
