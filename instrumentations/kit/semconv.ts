/**
 * The OpenTelemetry semantic-convention attributes the adapters set on attempt spans
 * (HTTP client and database conventions, 1.26+), in one place. Never `url.full`, a path
 * or a query: they may carry secrets. `db.query.text` only as the database adapters
 * sanitise it (SQL literals replaced, Redis values masked: docs/adapters/).
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
export const ATTR_DB_QUERY_TEXT = 'db.query.text';
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
/** The official pg instrumentation's name for a named prepared statement. */
export const ATTR_DB_POSTGRESQL_PLAN = 'db.postgresql.plan';
/** db.query.text is cut at this many characters (after sanitising, so no literal is ever cut in half). */
export const DB_QUERY_TEXT_MAX = 2048;

// HTTP client attributes the official http and undici instrumentations record, which the
// attempt spans carry too (docs/adapters/http.md, fetch.md: what each holds, redacted how).
export const ATTR_URL_FULL = 'url.full';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_URL_QUERY = 'url.query';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_NETWORK_PEER_PORT = 'network.peer.port';
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
export { ATTR_ERROR_TYPE } from '../../src/telemetry/names.js';

/** What replaces a secret in a recorded URL: the official instrumentations' own word for it. */
export const REDACTED = 'REDACTED';

/** KNOWN_METHODS plus QUERY, which the official http and undici instrumentations also know. */
export const HTTP_KNOWN_METHODS: ReadonlySet<string> = new Set([...KNOWN_METHODS, 'QUERY']);
