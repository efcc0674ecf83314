"""A mapped step's args cut down to its own mapping key.

`dagster api execute_step` builds the step's one-step plan from the known state it is given,
and that build resolves every mapped step of each finished dynamic output before keeping the
one step to run: O(N) work per step, O(N^2) per run. A mapped step's own plan needs only its
own mapping key: its inputs come from `<producer>.<output>[<key>]` and from unmapped steps
(BENCHMARKS.md, "Optimizations on private Dagster code", measures what this saves).

Left unchanged: unmapped steps (a collect step needs every key), dynamic outputs that did not
produce this key, and runs where a mapped step itself yields dynamic outputs (nested keys,
where this reasoning was not checked). Retry attempts, step output versions and ready outputs
are kept whole. `test_dagster_adapter` pins that the narrowed plan's step equals the step of
the plan built from the full state.
"""

from __future__ import annotations

import re
from typing import Any

from dagster_warm_pool._dagster import with_dynamic_mappings

# A resolved dynamic step's key is `<unresolved key>[<mapping key>]`; DynamicOutput allows
# only [A-Za-z0-9_] in mapping keys.
_MAPPED_STEP_KEY = re.compile(r"^[^\[\]]+\[([A-Za-z0-9_]+)\]$")


def narrowed_to_own_mapping_key(args: Any) -> Any:
    keys = args.step_keys_to_execute or []
    known = args.known_state
    match = _MAPPED_STEP_KEY.match(keys[0]) if len(keys) == 1 else None
    if known is None or match is None or not known.dynamic_mappings:
        return args
    key = match.group(1)
    if any("[" in producer for producer in known.dynamic_mappings):
        return args
    narrowed = {
        producer: {
            output: [key] if mapping_keys is not None and key in mapping_keys else mapping_keys
            for output, mapping_keys in outputs.items()
        }
        for producer, outputs in known.dynamic_mappings.items()
    }
    return with_dynamic_mappings(args, narrowed)
