/**
 * The OpenTelemetry semantic-convention attributes the adapters set on attempt spans
 * (HTTP client and database conventions, 1.26+), in one place. Never `url.full`, a path,
 * a query, `db.query.text` or command arguments: they may carry secrets.
 */
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';

export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_REQUEST_METHOD_ORIGINAL = 'http.request.method_original';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_URL_SCHEME = 'url.scheme';

/** A method outside KNOWN_METHODS is recorded as this, with the original beside it. */
export const OTHER_METHOD = '_OTHER';

/** The methods of RFC 9110 and RFC 5789 (PATCH), as the HTTP conventions list them. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
export const ATTR_DB_OPERATION_BATCH_SIZE = 'db.operation.batch.size';

export const DB_SYSTEM_POSTGRESQL = 'postgresql';
export const DB_SYSTEM_REDIS = 'redis';
