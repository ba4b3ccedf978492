/** An answer other than 200 from the extension, or no answer at all. */
export declare class StarfleetSecretsError extends Error {
  constructor(message: string, status?: number, code?: string);
  /** HTTP status; 0 when the extension could not be reached. */
  readonly status: number;
  /** The extension's error code, e.g. "SliceNotFound", "InvalidToken". */
  readonly code: string;
}

/**
 * Reads one slice of the Starfleet secret (one GET of
 * http://127.0.0.1:PORT/secret/<name>) and returns its parsed JSON value.
 * Read once per invocation: the extension is the cache.
 */
export declare function getSlice<T = unknown>(name: string): Promise<T>;

declare const client: {
  getSlice: typeof getSlice;
  StarfleetSecretsError: typeof StarfleetSecretsError;
};
export default client;
