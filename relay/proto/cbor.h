// DAG-CBOR for atproto — the umbrella header: the value model
// (cbor_value.h), the strict decoder (cbor_reader.h: decode, decode_prefix,
// validate, Reader) and the canonical encoder (cbor_writer.h: encode,
// Writer). JSON conversion lives apart in cbor_json.h, so that this header
// stays free of nlohmann/json.
#pragma once

#include "relay/proto/cbor_reader.h"
#include "relay/proto/cbor_value.h"
#include "relay/proto/cbor_writer.h"
