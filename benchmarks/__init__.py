"""`make bench`: speed and memory of the board and the agent, measured."""
