/**
 * The refusal of an async callback by the wrappers that only cover
 * synchronous code (scope, noGrad, enableGrad, autocast): what they set up
 * would end before the callback's awaits resume.
 */

/**
 * Throws a TypeError with `message` when `result` is a Promise. The refused
 * promise's own rejection, if one comes, is settled here: the refusal is what
 * the caller is told, and an unhandled rejection would end the process.
 */
export function refuseAsync(result: unknown, message: string): void {
  if (typeof (result as { then?: unknown } | null)?.then !== 'function') return;
  (result as PromiseLike<unknown>).then(undefined, () => undefined);
  throw new TypeError(message);
}
