// The DAG-CBOR implementation is split by concept: cbor_value.cc,
// cbor_reader.cc, cbor_writer.cc. This unit only checks that the umbrella
// header is self-contained.
#include "relay/proto/cbor.h"
