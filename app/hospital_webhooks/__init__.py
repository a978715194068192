"""Webhooks to hospitals (issue 14, item 4): registration events POSTed to each hospital's own
endpoint following the Standard Webhooks specification. Booking services call
`events.registration_event` inside their transaction; app/tasks/hospital_webhooks.py sends."""
