"""The Flask side of the bridge: the app factory (:mod:`.app`) and its blueprints (receiver,
gates, staff API, dashboard, ...)."""
