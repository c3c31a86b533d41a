"""serve: the intake web service (`toolkit serve`). Agencies upload returns through secret links and
see their problems at once; the office tracks, reviews and collects. Uses toolkit.pipeline's public API."""
