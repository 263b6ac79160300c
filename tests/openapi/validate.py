"""Validate an OpenAPI document read from stdin (3.0 or 3.1, by its
`openapi` field); print the version and exit 0, or the errors and exit 1."""
import json
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

document = json.load(sys.stdin)
try:
    validate(document)
except OpenAPIValidationError as error:
    print(f"invalid: {error}")
    sys.exit(1)
print(f"valid OpenAPI {document['openapi']}")
