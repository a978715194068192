"""The Blueprint every domain's views use.

webargs builds a new instance of an argument schema class on every request. Our schemas hold
no per-request state, so one instance per class serves every request; on a hot endpoint (a
sold-out booking flood) that instantiation was the largest cost after the framework itself.
"""
import flask_smorest
from marshmallow import Schema
from webargs.flaskparser import FlaskParser


class SchemaReusingParser(FlaskParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, Schema] = {}

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = SchemaReusingParser()
