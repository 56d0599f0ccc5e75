INSERT INTO detection_as_of (key, as_of, _version)
