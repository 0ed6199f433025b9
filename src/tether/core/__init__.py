"""The domain: the call path, policy, approvals, activity. No I/O happens here."""
