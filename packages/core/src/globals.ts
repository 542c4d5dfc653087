// The real fetch classes beneath the light Request and Response. Node 20 defines them as lazy
// globals: the first touch loads its bundled undici, about 10 MB of RSS. The core reaches the real
// classes only when an app needs them, so an idle worker stays small.

/**
 * A lazy handle on the original global class `name`, captured now without touching it. `onLoad`
 * runs once, when the class is first needed.
 */
export function originalClass<T>(name: 'Response' | 'Request', onLoad: (real: T) => void): () => T {
  const original = Object.getOwnPropertyDescriptor(globalThis, name);
  let real: T | undefined;
  return () => {
    if (real === undefined) {
      const current = Object.getOwnPropertyDescriptor(globalThis, name);
      real = (original?.get ? original.get.call(globalThis) : original?.value) as T;
      // Node's lazy getter redefines the global as it loads: put back whatever stood there.
      if (current) Object.defineProperty(globalThis, name, current);
      onLoad(real);
    }
    return real;
  };
}

/** Defines getters and methods on `proto` that forward to the real object `realOf` builds. */
export function delegate<L extends object>(
  proto: L,
  realOf: (light: L) => object,
  getters: string[],
  methods: string[],
): void {
  for (const name of getters) {
    Object.defineProperty(proto, name, {
      get(this: L) {
        return Reflect.get(realOf(this), name);
      },
      configurable: true,
    });
  }
  for (const name of methods) {
    Object.defineProperty(proto, name, {
      value(this: L, ...args: unknown[]) {
        const real = realOf(this);
        return (Reflect.get(real, name) as (...a: unknown[]) => unknown).apply(real, args);
      },
      writable: true,
      configurable: true,
    });
  }
}
