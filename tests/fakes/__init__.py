"""Loopback fakes of the providers' APIs: they check each request against the documented API."""
