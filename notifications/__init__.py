"""Who is told what, rendered without health data, and the transports that deliver it."""
