"""The nowcast family: ``delay_nowcast``, the delay probability sharpened by live departures."""
