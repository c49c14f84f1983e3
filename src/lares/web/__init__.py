"""The dashboard: ``lares serve``, pages and a JSON API over what lares already keeps."""
