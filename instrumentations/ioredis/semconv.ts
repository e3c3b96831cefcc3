/** Semantic-convention attribute names and values on ioredis attempt spans (design.md section 4). */
export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
export const ATTR_DB_OPERATION_BATCH_SIZE = 'db.operation.batch.size';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';

export const DB_SYSTEM_NAME_VALUE_REDIS = 'redis';

/** Span and operation names of the two batch forms (a Redis command name for single commands). */
export const OPERATION_PIPELINE = 'PIPELINE';
export const OPERATION_MULTI = 'MULTI';
