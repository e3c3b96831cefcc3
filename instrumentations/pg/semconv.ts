/**
 * The OpenTelemetry database semantic-convention attributes the pg adapter sets on its
 * attempt spans (https://opentelemetry.io/docs/specs/semconv/database/postgresql/).
 * Never `db.query.text` nor parameters: SQL text and values may hold secrets.
 */
export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';

export const DB_SYSTEM_POSTGRESQL = 'postgresql';
