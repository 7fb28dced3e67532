import { RpcException } from '@nestjs/microservices';

/**
 * Errors a bus handler throws to steer settlement. They extend `RpcException` and hand themselves
 * out as the RPC error so that Nest's default exception filter passes them through unchanged
 * (any other error reaches the transport as an opaque "Internal server error" and is retried).
 */
abstract class BusHandlerError extends RpcException {
  protected constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = new.target.name;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }

  override getError(): object {
    return this;
  }
}

/** Try again later; `delayMs` overrides the retry curve for this attempt. */
export class RetryableError extends BusHandlerError {
  constructor(
    message: string,
    readonly delayMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Retrying cannot help: dead-letter the message now. */
export class PermanentError extends BusHandlerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A message that is not valid JSON or does not match the lifecycle event schema. */
export class MalformedMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessage';
  }
}
