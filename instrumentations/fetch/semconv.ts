/**
 * The OpenTelemetry semantic-convention attributes the fetch adapter sets on attempt
 * spans (HTTP client spans, semantic conventions 1.26+). Never `url.full`, a path or a
 * query: they may carry tokens.
 */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_REQUEST_METHOD_ORIGINAL = 'http.request.method_original';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_URL_SCHEME = 'url.scheme';

/** A method outside KNOWN_METHODS is recorded as this, with the original beside it. */
export const OTHER_METHOD = '_OTHER';

/** The methods of RFC 9110 and RFC 5789 (PATCH), as the HTTP conventions list them. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);
