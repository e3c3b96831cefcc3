export {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_BATCH_SIZE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_REDIS as DB_SYSTEM_NAME_VALUE_REDIS,
} from '../kit/semconv.js';

/** Span and operation names of the two batch forms (a Redis command name for single commands). */
export const OPERATION_PIPELINE = 'PIPELINE';
export const OPERATION_MULTI = 'MULTI';
