"""The Blueprint every domain's views use.

webargs builds a new instance of an argument schema class on every request. Our schemas hold
no per-request state, so one instance per class serves every request; on a hot endpoint (a
sold-out booking flood) that instantiation was the largest cost after the framework itself.

A query schema whose result depends on nothing but the query string can also set
`MEMOIZE_QUERY = True`: the arguments parsed from a query string are then kept (per process, the
last PARSED_QUERIES_KEPT strings) and a request with the same string skips request.args and the
schema. Only successful parses are kept, so a refused string is refused every time. A new string
in the plain form clients send (known parameters, each once) is loaded field by field: each
parameter through its own field's deserialize (the same conversion and validators), the
load defaults filled in and the schema's post_load hooks run, which is what Schema.load does
without its error bookkeeping around every field. Anything else (an unknown or repeated
parameter, a value its field refuses, a schema with other hooks) goes through webargs and the
whole schema, which give the usual refusal.
"""
import threading

import flask_smorest
from marshmallow import Schema, ValidationError, fields, missing
from webargs.flaskparser import FlaskParser, is_json_request

from app.common import openapi
from app.common.validation import BadJsonBody, load_json_body, localize_messages
from app.errors import AppError, UnsupportedMediaType, ValidationFailed


class _QueryArgs(dict):
    """request.args as a plain dict of value lists for webargs' proxy: a field absent from the
    query costs a dict miss, where werkzeug's MultiDict.get builds and catches a
    BadRequestKeyError (an HTTPException) for each one: twenty per caregiver search."""

    def __init__(self, multidict):
        super().__init__(multidict.lists())

    def get(self, key, default=None):
        values = dict.get(self, key)
        return default if not values else values[0]

    def getlist(self, key):
        return list(dict.get(self, key, ()))


PARSED_QUERIES_KEPT = 4096


class _FieldwisePlan:
    """How a schema loads field by field: its load fields by query parameter name, the fields
    that give a value when absent (a load default, or required: the full load then refuses),
    and its post_load hooks. None for a schema with other hooks or dotted attributes."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.by_key = {(field.data_key or name): (name, field)
                       for name, field in schema.load_fields.items()}
        self.when_absent = [(name, field) for name, field in schema.load_fields.items()
                            if field.load_default is not missing or field.required]
        self.post_loads = [getattr(schema, attr) for attr, many, _ in schema._hooks["post_load"]
                           if not many]

    @staticmethod
    def possible(schema: Schema) -> bool:
        hooks = {tag: entries for tag, entries in schema._hooks.items() if entries}
        plain_hooks = all(not many and not options.get("pass_original")
                          for _, many, options in hooks.get("post_load", ()))
        plain_fields = all("." not in (field.attribute or name)
                           for name, field in schema.load_fields.items())
        return set(hooks) <= {"post_load"} and plain_hooks and plain_fields

    def load(self, args) -> dict | None:
        """What schema.load gives for these query arguments, or None to let it decide."""
        first = {}
        for key, values in args.lists():
            if key not in self.by_key or len(values) != 1:
                return None
            first[key] = values[0]
        data = {}
        try:
            for key, value in first.items():
                name, field = self.by_key[key]
                loaded = field.deserialize([value] if isinstance(field, fields.List) else value,
                                           key, first)
                data[field.attribute or name] = loaded
            for name, field in self.when_absent:
                if (field.attribute or name) not in data:
                    data[field.attribute or name] = field.deserialize(missing, name, first)
            for hook in self.post_loads:
                data = hook(data, many=False, partial=None, unknown=None)
        except ValidationError:
            return None
        return data


class SchemaReusingParser(FlaskParser):
    """Also the one place request bodies are read as JSON (app.common.validation.load_json_body:
    depth, number size and unstorable text are refused as 4xx before any schema sees them), and
    a body that is not JSON is refused (415) instead of being read as an empty object."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, Schema] = {}
        self._parsed: dict[tuple, dict] = {}
        self._plans: dict[type, _FieldwisePlan | None] = {}
        self._parsed_lock = threading.Lock()

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        if not (location == "query" and getattr(argmap, "MEMOIZE_QUERY", False)
                and kwargs.get("validate") is None):
            return super().parse(argmap, req, location=location, **kwargs)
        req = req if req is not None else self.get_default_request()
        key = (argmap, req.query_string)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._load_fieldwise(argmap, req)
            if parsed is None:
                parsed = super().parse(argmap, req, location=location, **kwargs)
            with self._parsed_lock:
                if len(self._parsed) >= PARSED_QUERIES_KEPT:
                    del self._parsed[next(iter(self._parsed))]  # the oldest
                self._parsed[key] = parsed
        return dict(parsed)  # a view may add or drop keys; values are shared, never changed

    def _load_fieldwise(self, schema_class, req) -> dict | None:
        if schema_class not in self._plans:
            schema = self._get_schema(schema_class, req)
            self._plans[schema_class] = (_FieldwisePlan(schema)
                                         if _FieldwisePlan.possible(schema) else None)
        plan = self._plans[schema_class]
        return None if plan is None else plan.load(req.args)

    def load_querystring(self, req, schema):
        return self._makeproxy(_QueryArgs(req.args), schema)

    def load_json(self, req, schema):
        raw = req.get_data(cache=True)
        if not is_json_request(req):
            if raw:
                raise UnsupportedMediaType("请求体应为 JSON(Content-Type: application/json)",
                                           code="unsupported_media_type")
            return missing  # no body at all: the schema decides what is required
        if not raw:
            return missing
        try:
            return load_json_body(raw)
        except BadJsonBody as exc:
            raise AppError(exc.message, code="invalid_json") from None
        except ValidationError as exc:
            raise ValidationFailed(details=localize_messages(exc.messages)) from None

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """Documents what the server does (app/common/openapi.py): security and 401/403 from the
    auth guards, 429 from rate limits, 404 for ids in the path, 4xx for parsed input, the
    business errors declared with `@blp.errors(...)`, and every field of an output schema as
    required."""

    ARGUMENTS_PARSER = SchemaReusingParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_contract_doc)

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None,
                     **kwargs):
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **kwargs)
        arguments = getattr(view_func, "_apidoc", {}).get("arguments", {})
        contract = {
            "auth": getattr(view_func, "auth_requirement", None),
            "locations": sorted({p["in"] for p in arguments.get("parameters", ())
                                 if isinstance(p, dict)}),
            "rate_limited": getattr(view_func, "__wrapper-limiter-instance", None) is not None,
            "path_params": "<" in rule,
        }
        for method, doc in self._docs[self._endpoints[-1]].items():
            if method != "parameters":
                doc["contract"] = contract

    def arguments(self, schema, *, location="json", **kwargs):
        openapi.schema_roles.add(schema, output=False)
        if location in self.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING and "required" not in kwargs:
            # no body reads as an empty one: the body is required only when one of its fields is
            kwargs["required"] = openapi.has_required_fields(schema)
        return super().arguments(schema, location=location, **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        openapi.schema_roles.add(schema, output=True)
        return super().response(status_code, schema, **kwargs)

    @staticmethod
    def errors(*errors):
        """The business errors a view can answer, documented with their codes:
        `@blp.errors(SlotSoldOut, (NotFound, "patient_not_found"))`."""
        for error in errors:
            openapi.error_entry(error)  # fail at import time, not when the spec is built

        def decorator(func):
            func._apidoc = {**getattr(func, "_apidoc", {}),
                            "errors": [*getattr(func, "_apidoc", {}).get("errors", ()), *errors]}
            return func

        return decorator

    @staticmethod
    def _prepare_contract_doc(doc, doc_info, *, api, spec, **kwargs):
        return openapi.document_operation(doc, doc_info, spec=spec, api=api)
