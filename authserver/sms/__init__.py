"""SMS delivery: providers behind one interface, templates, phone numbers, credits, send limits."""
