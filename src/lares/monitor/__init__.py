"""Watch the host and the running stacks, and decide when something needs a person."""
