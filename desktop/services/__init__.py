"""Plain Python over a Session: rules, register, exchange, reports. No Qt."""
