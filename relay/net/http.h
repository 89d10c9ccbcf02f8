// The HTTP/1.1 pieces of relay/net in one include:
//   http_head.h      RequestHeadReader / ResponseHeadReader (split-safe heads)
//   chunked.h        ChunkedDecoder (chunked transfer coding)
//   http_response.h  Response, write_response(), XRPC error bodies
//   http_client.h    http_get() (listHosts bootstrap, tests)
// The server is http_server.h (it pulls in the WebSocket connection).
#pragma once

#include "relay/net/chunked.h"
#include "relay/net/http_client.h"
#include "relay/net/http_head.h"
#include "relay/net/http_response.h"
