"""The operator dashboard and the consumer portal: server-rendered pages
(Jinja2) with htmx for partial updates and server-sent events for live
lists, served by the same app as the API.

The pages read and change everything through the same store functions as
the management API; this layer only authenticates browsers (``sessions``),
renders (``templating``) and maps forms to those functions.
"""
