import type { ErrorCode } from '../../errors.js';

type LogFn = (obj: object, msg: string) => void;

/** The little of a pino (child) logger the transport uses. */
export interface TransportLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Why a message was terminated instead of stored; told once per message. */
export interface RejectedMessage {
  code: Extract<ErrorCode, 'INVALID_JSON' | 'VALIDATION_FAILED' | 'STORE_FAILED' | 'QUOTA_EXCEEDED'>;
  subject: string;
  /** The message's sequence in the stream. */
  seq: number;
  message: string;
}
