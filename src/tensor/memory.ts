/**
 * Deterministic tensor lifetimes. Every tensor made inside `scope(fn)` is freed
 * when fn returns, except the tensors fn returns (which move to the enclosing
 * scope) and those marked with `keep()`. Tensors made outside any scope live
 * until `dispose()`, or until V8 collects their Tensor object: their native
 * bytes are reported to V8 as external memory, so that happens under memory
 * pressure, and the native memory is freed during that garbage collection,
 * inside synchronous code too.
 */
import { native } from './native.js';
import { refuseAsync } from './synchronous.js';

/** Anything a scope can free: tensors. */
export abstract class ScopedResource {
  /** Set by keep(): no scope frees this resource. */
  kept = false;

  /** Registers the new resource with the innermost open scope, if any. */
  constructor() {
    const top = scopeStack[scopeStack.length - 1];
    if (top !== undefined) top.push(this);
  }

  /** Frees the resource now. */
  abstract dispose(): void;
  /** Whether dispose() has freed the resource. */
  abstract get isDisposed(): boolean;
  /** Called when the resource outlives every scope: from then on only dispose() or the GC frees it. */
  abstract escapeScopes(): void;
}

function pushScope(created: ScopedResource[]): void {
  scopeStack.push(created);
}

function popScope(): void {
  scopeStack.pop();
}

const scopeStack: ScopedResource[][] = [];

/** Whether a scope is open, i.e. whether a resource made now is freed by one. */
export function insideScope(): boolean {
  return scopeStack.length > 0;
}

function collectResources(value: unknown, into: Set<ScopedResource>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (value instanceof ScopedResource) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectResources(item, into, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const item of value.values()) collectResources(item, into, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collectResources(item, into, depth + 1);
  }
}

/**
 * Runs fn and frees every tensor it created except those it returns (found in
 * arrays, Maps and plain objects) and kept ones. fn must be synchronous: an
 * async fn would let its awaits escape the scope.
 */
export function scope<T>(fn: () => T): T {
  const created: ScopedResource[] = [];
  pushScope(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    popScope();
    for (const resource of created) if (!resource.kept) resource.dispose();
    throw error;
  }
  popScope();
  try {
    refuseAsync(result, 'scope(fn): fn returned a Promise; scopes only track synchronous code');
  } catch (error) {
    for (const resource of created) if (!resource.kept) resource.dispose();
    throw error;
  }
  const returned = new Set<ScopedResource>();
  collectResources(result, returned);
  const parent = scopeStack[scopeStack.length - 1];
  for (const resource of created) {
    if (resource.kept) resource.escapeScopes();
    else if (!returned.has(resource)) resource.dispose();
    else if (parent !== undefined) parent.push(resource);
    else resource.escapeScopes();
  }
  return result;
}

/** Exempts a tensor from every scope: it lives until dispose() or garbage collection. */
export function keep<T extends ScopedResource>(resource: T): T {
  resource.kept = true;
  if (scopeStack.length === 0) resource.escapeScopes();
  return resource;
}

/** Frees every tensor found in value (a tensor, array, Map or plain object of them). */
export function dispose(value: unknown): void {
  const found = new Set<ScopedResource>();
  collectResources(value, found);
  for (const resource of found) resource.dispose();
}

/** Native memory in use, as memory() reports it. */
export interface MemoryInfo {
  /** Tensor handles alive in native code (not yet disposed nor collected). */
  tensors: number;
  /** Bytes of the storages those handles hold (a view counts its storage). */
  bytes: number;
  /**
   * Bytes of freed tensor blocks (64 KB and more) kept for reuse by later
   * tensors of the same size: a training step reuses its own blocks every
   * iteration. A block left unused for 4 s goes back to the system.
   */
  cachedBytes: number;
}

/** The number of live native tensors, the bytes their storages hold and the bytes cached for reuse (see MemoryInfo). */
export function memory(): MemoryInfo {
  return native.stats();
}

/**
 * Returns every cached tensor block (see MemoryInfo.cachedBytes), and the free
 * pages of malloc's heap, to the system now.
 */
export function emptyCache(): void {
  native.emptyTensorCache();
}
