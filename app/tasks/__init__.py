"""RQ entry points: thin functions that take ids and call a service. They run inside the
worker's app context (`flask worker`)."""
