"""schemathesis hooks for Declare (loaded by scripts/schemathesis through SCHEMATHESIS_HOOKS).

`POST /v1/sync/employees` takes `application/x-ndjson` as well as `text/csv`; both are
documented as strings (one employee per line). schemathesis has no NDJSON serializer, so it
could not send that body at all ("Serialization not possible"). The body is text: send it as
text, as it does for `text/csv`.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
