"""The run step: deploy the topology, observe scenarios, and record typed step results."""
